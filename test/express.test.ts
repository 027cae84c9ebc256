import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import session from 'express-session';
import { DynamoDBStore, dynamoSession } from '../src/adapters/express.js';
import { localOptions, uniqueTable } from './helpers/dynamo.js';
import { SECRET } from './helpers/web-app.js';
import { CookieClient, startServer, type ServerProcess } from './helpers/servers.js';
import { startTcpProxy } from './helpers/tcp-proxy.js';

const cookieSession = (extra: Record<string, unknown> = {}) =>
  ({ cookie: { originalMaxAge: 3_600_000, expires: new Date(Date.now() + 3_600_000).toISOString(), httpOnly: true, path: '/' }, ...extra }) as unknown as session.SessionData;

describe('express-session Store contract', () => {
  let store: DynamoDBStore;
  before(async () => {
    store = new DynamoDBStore(localOptions());
    await store.ready();
  });
  after(() => store.store.close());

  it('is an express-session Store', () => {
    assert.ok(store instanceof session.Store);
  });

  it('get of a missing session calls back with no session and no error', async () => {
    const got = await new Promise<[unknown, unknown]>((resolve) => store.get('missing', (err, s) => resolve([err, s])));
    assert.equal(got[0], null);
    assert.equal(got[1], null);
  });

  it('set then get round-trips through callbacks and promises alike', async () => {
    await new Promise<void>((resolve, reject) => store.set('cb-1', cookieSession({ user: 'ada' }), (err) => (err ? reject(err) : resolve())));
    const viaCallback = await new Promise<session.SessionData | null | undefined>((resolve, reject) =>
      store.get('cb-1', (err, s) => (err ? reject(err) : resolve(s))),
    );
    assert.equal((viaCallback as unknown as { user: string }).user, 'ada');
    const viaPromise = (await store.get('cb-1')) as unknown as { user: string; cookie: { expires: string } };
    assert.equal(viaPromise.user, 'ada');
    assert.ok(Date.parse(viaPromise.cookie.expires) > Date.now(), 'the cookie expiry comes back from expiresAt');
  });

  it('an expired session is not returned', async () => {
    await store.set('expired-1', { cookie: { originalMaxAge: 10, expires: new Date(Date.now() - 5000).toISOString() }, user: 'x' } as unknown as session.SessionData);
    assert.equal(await store.get('expired-1'), null);
  });

  it('touch refreshes the expiry of a session and destroy removes it', async () => {
    await store.set('t-1', cookieSession({ a: 1 }));
    const later = new Date(Date.now() + 48 * 3_600_000);
    await new Promise<void>((resolve, reject) =>
      store.touch('t-1', { cookie: { expires: later, originalMaxAge: 1 } } as unknown as session.SessionData, (err) => (err ? reject(err) : resolve())),
    );
    const s = (await store.get('t-1')) as unknown as { cookie: { expires: Date } };
    assert.equal(new Date(s.cookie.expires).getTime(), later.getTime());
    await new Promise<void>((resolve, reject) => store.destroy('t-1', (err) => (err ? reject(err) : resolve())));
    assert.equal(await store.get('t-1'), null);
  });

  it('all, length and clear cover every live session', async () => {
    const other = new DynamoDBStore(localOptions());
    await other.set('a', cookieSession({ n: 1 }));
    await other.set('b', cookieSession({ n: 2 }));
    const all = await new Promise<Record<string, unknown>>((resolve, reject) =>
      other.all((err, v) => (err ? reject(err) : resolve(v as Record<string, unknown>))),
    );
    assert.deepEqual(Object.keys(all).sort(), ['a', 'b']);
    assert.equal(await new Promise((resolve) => other.length((_e, n) => resolve(n))), 2);
    await new Promise<void>((resolve) => other.clear(() => resolve()));
    assert.equal(await other.length(), 0);
    await other.store.close();
  });

  it('a hostile over-long cookie id reads as no session rather than an error', async () => {
    assert.equal(await store.get('x'.repeat(5000)), null);
  });

  it('an error reaches the callback, not an unhandled rejection', async () => {
    const broken = new DynamoDBStore(localOptions({ createIfNotExist: false }));
    const err = await new Promise((resolve) => broken.get('id', (e) => resolve(e)));
    assert.ok(err instanceof Error);
    assert.equal((err as { code?: string }).code, 'DSM_TABLE_NOT_FOUND');
    await broken.store.close();
  });
});

describe('Express in-process', () => {
  it('emits disconnect when DynamoDB becomes unreachable and connect when it answers again; requests get 503 meanwhile', async () => {
    const port = Number(new URL(process.env.DSM_TEST_ENDPOINT!).port);
    const proxy = await startTcpProxy(port);
    const store = new DynamoDBStore(localOptions({ endpoint: proxy.endpoint, maxAttempts: 1, requestTimeoutMs: 1000 }));
    await store.ready();
    const app = express();
    app.use(dynamoSession({ store, secret: SECRET, resave: false, saveUninitialized: true }));
    app.get('/', (req, res) => {
      (req.session as unknown as { n: number }).n = 1;
      res.send('ok');
    });
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const client = new CookieClient();
    assert.equal((await client.request(url)).status, 200);

    const disconnected = once(store, 'disconnect');
    proxy.down();
    const during = await client.request(url);
    await disconnected;
    assert.equal(during.status, 503);
    assert.ok(Number(during.headers.get('retry-after')) >= 1);
    assert.equal((await client.request(url)).status, 503, 'still 503 while disconnected');

    const connected = once(store, 'connect');
    proxy.up();
    await connected;
    assert.equal((await client.request(url)).status, 200);
    server.close();
    await store.store.close();
    await proxy.close();
  });
});

describe('Express: the response leaves after the save', () => {
  async function app(store: DynamoDBStore) {
    const a = express();
    a.use(dynamoSession({ store, secret: SECRET, resave: false, saveUninitialized: false }));
    a.get('/set', async (req, res) => {
      (req.session as unknown as { v: number }).v = Number(req.query.v);
      await new Promise((r) => setTimeout(r, Number(req.query.wait ?? 0)));
      res.redirect('/done');
    });
    a.get('/peek', (req, res) => res.json({ v: (req.session as unknown as { v?: number }).v ?? null }));
    const server = a.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  }

  it('a redirect answered after a change finds the change saved on another server at once', async () => {
    const table = uniqueTable('redirect');
    const [s1, s2] = [new DynamoDBStore(localOptions({ table })), new DynamoDBStore(localOptions({ table }))];
    await s1.ready();
    const [a, b] = [await app(s1), await app(s2)];
    try {
      const client = new CookieClient();
      for (let v = 1; v <= 20; v++) {
        // Only the headers: a browser follows a redirect as soon as it has them.
        const res = await client.request(`${a.url}/set?v=${v}`);
        assert.equal(res.status, 302);
        const seen = await client.json<{ v: number | null }>(`${b.url}/peek`);
        await res.text();
        assert.equal(seen.v, v, `change ${v} was visible on the other server when the redirect arrived`);
      }
    } finally {
      a.server.close();
      b.server.close();
      await Promise.all([s1.store.close(), s2.store.close()]);
    }
  });

  it('a save that fails at the end of a request answers 503, not a 200 for a change that was not kept', async () => {
    const port = Number(new URL(process.env.DSM_TEST_ENDPOINT!).port);
    const proxy = await startTcpProxy(port);
    const store = new DynamoDBStore(localOptions({ endpoint: proxy.endpoint, maxAttempts: 1, requestTimeoutMs: 1000 }));
    await store.ready();
    const a = await app(store);
    try {
      const client = new CookieClient();
      await (await client.request(`${a.url}/set?v=1`)).text();
      const pending = client.request(`${a.url}/set?v=2&wait=400`);
      await new Promise((r) => setTimeout(r, 150));
      proxy.down();
      const res = await pending;
      await res.text();
      assert.equal(res.status, 503);
      assert.ok(res.headers.get('retry-after'));
      proxy.up();
      let v: number | null | undefined;
      for (let i = 0; i < 100 && v === undefined; i++) {
        const r = await client.request(`${a.url}/peek`);
        if (r.status === 200) v = ((await r.json()) as { v: number | null }).v;
        else await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.equal(v, 1, 'the stored session is the one before the failed save');
    } finally {
      a.server.close();
      await store.store.close();
      await proxy.close();
    }
  });
});

describe('Express: a change moves the expiry forward', () => {
  it('a request that changes its session stores the expiry its cookie has after the request, not the loaded one', async () => {
    const table = uniqueTable('expiry');
    const store = new DynamoDBStore(localOptions({ table }));
    await store.ready();
    const a = express();
    a.use(dynamoSession({ store, secret: SECRET, resave: false, saveUninitialized: false, cookie: { maxAge: 600_000 } }));
    a.get('/set', (req, res) => {
      (req.session as unknown as { v: number }).v = Number(req.query.v);
      res.json({ id: req.sessionID });
    });
    const server = a.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const stored = async (id: string) => {
      const out = await store.store.client.send(new GetItemCommand({ TableName: table, Key: { sessionId: { S: id } }, ConsistentRead: true }));
      return Number(out.Item!.expiresAt!.N);
    };
    try {
      const client = new CookieClient();
      const { id } = await client.json<{ id: string }>(`${url}/set?v=1`);
      const first = await stored(id);
      await new Promise((r) => setTimeout(r, 2100));
      await client.json(`${url}/set?v=2`);
      const second = await stored(id);
      assert.ok(second >= first + 2, `expiresAt moved from ${first} to ${second}`);
      assert.ok(Math.abs(second - (Date.now() / 1000 + 600)) <= 2, 'now + the cookie maxAge');
    } finally {
      server.close();
      await store.store.close();
    }
  });
});

describe('Express end to end: two server processes sharing one table', () => {
  const table = uniqueTable('express');
  let servers: ServerProcess[] = [];
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });

  it('a cookie-keeping client alternating between them keeps one session, which survives restarting both', async () => {
    const env = { TABLE: table };
    servers = [await startServer('test/fixtures/express-server.ts', env), await startServer('test/fixtures/express-server.ts', env)];
    const client = new CookieClient();
    const seen = new Set<number>();
    let id: string | undefined;
    for (let i = 1; i <= 10; i++) {
      const server = servers[i % 2]!;
      const body = await client.json<{ pid: number; views: number; id: string }>(`${server.url}/count`);
      assert.equal(body.views, i, `request ${i} on pid ${body.pid}`);
      id ??= body.id;
      assert.equal(body.id, id, 'one session throughout');
      seen.add(body.pid);
    }
    assert.equal(seen.size, 2, 'both processes served');

    const ports = servers.map((s) => s.port);
    await Promise.all(servers.map((s) => s.stop()));
    servers = await Promise.all(ports.map((port) => startServer('test/fixtures/express-server.ts', { ...env, PORT: String(port) })));
    const after = await client.json<{ views: number; id: string }>(`${servers[0]!.url}/count`);
    assert.equal(after.id, id);
    assert.equal(after.views, 11);
  });

  it('login regenerates the id and logout destroys the session on the other server', async () => {
    const client = new CookieClient();
    await client.json(`${servers[0]!.url}/append/book`, { method: 'POST' });
    const login = await client.json<{ before: string; after: string }>(`${servers[1]!.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'grace' }),
    });
    assert.notEqual(login.before, login.after);
    const peek = await client.json<{ session: { user: string; items: string[] }; id: string }>(`${servers[0]!.url}/peek`);
    assert.equal(peek.id, login.after);
    assert.equal(peek.session.user, 'grace');
    assert.deepEqual(peek.session.items, ['book']);
    // The old id is gone from the table.
    const store = new DynamoDBStore(localOptions({ table }));
    assert.equal(await store.get(login.before), null);
    await client.json(`${servers[1]!.url}/logout`, { method: 'POST' });
    assert.equal(await store.get(login.after), null);
    const fresh = await client.json<{ views: number; id: string }>(`${servers[0]!.url}/count`);
    assert.equal(fresh.views, 1);
    assert.notEqual(fresh.id, login.after);
    await store.store.close();
  });
});
