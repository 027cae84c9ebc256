/**
 * dynamodb-session-manager/react-router against React Router 7 itself: its
 * createRequestHandler serving an app built in memory
 * (test/fixtures/react-router-app.ts), over real HTTP.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createDynamoSessionStorage } from '../src/adapters/react-router.js';
import { ENDPOINT, localOptions, uniqueTable } from './helpers/dynamo.js';
import { CookieClient, startServer, type ServerProcess } from './helpers/servers.js';
import { assertUnavailable, viewsOnceBack } from './helpers/scenarios.js';
import { startTcpProxy } from './helpers/tcp-proxy.js';
import { reactRouterApp } from './fixtures/react-router-app.js';
import { SECRET } from './helpers/web-app.js';

type Peek = { session: { views?: number; visits?: number; keys?: Record<string, number>; user?: string; __flash_message__?: string } };

async function startApp(storage: ReturnType<typeof createDynamoSessionStorage>, options: { barrier?: boolean } = {}) {
  const handler = reactRouterApp(storage as never, options);
  const server = serve({ fetch: (request) => handler(request), port: 0, hostname: '127.0.0.1' });
  await new Promise((r) => server.once('listening', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('react-router: createDynamoSessionStorage in a React Router app', { concurrency: false }, () => {
  const table = uniqueTable('rr');
  const storages = [createDynamoSessionStorage({ ...localOptions({ table }), secret: SECRET }), createDynamoSessionStorage({ ...localOptions({ table }), secret: SECRET })];
  let a: Awaited<ReturnType<typeof startApp>>;
  let b: Awaited<ReturnType<typeof startApp>>;
  before(async () => {
    await storages[0]!.sessions.store.ready();
    [a, b] = await Promise.all([startApp(storages[0]!, { barrier: true }), startApp(storages[1]!, { barrier: true })]);
  });
  after(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await Promise.all(storages.map((s) => s.sessions.store.close()));
  });

  it('a session is kept across requests and servers, in a cookie named __session holding only a signed id', async () => {
    const client = new CookieClient();
    for (let i = 1; i <= 4; i++) assert.deepEqual(await client.json(`${(i % 2 ? a : b).url}/api/count`), { views: i });
    assert.match(client.cookie('__session') ?? '', /^s%3A[\w-]+\.[\w%]+$/);
  });

  it('a flash read by one of two parallel loaders does not come back with the other loader\'s commit (remix-run/remix#5647)', async () => {
    const client = new CookieClient();
    const flashed = await client.request(`${a.url}/api/flash`, { method: 'POST' });
    assert.equal(flashed.status, 302);
    assert.equal((await client.json<Peek>(`${b.url}/api/peek`)).session.__flash_message__, 'saved');
    // Both loaders load the session with the flash in it; the root reads it and commits first, the index commits after.
    const first = await client.json<Record<string, { message?: string | null; visits?: number }>>(`${b.url}/?n=1`);
    assert.equal(first.root?.message, 'saved');
    assert.equal(first['routes/index']?.visits, 1);
    const second = await client.json<Record<string, { message?: string | null; visits?: number }>>(`${a.url}/?n=2`);
    assert.equal(second.root?.message, null, 'the flash was shown once');
    assert.equal(second['routes/index']?.visits, 2, "the index loader's change was kept beside the flash's removal");
    assert.equal((await client.json<Peek>(`${a.url}/api/peek`)).session.__flash_message__, undefined);
  });

  it("the same interleaving with React Router's own createCookieSessionStorage shows the flash twice (what the test above guards against)", async () => {
    const { createCookieSessionStorage } = await import('react-router');
    const cookieApp = await startApp(createCookieSessionStorage({ cookie: { name: '__session', secrets: [SECRET] } }) as never, { barrier: true });
    try {
      const client = new CookieClient();
      await client.request(`${cookieApp.url}/api/flash`, { method: 'POST' });
      const shown = [];
      for (const n of [1, 2]) shown.push((await client.json<{ root: { message: string | null } }>(`${cookieApp.url}/?n=${n}`)).root.message);
      assert.deepEqual(shown, ['saved', 'saved']);
    } finally {
      await cookieApp.close();
    }
  });

  it('concurrent actions, each setting its own key, over two servers: all kept', async () => {
    const client = new CookieClient();
    await client.json(`${a.url}/api/count`);
    const statuses = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const res = await client.request(`${(i % 2 ? a : b).url}/api/key/k${i}`, { method: 'POST' });
        await res.text();
        return res.status;
      }),
    );
    assert.deepEqual(statuses.filter((s) => s !== 200), []);
    assert.equal(Object.keys((await client.json<Peek>(`${b.url}/api/peek`)).session.keys ?? {}).length, 30);
  });

  it('a logout sticks: destroySession clears the cookie, and the old cookie opens nothing, on either server', async () => {
    const client = new CookieClient();
    await client.json(`${a.url}/api/login?user=ada`, { method: 'POST' });
    const saved = client.cookie('__session')!;
    const logout = await client.request(`${b.url}/api/logout`, { method: 'POST' });
    await logout.text();
    assert.match(logout.headers.get('set-cookie') ?? '', /^__session=; .*Expires=Thu, 01 Jan 1970/);
    assert.equal(client.cookie('__session'), undefined);
    for (const app of [a, b]) {
      const replay = (await (await fetch(`${app.url}/api/peek`, { headers: { cookie: `__session=${saved}` } })).json()) as Peek;
      assert.deepEqual(replay.session, {});
    }
  });
});

it('react-router: DynamoDB unreachable → 503 with Retry-After from a resource route and from a document; back → the session is intact', async () => {
  const proxy = await startTcpProxy(Number(new URL(ENDPOINT).port));
  const storage = createDynamoSessionStorage({ ...localOptions({ endpoint: proxy.endpoint, maxAttempts: 1, requestTimeoutMs: 1000 }), secret: SECRET });
  const app = await startApp(storage);
  try {
    const client = new CookieClient();
    await client.json(`${app.url}/api/count`);
    proxy.down();
    await assertUnavailable(await client.request(`${app.url}/api/count`));
    await assertUnavailable(await client.request(`${app.url}/`));
    proxy.up();
    assert.equal(await viewsOnceBack(client, `${app.url}/api/peek`), 1);
  } finally {
    proxy.up();
    await app.close();
    await storage.sessions.store.close();
    await proxy.close();
  }
});

describe('React Router and Express share one session (same table, cookie name connect.sid and secret)', () => {
  const table = uniqueTable('rr_cross');
  let express: ServerProcess;
  let app: Awaited<ReturnType<typeof startApp>>;
  const storage = createDynamoSessionStorage({ ...localOptions({ table }), secret: SECRET, name: 'connect.sid' });
  before(async () => {
    await storage.sessions.store.ready();
    [express, app] = await Promise.all([startServer('test/fixtures/framework-server.ts', { FRAMEWORK: 'express', TABLE: table }), startApp(storage)]);
  });
  after(async () => {
    await Promise.all([express?.stop(), app?.close()]);
    await storage.sessions.store.close();
  });

  it('a session written by Express is read and updated by React Router, and Express sees the update', async () => {
    const client = new CookieClient();
    assert.equal((await client.json<{ views: number }>(`${express.url}/count`)).views, 1);
    assert.equal((await client.json<{ views: number }>(`${app.url}/api/count`)).views, 2);
    assert.equal((await client.json<{ views: number }>(`${express.url}/count`)).views, 3);
    await client.json(`${app.url}/api/key/from-react-router`, { method: 'POST' });
    const seen = await client.json<{ session: { keys?: Record<string, number>; views?: number } }>(`${express.url}/peek`);
    assert.deepEqual(seen.session.keys, { 'from-react-router': 1 });
    assert.equal(seen.session.views, 3);
  });
});

describe('react-router: the storage API', () => {
  const storage = createDynamoSessionStorage<{ a: number }, { note: string }>({ ...localOptions(), secret: SECRET });
  after(() => storage.sessions.store.close());

  it("Session has React Router's API: a new session's id is empty until stored; get of a flash removes it; has, unset, data", async () => {
    const session = await storage.getSession(null);
    assert.equal(session.id, '');
    session.set('a', 1);
    session.flash('note', 'hi');
    assert.equal(session.has('note'), true);
    assert.deepEqual(session.data, { a: 1, __flash_note__: 'hi' });
    const cookie = (await storage.commitSession(session)).split(';')[0]!;
    const loaded = await storage.getSession(cookie);
    assert.notEqual(loaded.id, '');
    assert.equal(loaded.get('note'), 'hi');
    assert.equal(loaded.get('note'), undefined);
    assert.equal(loaded.has('note'), false);
    loaded.unset('a');
    assert.deepEqual(loaded.data, {});
  });

  it('commitSession of an unchanged session writes nothing and still returns the session cookie', async () => {
    const session = await storage.getSession(null);
    session.set('a', 2);
    const cookie = (await storage.commitSession(session)).split(';')[0]!;
    const loaded = await storage.getSession(cookie);
    const before = storage.sessions.store.stats();
    const again = await storage.commitSession(loaded);
    assert.equal(again.split(';')[0], cookie);
    assert.equal(storage.sessions.store.stats().writesSkipped - before.writesSkipped, 1);
  });

  it('a session from another storage, or the header option, is a ConfigError', async () => {
    const { createSession } = await import('react-router');
    await assert.rejects(storage.commitSession(createSession({ a: 1 }) as never), { code: 'DSM_CONFIG' });
    const other = createDynamoSessionStorage({ ...localOptions(), secret: SECRET });
    try {
      await assert.rejects(storage.commitSession(await other.getSession(null)), { code: 'DSM_CONFIG' });
    } finally {
      await other.sessions.store.close();
    }
    assert.throws(() => createDynamoSessionStorage({ ...localOptions(), secret: SECRET, header: 'X-Session-Id' } as never), /webSessions\(\{ header \}\)/);
  });
});
