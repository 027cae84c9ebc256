/**
 * NestJS needs no adapter of its own: on its Express platform, dynamoSession()
 * from dynamodb-session-manager/express is middleware like any other
 * (`app.use(...)` in main.ts). A real Nest app (test/fixtures/nest-app.mjs).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SessionStore } from '../src/store/session-store.js';
import { ENDPOINT, localOptions, uniqueTable } from './helpers/dynamo.js';
import { CookieClient } from './helpers/servers.js';
import { concurrentStatuses, assertUnavailable, viewsOnceBack } from './helpers/scenarios.js';
import { startTcpProxy } from './helpers/tcp-proxy.js';
import { SECRET } from './helpers/web-app.js';

type App = { url: string; close(): Promise<void> };
type Start = (options: { store: SessionStore; secret: string; header?: string }) => Promise<App>;
// A path in a variable: the fixture is JavaScript, which the suite's type-check does not read.
const fixture = './fixtures/nest-app.mjs';
const { startNest } = (await import(fixture)) as { startNest: Start };

type Peek = { session: { views?: number; n?: number; user?: string } };

describe('NestJS on Express with dynamoSession(): two apps, one table', { concurrency: false }, () => {
  const table = uniqueTable('nest');
  const stores = [new SessionStore(localOptions({ table })), new SessionStore(localOptions({ table }))];
  let a: App;
  let b: App;
  before(async () => {
    await stores[0]!.ready();
    [a, b] = await Promise.all([startNest({ store: stores[0]!, secret: SECRET }), startNest({ store: stores[1]!, secret: SECRET })]);
  });
  after(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await Promise.all(stores.map((s) => s.close()));
  });

  it('a session is kept across requests and apps', async () => {
    const client = new CookieClient();
    for (let i = 1; i <= 4; i++) assert.deepEqual(await client.json(`${(i % 2 ? a : b).url}/count`), { views: i });
  });

  it('40 concurrent POST increments over the two apps lose none', async () => {
    const client = new CookieClient();
    await client.json(`${a.url}/count`);
    const statuses = await concurrentStatuses(client, [a.url, b.url], '/incr', 40);
    assert.deepEqual(statuses.filter((s) => s !== 201), []);
    assert.equal((await client.json<Peek>(`${b.url}/peek`)).session.n, 40);
  });

  it('a logout sticks: the old cookie opens nothing on either app', async () => {
    const client = new CookieClient();
    await client.json(`${a.url}/login?user=ada`, { method: 'POST' });
    const saved = client.cookie('connect.sid')!;
    assert.equal((await client.json<Peek>(`${b.url}/peek`)).session.user, 'ada');
    await client.json(`${b.url}/logout`, { method: 'POST' });
    for (const app of [a, b]) {
      const replay = (await (await fetch(`${app.url}/peek`, { headers: { cookie: `connect.sid=${saved}` } })).json()) as Peek;
      assert.deepEqual(replay.session, {});
    }
  });

  it('the session id in a header (X-Session-Id) works there too', async () => {
    const app = await startNest({ store: stores[0]!, secret: SECRET, header: 'X-Session-Id' });
    try {
      const first = await fetch(`${app.url}/count`);
      const id = first.headers.get('x-session-id');
      assert.ok(id);
      assert.deepEqual(first.headers.getSetCookie(), []);
      assert.deepEqual(await (await fetch(`${app.url}/count`, { headers: { 'X-Session-Id': id } })).json(), { views: 2 });
    } finally {
      await app.close();
    }
  });
});

it('NestJS: DynamoDB unreachable → 503 with Retry-After; back → the session is intact', async () => {
  const proxy = await startTcpProxy(Number(new URL(ENDPOINT).port));
  const store = new SessionStore(localOptions({ endpoint: proxy.endpoint, maxAttempts: 1, requestTimeoutMs: 1000 }));
  await store.ready();
  const app = await startNest({ store, secret: SECRET });
  try {
    const client = new CookieClient();
    await client.json(`${app.url}/count`);
    proxy.down();
    await assertUnavailable(await client.request(`${app.url}/count`));
    proxy.up();
    assert.equal(await viewsOnceBack(client, `${app.url}/peek`), 1);
  } finally {
    proxy.up();
    await app.close();
    await store.close();
    await proxy.close();
  }
});
