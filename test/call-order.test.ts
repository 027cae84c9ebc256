/**
 * Every call order a user may try: the store API called outside a request, the
 * session's own save(), reload() and regenerate() inside one, a callback that
 * throws, a request id that is not a string, a store closed while a load waits.
 * None of them may hold a lease past its call, write twice, or lose an error.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import session from 'express-session';
import Koa from 'koa';
import Fastify from 'fastify';
import { GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBStore, dynamoSession } from '../src/adapters/express.js';
import { KoaSessionStore } from '../src/adapters/koa.js';
import { FastifySessionStore, fastifyDynamoSession } from '../src/adapters/fastify.js';
import { SessionStore } from '../src/store/session-store.js';
import { ENDPOINT, localOptions, quietLogger } from './helpers/dynamo.js';
import { SECRET } from './helpers/web-app.js';
import { bundledScript } from './helpers/bundle.js';
import { CookieClient } from './helpers/servers.js';

const pessimistic = { locking: 'pessimistic' as const, maxLockWaitMs: 1500, lockLeaseMs: 10_000 };

async function rawItem(store: SessionStore, key: string) {
  const out = await store.client.send(new GetItemCommand({ TableName: store.config.table, Key: { sessionId: { S: key } }, ConsistentRead: true }));
  return out.Item;
}

async function itemCount(store: SessionStore): Promise<number> {
  const out = await store.client.send(new ScanCommand({ TableName: store.config.table, ConsistentRead: true }));
  return out.Items?.length ?? 0;
}

async function listen(app: { listen: (port: number, host: string) => Server }): Promise<{ server: Server; url: string }> {
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const sidOf = (client: CookieClient) => decodeURIComponent(client.cookie('connect.sid')!).slice(2).split('.')[0]!;

describe('the store API outside a request takes no lease', () => {
  let core: SessionStore;
  before(async () => {
    core = new SessionStore(localOptions(pessimistic));
    await core.ready();
  });
  after(() => core.close());

  it('express-session Store: get() outside a request takes no lease, and a callback-style load() gives its lease back with the call, so the next request is not kept waiting', async () => {
    const store = new DynamoDBStore({ store: core });
    await core.set('admin-read', { cookie: { originalMaxAge: 60_000 }, user: 'ada' });
    const data = (await store.get('admin-read')) as unknown as { user: string };
    assert.equal(data.user, 'ada');
    // express-session's Store#load is callback-style, as plain express-session's own loads are: with
    // locking 'pessimistic' it takes the lease, and as no request claims it, gives it back after the call.
    await new Promise<void>((resolve, reject) => store.load('admin-read', (err) => (err ? reject(err) : resolve())));
    const next = await core.load('admin-read', { lock: true });
    assert.ok(next?.handle.lease, 'a request right after gets the lease');
    assert.equal(core.stats().lockTimeouts, 0);
    await core.release(next.handle);
    assert.equal((await rawItem(core, 'admin-read'))?.lockOwner, undefined, 'no lease left on the item');
  });

  it('koa-session store: get() without a context takes no lease', async () => {
    const store = new KoaSessionStore({ store: core });
    await core.set('koa-admin', { cookie: { originalMaxAge: 60_000 }, user: 'ada' });
    assert.equal((await store.get('koa-admin', 60_000))?.user, 'ada');
    assert.equal((await rawItem(core, 'koa-admin'))?.lockOwner, undefined);
  });

  it('@fastify/session store: get() outside a request takes no lease', async () => {
    const store = new FastifySessionStore({ store: core });
    await core.set('fastify-admin', { cookie: { originalMaxAge: 60_000 }, user: 'ada' });
    const got = await new Promise<Record<string, unknown> | null>((resolve, reject) => store.get('fastify-admin', (err, s) => (err ? reject(err) : resolve((s ?? null) as never))));
    assert.equal(got?.user, 'ada');
    assert.equal((await rawItem(core, 'fastify-admin'))?.lockOwner, undefined);
  });
});

describe('Express: the session\'s own methods inside a request', () => {
  let store: DynamoDBStore;
  let server: Server;
  let url: string;
  before(async () => {
    store = new DynamoDBStore(localOptions(pessimistic));
    await store.ready();
    const app = express();
    app.use(dynamoSession({ store, secret: SECRET, resave: false, saveUninitialized: false }));
    const s = (req: express.Request) => req.session as unknown as Record<string, unknown> & session.Session;
    app.post('/create-and-save', (req, res, next) => {
      s(req).user = 'ada';
      s(req).save((err) => (err ? next(err) : res.json({ saved: true })));
    });
    app.post('/count', (req, res) => {
      s(req).n = Number(s(req).n ?? 0) + 1;
      res.json({ n: s(req).n });
    });
    app.post('/reload', (req, res, next) => {
      s(req).reload((err: unknown) => {
        if (err) return next(err);
        s(req).n = Number(s(req).n ?? 0) + 10;
        res.json({ n: s(req).n });
      });
    });
    app.post('/save-then-change', (req, res, next) => {
      s(req).n = Number(s(req).n ?? 0) + 1;
      s(req).save((err) => {
        if (err) return next(err);
        s(req).after = true;
        res.json({ n: s(req).n });
      });
    });
    app.post('/regenerate', (req, res, next) => {
      const n = s(req).n;
      s(req).regenerate((err) => {
        if (err) return next(err);
        s(req).n = n;
        s(req).fresh = true;
        res.json({ id: req.sessionID });
      });
    });
    app.post('/bogus-id', (req, res) => {
      s(req).user = 'ada';
      (req as unknown as { sessionID: unknown }).sessionID = 42;
      res.json({ ok: true });
    });
    ({ server, url } = await listen(app));
  });
  after(async () => {
    server.close();
    await store.store.close();
  });

  it('a new session saved with req.session.save() is written once', async () => {
    const client = new CookieClient();
    const writes = store.store.stats().calls.UpdateItem ?? 0;
    const res = await client.request(`${url}/create-and-save`, { method: 'POST' });
    assert.equal(res.status, 200);
    await res.text();
    assert.equal((store.store.stats().calls.UpdateItem ?? 0) - writes, 1, 'one write for one save');
    assert.equal(((await store.get(sidOf(client))) as unknown as { user: string }).user, 'ada');
  });

  it('reload() inside a locked request reuses its lease: no wait, no 500, and the lease is gone afterwards', async () => {
    const client = new CookieClient();
    await client.json(`${url}/count`, { method: 'POST' });
    const res = await client.request(`${url}/reload`, { method: 'POST' });
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await res.json(), { n: 11 });
    assert.equal((await rawItem(store.store, sidOf(client)))?.lockOwner, undefined);
    assert.equal(((await store.get(sidOf(client))) as unknown as { n: number }).n, 11);
  });

  it('save() inside a locked request, then a change: both kept, lease released', async () => {
    const client = new CookieClient();
    await client.json(`${url}/count`, { method: 'POST' });
    assert.deepEqual(await client.json(`${url}/save-then-change`, { method: 'POST' }), { n: 2 });
    const stored = (await store.get(sidOf(client))) as unknown as { n: number; after: boolean };
    assert.equal(stored.n, 2);
    assert.equal(stored.after, true);
    assert.equal((await rawItem(store.store, sidOf(client)))?.lockOwner, undefined);
  });

  it('regenerate() inside a locked request: the old item is gone, the new id holds the data, nothing stays locked', async () => {
    const client = new CookieClient();
    await client.json(`${url}/count`, { method: 'POST' });
    const old = sidOf(client);
    const { id } = await client.json<{ id: string }>(`${url}/regenerate`, { method: 'POST' });
    assert.notEqual(id, old);
    assert.equal(await rawItem(store.store, old), undefined);
    const fresh = await rawItem(store.store, id);
    assert.ok(fresh);
    assert.equal(fresh.lockOwner, undefined);
    assert.equal(((await store.get(id)) as unknown as { fresh: boolean }).fresh, true);
    assert.deepEqual(await client.json(`${url}/count`, { method: 'POST' }), { n: 2 });
  });

  it('a request whose sessionID is not a string writes no item, as express-session refuses to save it', async () => {
    const before = await itemCount(store.store);
    const res = await fetch(`${url}/bogus-id`, { method: 'POST' });
    assert.equal(res.status, 200);
    await res.text();
    assert.equal(await itemCount(store.store), before);
  });
});

describe('plain express-session with DynamoDBStore (no dynamoSession)', () => {
  it('a new session saved with req.session.save() is written once', async () => {
    const store = new DynamoDBStore(localOptions());
    await store.ready();
    const app = express();
    app.use(session({ store, secret: SECRET, resave: false, saveUninitialized: false }));
    app.post('/', (req, res, next) => {
      (req.session as unknown as { user: string }).user = 'ada';
      req.session.save((err) => (err ? next(err) : res.send('ok')));
    });
    const { server, url } = await listen(app);
    try {
      const writes = store.store.stats().calls.UpdateItem ?? 0;
      const res = await fetch(url, { method: 'POST' });
      await res.text();
      // express-session saves once more at the end if it thinks the session changed: that save must find nothing new.
      await new Promise((r) => setTimeout(r, 200));
      assert.equal((store.store.stats().calls.UpdateItem ?? 0) - writes, 1);
    } finally {
      server.close();
      await store.store.close();
    }
  });
});

describe('plain express-session with DynamoDBStore and locking: pessimistic', () => {
  it('reload() inside a request reads without waiting for the lease its own request holds; the lease is gone afterwards', async () => {
    const store = new DynamoDBStore(localOptions(pessimistic));
    await store.ready();
    const app = express();
    app.use(session({ store, secret: SECRET, resave: false, saveUninitialized: false }));
    const s = (req: express.Request) => req.session as unknown as Record<string, unknown> & session.Session;
    app.post('/count', (req, res) => {
      s(req).n = Number(s(req).n ?? 0) + 1;
      res.json({ n: s(req).n });
    });
    app.post('/reload', (req, res, next) => {
      s(req).reload((err: unknown) => {
        if (err) return next(err);
        s(req).n = Number(s(req).n ?? 0) + 10;
        res.json({ n: s(req).n });
      });
    });
    const { server, url } = await listen(app);
    try {
      const client = new CookieClient();
      await client.json(`${url}/count`, { method: 'POST' });
      assert.deepEqual(await client.json(`${url}/count`, { method: 'POST' }), { n: 2 });
      const res = await client.request(`${url}/reload`, { method: 'POST' });
      assert.equal(res.status, 200, await res.clone().text());
      assert.deepEqual(await res.json(), { n: 12 });
      await new Promise((r) => setTimeout(r, 100));
      assert.equal((await rawItem(store.store, sidOf(client)))?.lockOwner, undefined);
      // A callback-style get outside any request takes the lease and gives it back with the call.
      await new Promise<void>((resolve, reject) => store.get(sidOf(client), (err) => (err ? reject(err) : resolve())));
      await new Promise((r) => setTimeout(r, 100));
      assert.equal((await rawItem(store.store, sidOf(client)))?.lockOwner, undefined);
    } finally {
      server.close();
      await store.store.close();
    }
  });

  it('with consistentRead: false it says once that reads stay strongly consistent there (no version cookie)', async () => {
    const logger = quietLogger();
    const store = new DynamoDBStore(localOptions({ logger, consistentRead: false, locking: 'optimistic' }));
    await store.ready();
    const app = express();
    app.use(session({ store, secret: SECRET, resave: false, saveUninitialized: false }));
    app.post('/count', (req, res) => {
      const data = req.session as unknown as { n?: number };
      data.n = (data.n ?? 0) + 1;
      res.json({ n: data.n });
    });
    const { server, url } = await listen(app);
    try {
      const client = new CookieClient();
      for (let i = 0; i < 3; i++) await client.json(`${url}/count`, { method: 'POST' });
      const notices = logger.lines.filter((l) => /consistentRead: false/.test(l.msg ?? ''));
      assert.equal(notices.length, 1, logger.text());
      assert.match(notices[0]!.msg!, /dynamoSession\(\)/);
      assert.equal(store.store.stats().staleReads, 0);
    } finally {
      server.close();
      await store.store.close();
    }
  });

  it("with default options it leases the POSTs node:http announces, saying nothing; a callback get() outside any request says once that it cannot lock by method", async () => {
    const logger = quietLogger();
    const store = new DynamoDBStore(localOptions({ logger }));
    await store.ready();
    const app = express();
    app.use(session({ store, secret: SECRET, resave: false, saveUninitialized: false }));
    app.post('/count', (req, res) => {
      const data = req.session as unknown as { n?: number };
      data.n = (data.n ?? 0) + 1;
      res.json({ n: data.n });
    });
    const { server, url } = await listen(app);
    try {
      const client = new CookieClient();
      for (let i = 0; i < 3; i++) await client.json(`${url}/count`, { method: 'POST' });
      const noticesOf = () => logger.lines.filter((l) => /plain express-session/.test(l.msg ?? ''));
      assert.equal(noticesOf().length, 0, logger.text());
      assert.ok((store.store.stats().calls.UpdateItem ?? 0) >= 5, 'the second and third POST each load with a lease and save');
      for (let i = 0; i < 2; i++) await new Promise<void>((resolve, reject) => store.get(sidOf(client), (err) => (err ? reject(err) : resolve())));
      assert.equal(noticesOf().length, 1, logger.text());
      assert.match(noticesOf()[0]!.msg!, /dynamoSession\(\)/);
    } finally {
      server.close();
      await store.store.close();
    }
  });
});

/** Runs a script in a fresh process and returns what it printed. */
async function runScript(source: string): Promise<string> {
  const child = spawn(process.execPath, [await bundledScript(source)], {
    cwd: process.cwd(),
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', DSM_TEST_ENDPOINT: ENDPOINT },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (out += c));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const [code] = await once(child, 'exit');
  clearTimeout(timer);
  return `${out}\nexit ${code}`;
}

const storeOptions = `{ endpoint: process.env.DSM_TEST_ENDPOINT, region: 'us-east-1', accessKeyId: 'local', secretAccessKey: 'local', table: 'callorder_' + process.pid, logger: { debug() {}, info() {}, warn() {}, error() {} } }`;

describe('callbacks that throw', () => {
  for (const [name, call] of [
    ['express-session Store.get', `store.get('missing', () => { throw new Error('thrown by the app'); });`],
    ['express-session Store.set', `store.set('s1', { cookie: { originalMaxAge: 1000 } }, () => { throw new Error('thrown by the app'); });`],
    ['@fastify/session store.get', `fstore.get('missing', () => { throw new Error('thrown by the app'); });`],
  ] as const) {
    it(`${name}: an exception in the callback is an uncaught exception, as with MemoryStore, not an unhandled rejection`, async () => {
      const out = await runScript(`
        import { DynamoDBStore } from './src/adapters/express.ts';
        import { FastifySessionStore } from './src/adapters/fastify.ts';
        process.on('uncaughtException', (e) => { console.log('uncaughtException: ' + e.message); process.exit(0); });
        process.on('unhandledRejection', (e) => { console.log('unhandledRejection: ' + e.message); process.exit(0); });
        const store = new DynamoDBStore(${storeOptions});
        await store.ready();
        const fstore = new FastifySessionStore({ store: store.store });
        ${call}
        setTimeout(() => { console.log('nothing'); process.exit(0); }, 5000);
      `);
      assert.match(out, /uncaughtException: thrown by the app/, out);
    });
  }
});

describe('a store closed while a load waits for another server\'s lease', () => {
  it('ends the wait at once with a retryable error, and the process exits by itself', async () => {
    const out = await runScript(`
      import { SessionStore } from './src/store/session-store.ts';
      const options = { ...${storeOptions}, locking: 'pessimistic', maxLockWaitMs: 60000, lockLeaseMs: 60000 };
      const a = new SessionStore(options);
      await a.ready();
      await a.set('held', { n: 1 });
      const first = await a.load('held');
      const b = new SessionStore(options);
      const second = b.load('held');
      const local = a.load('held');
      await new Promise((r) => setTimeout(r, 300));
      const started = Date.now();
      await b.close();
      await second.then(() => console.log('b: loaded'), (e) => console.log('b: ' + e.code));
      await a.close();
      await local.then(() => console.log('a: loaded'), (e) => console.log('a: ' + e.code));
      console.log('waits ended ' + (Date.now() - started < 5000 ? 'promptly' : 'late'));
    `);
    assert.match(out, /b: DSM_STORE_UNAVAILABLE/, out);
    assert.match(out, /a: DSM_STORE_UNAVAILABLE/, out);
    assert.match(out, /waits ended promptly/, out);
    assert.match(out, /exit 0/, out);
  });
});

describe('Koa and Fastify: the store API outside a request in a running app', () => {
  it('Koa: a store get() made by a route for another session takes no lease on it', async () => {
    const core = new SessionStore(localOptions(pessimistic));
    await core.ready();
    const store = new KoaSessionStore({ store: core });
    const app = new Koa();
    app.use(async (ctx) => {
      ctx.body = await store.get('someone-else', 60_000);
    });
    await core.set('someone-else', { cookie: { originalMaxAge: 60_000 }, user: 'bob' });
    const { server, url } = await listen(app as unknown as { listen: (p: number, h: string) => Server });
    try {
      assert.equal(((await (await fetch(url)).json()) as { user: string }).user, 'bob');
      assert.equal((await rawItem(core, 'someone-else'))?.lockOwner, undefined);
    } finally {
      server.close();
      await core.close();
    }
  });

  it('Fastify: request.session.reload() inside a locked request reuses its lease', async () => {
    const app = Fastify();
    await app.register(fastifyDynamoSession, { ...localOptions(pessimistic), secret: 'a secret of at least thirty-two characters', cookie: { secure: false } });
    app.post('/count', async (request) => {
      request.session.set('n' as never, (Number(request.session.get('n' as never) ?? 0) + 1) as never);
      return { n: request.session.get('n' as never) };
    });
    app.post('/reload', async (request) => {
      await request.session.reload();
      request.session.set('n' as never, (Number(request.session.get('n' as never) ?? 0) + 10) as never);
      return { n: request.session.get('n' as never) };
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    try {
      const client = new CookieClient();
      await client.json(`${url}/count`, { method: 'POST' });
      const res = await client.request(`${url}/reload`, { method: 'POST' });
      assert.equal(res.status, 200, await res.clone().text());
      assert.deepEqual(await res.json(), { n: 11 });
    } finally {
      await app.close();
    }
  });
});

