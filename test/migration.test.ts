/**
 * Read-through migration (`migrateFrom`, the core `fallback`): an Express app on
 * connect-dynamodb, on dynamodb-store and on connect-redis (the real packages, on DynamoDB
 * Local and a real redis-server) has 100 users signed in; it switches to this store with the
 * old one as `migrateFrom`. Every user stays signed in with their data and their cookie, a
 * logout during the window sticks in both stores, concurrent first requests copy a session
 * once, `stats()` counts what was copied, and an old store that does not answer is a 503.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import session from 'express-session';
import Fastify, { type FastifyInstance } from 'fastify';
import fastifyCookie from '@fastify/cookie';
import fastifySession, { MemoryStore } from '@fastify/session';
import { DynamoDBStore, dynamoSession } from '../src/adapters/express.js';
import { fastifyDynamoSession, FastifySessionStore } from '../src/adapters/fastify.js';
import { SessionStore } from '../src/store/session-store.js';
import { ConfigError, StoreUnavailableError } from '../src/errors.js';
import { localOptions } from './helpers/dynamo.js';
import { COOKIE, SECRET, USERS, expectedUser, listen, oldGet, openOldStore, signIn, siteApp, type OldStore, type SignedIn, type SourceName } from './helpers/old-stores.js';

for (const source of ['connect-dynamodb', 'dynamodb-store', 'redis'] as SourceName[]) {
  describe(`read-through migration from ${source === 'redis' ? 'connect-redis' : source}`, () => {
    let old: OldStore;
    let oldApp: Awaited<ReturnType<typeof listen>>;
    let newApp: Awaited<ReturnType<typeof listen>>;
    let store: DynamoDBStore;
    let users: SignedIn[];
    const expiries = new Map<string, number>();

    before(async () => {
      old = await openOldStore(source);
      oldApp = await listen(siteApp(session({ store: old.store, secret: SECRET, resave: false, saveUninitialized: false, cookie: COOKIE })));
      users = await signIn(oldApp.url);
      for (const u of users) expiries.set(u.id, new Date((await oldGet(old.store, u.id))!.cookie.expires as unknown as string).getTime());
      store = new DynamoDBStore({ ...localOptions(), migrateFrom: old.store });
      newApp = await listen(siteApp(dynamoSession({ store, secret: SECRET, resave: false, saveUninitialized: false, cookie: COOKIE })));
    });
    after(async () => {
      await newApp?.close();
      await oldApp?.close();
      await store?.store.close();
      await old?.close();
    });

    it(`all ${USERS} users are still signed in, with their data and their cookies unchanged; each session is copied once, then served from DynamoDB`, async () => {
      const migrationStarted = Date.now();
      const [leaving, ...staying] = users;
      assert.ok(leaving);
      // The first user logs out on the new app during the window: gone from both stores.
      const out = await leaving.client.request(`${newApp.url}/logout`, { method: 'POST' });
      assert.equal(out.status, 200);
      assert.deepEqual(await leaving.client.json(`${newApp.url}/me`), { user: null });
      assert.equal(await oldGet(old.store, leaving.id), null, 'the logout reached the old store');
      assert.equal(await store.store.get(leaving.id), null, 'and this one');

      // Five concurrent first requests of one user: the session is created here once.
      const racer = staying[0]!;
      const raced = await Promise.all(Array.from({ length: 5 }, () => racer.client.json(`${newApp.url}/me`)));
      for (const r of raced) assert.deepEqual(r, { user: expectedUser(racer.name) });

      for (let start = 1; start < staying.length; start += 10) {
        await Promise.all(
          staying.slice(start, start + 10).map(async (u) => {
            assert.deepEqual(await u.client.json(`${newApp.url}/me`), { user: expectedUser(u.name) }, `${u.name} is still signed in`);
          }),
        );
      }
      for (const u of staying) {
        assert.equal(u.client.cookie('connect.sid'), u.cookie, `${u.name}'s cookie is unchanged`);
        const loaded = await store.store.load(u.id, { lock: false });
        assert.ok(loaded, `${u.name}'s session is in DynamoDB`);
        const expiry = expiries.get(u.id)!;
        if (Number.isNaN(expiry)) {
          // dynamodb-store keeps no cookie expiry (its marshalling turns the Date into {}): the max age restarts at the copy.
          assert.ok(loaded.handle.expiresAtMs >= migrationStarted + COOKIE.maxAge && loaded.handle.expiresAtMs <= Date.now() + COOKIE.maxAge, `${u.name}'s session gets the cookie's max age`);
        } else {
          assert.equal(loaded.handle.expiresAtMs, expiry, `${u.name}'s session keeps its expiry`);
        }
        assert.deepEqual(Object.keys(loaded.data.cookie as object).sort(), ['httpOnly', 'originalMaxAge', 'path'], 'the cookie is express-session\'s settings');
      }
      const stats = store.store.stats();
      assert.equal(stats.migrated, USERS, 'every session copied once (the one logged out too)');
      assert.ok(stats.servedByFallback >= USERS && stats.servedByFallback <= USERS + 4, `loads the old store answered: ${stats.servedByFallback}`);

      // From now on DynamoDB serves them: the old store is not asked again.
      const before = store.store.stats();
      for (const u of staying.slice(0, 20)) assert.deepEqual(await u.client.json(`${newApp.url}/me`), { user: expectedUser(u.name) });
      const later = store.store.stats();
      assert.equal(later.migrated, before.migrated);
      assert.equal(later.servedByFallback, before.servedByFallback);
    });

    it('a session a user changes after the switch lives on in DynamoDB alone; the old copy does not come back over it', async () => {
      const u = users[50]!;
      const res = await u.client.request(`${newApp.url}/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'name=renamed' });
      assert.equal(res.status, 200);
      assert.deepEqual(await u.client.json(`${newApp.url}/me`), { user: expectedUser('renamed') });
      assert.deepEqual((await oldGet(old.store, u.id))?.user, expectedUser(u.name), 'the old store still has the old copy');
      assert.deepEqual(await u.client.json(`${newApp.url}/me`), { user: expectedUser('renamed') });
    });

    it('a logout of a session not yet copied sticks in both stores', async () => {
      const [late] = await signIn(oldApp.url, 1, 'late');
      const out = await late!.client.request(`${newApp.url}/logout`, { method: 'POST' });
      assert.equal(out.status, 200);
      assert.equal(await oldGet(old.store, late!.id), null);
      assert.deepEqual(await late!.client.json(`${newApp.url}/me`), { user: null });
      assert.equal(await store.store.get(late!.id), null);
    });
  });
}

describe('read-through migration of a Fastify app (@fastify/session with its own store)', () => {
  it("a user signed in on the old store is still signed in after the switch; the session is copied once, and a logout deletes it in both stores", async () => {
    const secret = 'a-secret-of-at-least-thirty-two-characters!';
    const old = new MemoryStore();
    const routes = (app: FastifyInstance) => {
      app.post('/login', async (request) => {
        request.session.set('user' as never, 'ann' as never);
        return { ok: true };
      });
      app.get('/me', async (request) => ({ user: request.session.get('user' as never) ?? null }));
      app.post('/logout', async (request) => {
        await request.session.destroy();
        return { ok: true };
      });
    };
    const before = Fastify();
    await before.register(fastifyCookie);
    await before.register(fastifySession, { secret, store: old, cookie: { secure: false } });
    routes(before);
    const login = await before.inject({ method: 'POST', url: '/login' });
    const cookie = String(login.headers['set-cookie']).split(';')[0]!;
    const id = decodeURIComponent(cookie.slice('sessionId='.length)).split('.')[0]!;
    await before.close();

    const after = Fastify();
    await after.register(fastifyDynamoSession, { ...localOptions(), secret, migrateFrom: old, cookie: { secure: false } });
    routes(after);
    await after.ready();
    try {
      const store = after.dynamoSessionStore.store;
      for (let i = 0; i < 2; i++) assert.deepEqual((await after.inject({ url: '/me', headers: { cookie } })).json(), { user: 'ann' });
      assert.equal(store.stats().migrated, 1, 'copied once');
      assert.equal(store.stats().servedByFallback, 1, 'then served from DynamoDB');
      assert.equal((await store.get(id))?.user, 'ann');
      assert.equal((await after.inject({ method: 'POST', url: '/logout', headers: { cookie } })).statusCode, 200);
      assert.equal(await store.get(id), null);
      assert.equal(await new Promise((resolve) => old.get(id, (_err: unknown, sess?: unknown) => resolve(sess ?? null))), null, 'the logout reached the old store');
      assert.deepEqual((await after.inject({ url: '/me', headers: { cookie } })).json(), { user: null });
    } finally {
      await after.close();
    }
  });

  it('migrateFrom must be a store with get and destroy, and cannot go with a shared store', () => {
    assert.throws(() => new FastifySessionStore({ ...localOptions(), migrateFrom: {} as never }), (err: unknown) => err instanceof ConfigError && /migrateFrom/.test(err.message));
    const shared = new SessionStore(localOptions());
    assert.throws(() => new FastifySessionStore({ store: shared, migrateFrom: new MemoryStore() }), /cannot go with "store"/);
    void shared.close();
  });
});

describe('read-through migration: failures', () => {
  it('an old store that does not answer is a 503, not a new empty session; the session is copied once it answers again', async () => {
    const old = await openOldStore('redis');
    const oldApp = await listen(siteApp(session({ store: old.store, secret: SECRET, resave: false, saveUninitialized: false, cookie: COOKIE })));
    const store = new DynamoDBStore({ ...localOptions(), migrateFrom: old.store });
    const newApp = await listen(siteApp(dynamoSession({ store, secret: SECRET, resave: false, saveUninitialized: false, cookie: COOKIE })));
    try {
      const [u] = await signIn(oldApp.url, 1, 'outage');
      await old.stopServer!();
      const res = await u!.client.request(`${newApp.url}/me`);
      assert.equal(res.status, 503, await res.text());
      assert.ok(res.headers.get('retry-after'));
      assert.equal(res.headers.getSetCookie().length, 0, 'no new session cookie');
      assert.equal(u!.client.cookie('connect.sid'), u!.cookie);
      assert.equal(store.store.stats().migrated, 0);
    } finally {
      await newApp.close();
      await oldApp.close();
      await store.store.close();
      await old.close();
    }
  });

  it('the core store reports a failing fallback as StoreUnavailableError, and a logout that cannot reach it deletes nothing here', async () => {
    let fail = false;
    const held = new Map<string, { data: Record<string, unknown>; expiresAt: number }>([['a'.repeat(32), { data: { n: 1 }, expiresAt: Date.now() + 60_000 }]]);
    const store = new SessionStore(
      localOptions({
        fallback: {
          get: async (id) => {
            if (fail) throw new Error('connection refused');
            return held.get(id) ?? null;
          },
          destroy: async (id) => {
            if (fail) throw new Error('connection refused');
            held.delete(id);
          },
        },
      }),
    );
    try {
      const id = 'a'.repeat(32);
      fail = true;
      await assert.rejects(store.load(id), StoreUnavailableError);
      fail = false;
      assert.deepEqual((await store.load(id))?.data, { n: 1 });
      fail = true;
      await assert.rejects(store.destroy(id), StoreUnavailableError);
      assert.deepEqual(await store.get(id), { n: 1 }, 'still here: the logout can be retried');
      fail = false;
      await store.destroy(id);
      assert.equal(await store.get(id), null);
      assert.equal(held.has(id), false);
    } finally {
      await store.close();
    }
  });

  it('with hashSessionIds the old store is asked with the raw id', async () => {
    const asked: string[] = [];
    const store = new SessionStore(localOptions({ hashSessionIds: 'a secret for hashing ids', fallback: async (id) => (asked.push(id), { data: { who: id }, expiresAt: new Date(Date.now() + 60_000) }) }));
    try {
      const id = 'b'.repeat(32);
      assert.deepEqual((await store.load(id))?.data, { who: id });
      assert.deepEqual(asked, [id]);
      assert.notEqual(store.keyOf(id), id);
    } finally {
      await store.close();
    }
  });

  it('an expired session in the old store is no session', async () => {
    const store = new SessionStore(localOptions({ fallback: async () => ({ data: { n: 1 }, expiresAt: Date.now() - 1000 }) }));
    try {
      assert.equal(await store.load('c'.repeat(32)), null);
      assert.equal(store.stats().migrated, 0);
    } finally {
      await store.close();
    }
  });

  it('bad options are ConfigErrors that say what to pass', () => {
    assert.throws(() => new DynamoDBStore({ ...localOptions(), migrateFrom: {} as session.Store }), (err: unknown) => err instanceof ConfigError && /migrateFrom/.test(err.message));
    assert.throws(() => new SessionStore(localOptions({ fallback: { destroy: async () => undefined } as never })), (err: unknown) => err instanceof ConfigError && /fallback/.test(err.message));
    assert.throws(() => new SessionStore(localOptions({ fallbak: async () => null } as never)), /did you mean "fallback"/);
  });
});
