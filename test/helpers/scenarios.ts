/**
 * Steps the adapters' and frameworks' tests share: a burst of concurrent
 * requests on one client's session, a 503 answer checked, and a session read
 * again once DynamoDB is back.
 */
import assert from 'node:assert/strict';
import type { CookieClient } from './servers.js';

/** `count` concurrent requests of one client, spread over `bases` in turn; their statuses. */
export async function concurrentStatuses(client: CookieClient, bases: string[], path: string, count: number, method = 'POST'): Promise<number[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const res = await client.request(`${bases[i % bases.length]}${path}`, { method });
      await res.text();
      return res.status;
    }),
  );
}

/** A 503 that tells the client when to come back (Retry-After in seconds); its body. */
export async function assertUnavailable(res: Response, message?: string): Promise<string> {
  assert.equal(res.status, 503, message);
  assert.match(res.headers.get('retry-after') ?? '', /^\d+$/);
  return res.text();
}

/** `session.views` as `peekUrl` reports it, once the app answers 200 again (up to 10 s). */
export async function viewsOnceBack(client: CookieClient, peekUrl: string): Promise<number | undefined> {
  for (let i = 0; i < 100; i++) {
    const res = await client.request(peekUrl);
    if (res.status === 200) return ((await res.json()) as { session?: { views?: number } }).session?.views;
    await res.text();
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}
