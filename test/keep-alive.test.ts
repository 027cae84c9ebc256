/**
 * Rolling per route (`keepAlive`, in the form of `lock`): a background poll
 * must not keep a session alive (fastify/session#204). In every adapter, a
 * session polled by a route the rule leaves out expires when it would have:
 * the stored expiry never moves and no cookie is sent with a later one; the
 * poll still reads the session, and a write from such a route is stored
 * under the same expiry. A session used by a route the rule names is
 * extended, as is any session when no rule is given (the default).
 */
import { contextOf } from '../src/store/session-store.js';
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { CookieClient } from './helpers/servers.js';
import { COOKIE, FRAMEWORKS, startApp, type LifecycleApp } from './helpers/lifecycle-apps.js';

// Long enough for five polls on a loaded machine (5 s allowed one poll when two suites shared this one); the entries' cases run side by side.
const LIFETIME_MS = 8000;
const POLL_MS = 200;
const apps: LifecycleApp[] = [];
after(async () => {
  for (const app of apps) {
    await app.close();
    await app.store.close();
  }
});

/** The session's stored exact expiry and data, read straight from the table. */
async function stored(app: LifecycleApp, client: CookieClient, framework: (typeof FRAMEWORKS)[number]): Promise<{ expiresAtMs: number; data: Record<string, unknown> } | undefined> {
  let raw = decodeURIComponent(client.cookie(COOKIE[framework]) ?? '');
  if (raw.startsWith('s:')) raw = raw.slice(2, raw.lastIndexOf('.'));
  else if (framework === 'fastify') raw = raw.slice(0, raw.lastIndexOf('.'));
  const out = await app.store.client.send(new GetItemCommand({ TableName: app.store.config.table, Key: { sessionId: { S: raw } }, ConsistentRead: true }));
  if (!out.Item) return undefined;
  const data = contextOf(app.store).codec.parse(contextOf(app.store).codec.unframe(out.Item.data!.B!));
  return { expiresAtMs: Number(out.Item.expiresAtMs!.N), data };
}

/** The latest expiry any Set-Cookie of the session cookie in `res` gives, in ms (none: undefined). */
function cookieExpiry(res: Response, name: string): number | undefined {
  const times = res.headers
    .getSetCookie()
    .filter((c) => c.startsWith(`${name}=`))
    .map((c) => {
      const expires = /;\s*expires=([^;]+)/i.exec(c)?.[1];
      const maxAge = /;\s*max-age=(\d+)/i.exec(c)?.[1];
      return maxAge !== undefined ? Date.now() + Number(maxAge) * 1000 : expires ? Date.parse(expires) : Number.NaN;
    })
    .filter((t) => Number.isFinite(t));
  return times.length ? Math.max(...times) : undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// The entries side by side: each case waits out a session's lifetime, and they share nothing but the table.
describe('keepAlive in every entry', { concurrency: true }, () => {
  for (const framework of FRAMEWORKS) {
    describe(`keepAlive, ${framework}`, () => {
      it('a session polled only by a route the rule leaves out expires on time: its stored expiry never moves, no cookie carries a later one, and a poll that writes keeps the expiry', { timeout: 60_000 }, async () => {
        const app = await startApp(framework, { keepAlive: '/app', lifetimeMs: LIFETIME_MS });
        apps.push(app);
        const client = new CookieClient();
        await client.json(`${app.url}/app/count`);
        const first = await stored(app, client, framework);
        assert.ok(first, 'the session is stored');
        const expiry = first.expiresAtMs;
        let polls = 0;
        let marked = false;
        let sawWrite = false;
        // Each step counts only when its answer came before the expiry: one answered later may have been served after it
        // (a loaded machine), and then the session is rightly gone. The first such answer ends the polling.
        const inTime = () => Date.now() < expiry;
        while (Date.now() < expiry - POLL_MS) {
          const res = await client.request(`${app.url}/poll`);
          if (!inTime()) break;
          assert.equal(res.status, 200);
          assert.deepEqual(await res.json(), { views: 1 }, 'the poll reads the session');
          const sent = cookieExpiry(res, COOKIE[framework]);
          // A cookie's Expires has whole seconds; Max-Age is counted from now.
          if (sent !== undefined) assert.ok(sent <= expiry + 1000, `poll ${polls}: a cookie expiring ${sent - expiry} ms after the session`);
          if (!marked) {
            const mark = await client.request(`${app.url}/poll/mark`, { method: 'POST' });
            if (!inTime()) break;
            assert.equal(mark.status, 200);
            const sentByWrite = cookieExpiry(mark, COOKIE[framework]);
            if (sentByWrite !== undefined) assert.ok(sentByWrite <= expiry + 1000, 'the write sent no later expiry');
            marked = true;
          }
          const now = await stored(app, client, framework);
          if (!inTime()) break;
          assert.equal(now?.expiresAtMs, expiry, `poll ${polls}: the stored expiry did not move`);
          if (now?.data.polled === true) sawWrite = true;
          polls += 1;
          await sleep(POLL_MS);
        }
        assert.ok(sawWrite, 'a write from a poll route is stored');
        assert.ok(polls >= 5, `polled ${polls} times before the expiry`);
        while (Date.now() <= expiry) await sleep(50);
        assert.deepEqual(await client.json(`${app.url}/poll`), { views: null }, 'past its expiry the session is gone');
      });

      it('a session used by a route the rule names is extended past its first expiry', { timeout: 60_000 }, async () => {
        const app = await startApp(framework, { keepAlive: '/app', lifetimeMs: LIFETIME_MS });
        apps.push(app);
        const client = new CookieClient();
        await client.json(`${app.url}/app/count`);
        const expiry = (await stored(app, client, framework))!.expiresAtMs;
        let views = 1;
        while (Date.now() <= expiry + 1000) {
          const out = await client.json<{ views: number }>(`${app.url}/app/count`);
          assert.equal(out.views, views + 1, 'the session lives on');
          views = out.views;
          await sleep(POLL_MS);
        }
        assert.ok((await stored(app, client, framework))!.expiresAtMs > expiry);
      });

      it('without a rule every request extends the session, polls included (the default)', { timeout: 60_000 }, async () => {
        const app = await startApp(framework, { lifetimeMs: LIFETIME_MS });
        apps.push(app);
        const client = new CookieClient();
        await client.json(`${app.url}/app/count`);
        const expiry = (await stored(app, client, framework))!.expiresAtMs;
        while (Date.now() <= expiry + 1000) {
          assert.deepEqual(await client.json(`${app.url}/poll`), { views: 1 });
          await sleep(POLL_MS);
        }
        assert.ok((await stored(app, client, framework))!.expiresAtMs > expiry);
      });
    });
  }
});
