/**
 * Plain express-session with DynamoDBStore (the connect-redis habit, no dynamoSession()):
 * the store learns each request from node:http's `http.server.request.start` diagnostics
 * channel, so `locking: 'auto'` leases the unsafe requests there too (issue 30.2).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { AsyncLocalStorage } from 'node:async_hooks';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { AddressInfo } from 'node:net';
import express from 'express';
import session from 'express-session';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBStore, dynamoSession } from '../src/adapters/express.js';
import type { SessionStore } from '../src/store/session-store.js';
import { localOptions } from './helpers/dynamo.js';
import { CookieClient } from './helpers/servers.js';

const SECRET = 'a plain express-session secret of 32+ characters';
const N = 50;

async function listen(app: (req: IncomingMessage, res: import('node:http').ServerResponse) => void): Promise<{ server: Server; url: string }> {
  const server = createServer(app).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function rawItem(store: SessionStore, key: string) {
  const out = await store.client.send(new GetItemCommand({ TableName: store.config.table, Key: { sessionId: { S: key } }, ConsistentRead: true }));
  return out.Item;
}

const sidOf = (client: CookieClient) => decodeURIComponent(client.cookie('connect.sid')!).slice(2).split('.')[0]!;
type Counted = session.Session & { n?: number };

/** The counter app of every test here: express-session, our store passed as a plain Store. */
function counterApp(store: DynamoDBStore, extra: (app: express.Express) => void = () => undefined) {
  const app = express();
  app.use(session({ store, secret: SECRET, resave: false, saveUninitialized: false }));
  extra(app);
  app.post('/incr', async (req, res) => {
    const s = req.session as Counted;
    const n = s.n ?? 0;
    // A read-modify-write that spans an await, as a real handler's does.
    await new Promise((r) => setTimeout(r, 2));
    s.n = n + 1;
    res.json({ n: s.n });
  });
  app.get('/peek', (req, res) => res.json({ n: (req.session as Counted).n ?? 0 }));
  return app;
}

describe("node:http's request.start channel", () => {
  it('runs its subscribers in the async context of the request it announces: a store entered there is the handler’s, across awaits and per request of a keep-alive connection', async () => {
    const als = new AsyncLocalStorage<IncomingMessage>();
    const onStart = (message: unknown) => als.enterWith((message as { request: IncomingMessage }).request);
    subscribe('http.server.request.start', onStart);
    const { server, url } = await listen(async (req, res) => {
      const sync = als.getStore() === req;
      await new Promise((r) => setTimeout(r, 5));
      const afterAwait = als.getStore() === req;
      res.end(JSON.stringify({ sync, afterAwait }));
    });
    try {
      // fetch keeps the connection alive: the second and third requests come on the first one's socket.
      for (let i = 0; i < 3; i++) assert.deepEqual(await (await fetch(url)).json(), { sync: true, afterAwait: true });
      assert.equal(als.getStore(), undefined, 'the test itself is in no request');
    } finally {
      unsubscribe('http.server.request.start', onStart);
      server.close();
    }
  });
});

describe("plain express-session with DynamoDBStore, locking: 'auto' (default)", { timeout: 120_000 }, () => {
  let store: DynamoDBStore;
  let other: DynamoDBStore;
  let a: { server: Server; url: string };
  let b: { server: Server; url: string };
  before(async () => {
    // 50 leases in a row over one session: on a loaded machine the last waits longer than the default 10 s.
    const options = localOptions({ maxLockWaitMs: 60_000 });
    store = new DynamoDBStore(options);
    // A second server on the same table, as a second process would be: only DynamoDB's lease keeps them apart.
    other = new DynamoDBStore({ ...options });
    await store.ready();
    await other.ready();
    a = await listen(counterApp(store));
    b = await listen(counterApp(other));
  });
  after(async () => {
    a.server.close();
    b.server.close();
    await store.store.close();
    await other.store.close();
  });

  it(`${N} concurrent POSTs over two servers incrementing one counter lose none`, async () => {
    const client = new CookieClient();
    await client.json(`${a.url}/incr`, { method: 'POST' });
    const statuses = await Promise.all(
      Array.from({ length: N - 1 }, async (_, i) => {
        const res = await client.request(`${(i % 2 ? a : b).url}/incr`, { method: 'POST' });
        await res.text();
        return res.status;
      }),
    );
    assert.deepEqual(statuses.filter((s) => s !== 200), []);
    const { n } = await client.json<{ n: number }>(`${b.url}/peek`);
    assert.equal(n, N, `${N - n} of ${N} increments lost`);
  });

  it('a GET takes no lease: one GetItem, no UpdateItem', async () => {
    const client = new CookieClient();
    await client.json(`${a.url}/incr`, { method: 'POST' });
    const before = store.store.stats().calls;
    await client.json(`${a.url}/peek`);
    const after = store.store.stats().calls;
    assert.equal((after.GetItem ?? 0) - (before.GetItem ?? 0), 1);
    assert.equal((after.UpdateItem ?? 0) - (before.UpdateItem ?? 0), 0);
  });

  it('the store called outside any request reads without a lease, as before', async () => {
    const client = new CookieClient();
    await client.json(`${a.url}/incr`, { method: 'POST' });
    const sid = sidOf(client);
    const before = store.store.stats().calls;
    const lockDuringCallback = await new Promise<unknown>((resolve, reject) =>
      store.get(sid, (err) => (err ? reject(err) : rawItem(store.store, sid).then((item) => resolve(item?.lockOwner), reject))),
    );
    assert.equal(lockDuringCallback, undefined);
    assert.equal((store.store.stats().calls.UpdateItem ?? 0) - (before.UpdateItem ?? 0), 0);
  });
});

describe('plain express-session with DynamoDBStore: a lease ends with its request', { timeout: 60_000 }, () => {
  let store: DynamoDBStore;
  let app: { server: Server; url: string };
  const seen: Array<unknown> = [];
  before(async () => {
    store = new DynamoDBStore(localOptions());
    await store.ready();
    app = await listen(
      counterApp(store, (ex) => {
        ex.post('/boom', async (req) => {
          seen.push((await rawItem(store.store, req.sessionID))?.lockOwner?.S);
          throw new Error('the handler fails');
        });
      }),
    );
  });
  after(async () => {
    app.server.close();
    await store.store.close();
  });

  it('a POST whose handler throws held the lease while it ran and gives it back: the next POST is not kept waiting', async () => {
    const client = new CookieClient();
    await client.json(`${app.url}/incr`, { method: 'POST' });
    const res = await client.request(`${app.url}/boom`, { method: 'POST' });
    await res.text();
    assert.equal(res.status, 500);
    assert.equal(typeof seen[0], 'string', 'the throwing request held a lease');
    // The lease goes back as the response ends, not before the client has it: give a loaded machine a moment.
    let owner: unknown = 'held';
    for (let i = 0; i < 50 && owner !== undefined; i += 1) {
      await new Promise((r) => setTimeout(r, 50));
      owner = (await rawItem(store.store, sidOf(client)))?.lockOwner;
    }
    assert.equal(owner, undefined);
    const waitsBefore = store.store.stats().lockWaits ?? 0;
    assert.deepEqual(await client.json(`${app.url}/incr`, { method: 'POST' }), { n: 2 });
    assert.equal((store.store.stats().lockWaits ?? 0) - waitsBefore, 0);
  });
});

describe('two DynamoDBStores in one process, one plain and one under dynamoSession()', { timeout: 120_000 }, () => {
  let plain: DynamoDBStore;
  let wrapped: DynamoDBStore;
  let p: { server: Server; url: string };
  let w: { server: Server; url: string };
  before(async () => {
    plain = new DynamoDBStore(localOptions());
    wrapped = new DynamoDBStore(localOptions());
    await plain.ready();
    await wrapped.ready();
    p = await listen(counterApp(plain));
    const app = express();
    app.use(dynamoSession({ store: wrapped, secret: SECRET, resave: false, saveUninitialized: false }));
    // A route that also reads the plain store's session: a load in this request, but of no session this request holds.
    app.post('/look', (req, res, next) => {
      plain.get(String(req.query.sid), (err, data) => (err ? next(err) : res.json({ found: Boolean(data) })));
    });
    app.post('/incr', async (req, res) => {
      const s = req.session as Counted;
      const n = s.n ?? 0;
      await new Promise((r) => setTimeout(r, 2));
      s.n = n + 1;
      res.json({ n: s.n });
    });
    w = await listen(app);
  });
  after(async () => {
    p.server.close();
    w.server.close();
    await plain.store.close();
    await wrapped.store.close();
  });

  it('concurrent increments through both lose none, each store loading only its own sessions', async () => {
    const one = new CookieClient();
    const two = new CookieClient();
    await one.json(`${p.url}/incr`, { method: 'POST' });
    await two.json(`${w.url}/incr`, { method: 'POST' });
    const all = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const res = await (i % 2 ? one : two).request(`${(i % 2 ? p : w).url}/incr`, { method: 'POST' });
        await res.text();
        return res.status;
      }),
    );
    assert.deepEqual(all.filter((s) => s !== 200), []);
    assert.deepEqual(await one.json(`${p.url}/peek`), { n: 21 });
    assert.equal((await rawItem(wrapped.store, sidOf(one)))?.sessionId, undefined, "the plain app's session is not in the other table");
  });

  it("a request of one store that reads the other's session leaves no lease on it", async () => {
    const client = new CookieClient();
    await client.json(`${p.url}/incr`, { method: 'POST' });
    const sid = sidOf(client);
    assert.deepEqual(await new CookieClient().json(`${w.url}/look?sid=${encodeURIComponent(sid)}`, { method: 'POST' }), { found: true });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await rawItem(plain.store, sid))?.lockOwner, undefined);
    assert.deepEqual(await client.json(`${p.url}/incr`, { method: 'POST' }), { n: 2 });
  });
});
