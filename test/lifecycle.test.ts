/**
 * Session lifecycle and account security, on DynamoDB Local: the absolute
 * timeout, the limit of sessions per user under concurrent logins from
 * several servers, a user's devices, and the lifecycle events, the same in
 * every adapter.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { SessionStore } from '../src/store/session-store.js';
import { EngineFeatureError, SessionLimitError } from '../src/errors.js';
import type { DestroyedEvent, ExpiredEvent } from '../src/core/events.js';
import { ENGINES, localOptions, uniqueTable } from './helpers/dynamo.js';
import { CookieClient, startServer, type ServerProcess } from './helpers/servers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Live sessions of a user, counted straight from the table (not through the code under test). */
async function liveSessionsOf(store: SessionStore, userId: string): Promise<string[]> {
  const out = await store.client.send(new ScanCommand({ TableName: store.config.table, ConsistentRead: true }));
  const now = Date.now();
  return (out.Items ?? []).filter((i) => i.userId?.S === userId && Number(i.expiresAtMs?.N ?? 0) > now).map((i) => i.sessionId!.S!);
}

describe('maxLifetime: the absolute timeout', () => {
  it('ends a session that is used every 300 ms, once its lifetime is over, and says why', async () => {
    const store = new SessionStore(localOptions({ maxLifetime: 2, ttl: 3600 }));
    const ended: DestroyedEvent[] = [];
    store.on('destroyed', (e: DestroyedEvent) => ended.push(e));
    try {
      const started = Date.now();
      await store.set('busy', { n: 0 });
      let n = 0;
      let gone = false;
      while (Date.now() - started < 6000) {
        const loaded = await store.load('busy');
        if (!loaded) {
          gone = true;
          break;
        }
        n += 1;
        await store.commit(loaded.handle, 'busy', { n }, { expires: Date.now() + 3_600_000 });
        await sleep(300);
      }
      const lived = Date.now() - started;
      assert.ok(gone, 'the session ended though it was used every 300 ms');
      assert.ok(n >= 3, `it served ${n} requests first`);
      assert.ok(lived >= 2000 && lived < 6000, `it lived ${lived} ms of its 2 s`);
      assert.deepEqual(ended.map((e) => e.reason), ['lifetime']);
    } finally {
      await store.close();
    }
  });

  it('the stored expiry (and so the TTL attribute) is never later than the absolute end', async () => {
    const store = new SessionStore(localOptions({ maxLifetime: 60 }));
    try {
      await store.set('capped', { a: 1 });
      const loaded = await store.load('capped');
      await store.commit(loaded!.handle, 'capped', { a: 2 }, { expires: Date.now() + 86_400_000 });
      const again = await store.load('capped');
      assert.ok(again!.handle.expiresAtMs <= again!.handle.createdAt + 60_000, 'clamped to createdAt + 60 s');
    } finally {
      await store.close();
    }
  });
});

// Five at a time: each case mostly waits (a lifetime of 3 s), in a server process of its own.
describe('regenerating an id (a login) keeps the creation time', { concurrency: 5 }, () => {
  for (const framework of ['express', 'fastify', 'koa', 'hono', 'http'] as const) {
    it(`${framework}: after a login the new id is announced as regenerated, and maxLifetime still counts from the first visit`, async () => {
      const server = await startServer('test/fixtures/framework-server.ts', { FRAMEWORK: framework, TABLE: uniqueTable(`regen_${framework}`), MAX_LIFETIME: '3' });
      try {
        const client = new CookieClient();
        await client.json(`${server.url}/count`);
        await sleep(1500);
        await client.json(`${server.url}/login?user=ada`, { method: 'POST' });
        const events = await client.json<Array<{ event: string; reason?: string; previousKey?: string }>>(`${server.url}/events`);
        assert.deepEqual(
          events.map((e) => e.event),
          ['created', 'regenerated'],
          JSON.stringify(events),
        );
        assert.ok(events[1]!.previousKey);
        await sleep(1700);
        // 3.2 s after the first visit, 1.7 s after the login: past the lifetime of the first, not of the login.
        const { session } = await client.json<{ session: Record<string, unknown> }>(`${server.url}/peek`);
        assert.equal(session.user, undefined, 'the logged-in session ended with its first one');
        await client.json(`${server.url}/logout`, { method: 'POST' });
      } finally {
        await server.stop();
      }
    });
  }

  for (const framework of ['express', 'fastify', 'koa', 'hono', 'http'] as const) {
    it(`${framework}: a logout is announced as destroyed with reason logout`, async () => {
      const server = await startServer('test/fixtures/framework-server.ts', { FRAMEWORK: framework, TABLE: uniqueTable(`logout_${framework}`) });
      try {
        const client = new CookieClient();
        await client.json(`${server.url}/count`);
        await client.json(`${server.url}/logout`, { method: 'POST' });
        const events = await client.json<Array<{ event: string; reason?: string }>>(`${server.url}/events`);
        assert.deepEqual(
          events.map((e) => `${e.event}${e.reason ? `:${e.reason}` : ''}`),
          ['created', 'destroyed:logout'],
        );
      } finally {
        await server.stop();
      }
    });
  }
});

describe('maxSessionsPerUser under concurrent logins', () => {
  let servers: ServerProcess[] = [];
  after(() => Promise.all(servers.map((s) => s.stop())));

  it('three concurrent logins of one user against a limit of 2, from 3 processes, always leave exactly 2 sessions', async () => {
    const table = uniqueTable('limit');
    servers = await Promise.all([1, 2, 3].map(() => startServer('test/fixtures/framework-server.ts', { FRAMEWORK: 'express', TABLE: table, MAX_SESSIONS_PER_USER: '2' })));
    const reader = new SessionStore(localOptions({ table }));
    try {
      for (let round = 0; round < 5; round++) {
        const user = `user${round}`;
        const clients = [0, 1, 2].map(() => new CookieClient());
        await Promise.all(clients.map((c, i) => c.json(`${servers[i]!.url}/count`)));
        const answers = await Promise.all(clients.map((c, i) => c.request(`${servers[i]!.url}/login?user=${user}`, { method: 'POST' })));
        assert.deepEqual(answers.map((r) => r.status), [200, 200, 200]);
        const live = await liveSessionsOf(reader, user);
        assert.equal(live.length, 2, `round ${round}: ${live.length} live sessions`);
        const { sessions } = await reader.listUserSessions(user);
        assert.equal(sessions.length, 2);
      }
    } finally {
      await reader.close();
    }
  });

  it("with onSessionLimit: 'refuse' a login past the limit is a SessionLimitError and writes nothing", async () => {
    const store = new SessionStore(localOptions({ userId: 'user', maxSessionsPerUser: 1, onSessionLimit: 'refuse' }));
    try {
      await store.set('first', { n: 1 });
      const a = await store.load('first');
      await store.commit(a!.handle, 'first', { user: 'bob' });
      await store.set('second', { n: 1 });
      const b = await store.load('second');
      await assert.rejects(store.commit(b!.handle, 'second', { user: 'bob' }), SessionLimitError);
      assert.deepEqual(await store.get('second'), { n: 1 });
      assert.deepEqual(await liveSessionsOf(store, 'bob'), ['first']);
    } finally {
      await store.close();
    }
  });

  it('evicting the oldest is announced as destroyed with reason limit, and a session that ended by itself frees its slot', async () => {
    const store = new SessionStore(localOptions({ userId: 'user', maxSessionsPerUser: 2 }));
    const ended: DestroyedEvent[] = [];
    store.on('destroyed', (e: DestroyedEvent) => ended.push(e));
    try {
      for (const id of ['s1', 's2', 's3']) {
        await store.set(id, { n: 1 });
        const loaded = await store.load(id);
        await store.commit(loaded!.handle, id, { user: 'eve' });
      }
      assert.deepEqual(ended.map((e) => `${e.key}:${e.reason}`), [`${store.handleOf('s1')}:limit`]);
      await store.destroy('s2');
      await store.set('s4', { n: 1 });
      const loaded = await store.load('s4');
      await store.commit(loaded!.handle, 's4', { user: 'eve' });
      assert.deepEqual((await liveSessionsOf(store, 'eve')).sort(), ['s3', 's4']);
      assert.deepEqual(ended.map((e) => `${e.key}:${e.reason}`), [`${store.handleOf('s1')}:limit`, `${store.handleOf('s2')}:logout`]);
    } finally {
      await store.close();
    }
  });
});

describe('maxSessionsPerUser on an engine without transactions (dynalite)', () => {
  it('a login is an EngineFeatureError naming the engine, and writes nothing', async () => {
    const engine = ENGINES.find((e) => e.name === 'dynalite')!;
    const store = new SessionStore(localOptions({ endpoint: engine.endpoint, userId: 'user', maxSessionsPerUser: 2 }));
    try {
      await store.set('dyn', { n: 1 });
      const loaded = await store.load('dyn');
      await assert.rejects(store.commit(loaded!.handle, 'dyn', { user: 'kim' }), (err: unknown) => err instanceof EngineFeatureError && /dynalite/.test(err.message));
      assert.deepEqual(await store.get('dyn'), { n: 1 });
    } finally {
      await store.close();
    }
  });
});

describe('devices', () => {
  it("listUserSessions gives each of a user's sessions with its device, and revokeSession ends one", async () => {
    const server = await startServer('test/fixtures/framework-server.ts', { FRAMEWORK: 'express', TABLE: uniqueTable('devices'), TRACK_DEVICES: '1' });
    try {
      const phone = new CookieClient();
      const laptop = new CookieClient();
      await phone.json(`${server.url}/count`, { headers: { 'user-agent': 'Phone/1.0' } });
      await phone.json(`${server.url}/login?user=zoe`, { method: 'POST', headers: { 'user-agent': 'Phone/1.0' } });
      await laptop.json(`${server.url}/count`, { headers: { 'user-agent': 'Laptop/2.0' } });
      await laptop.json(`${server.url}/login?user=zoe`, { method: 'POST', headers: { 'user-agent': 'Laptop/2.0' } });
      const devices = await phone.json<{ sessions: Array<{ key: string; userAgent?: string; ip?: string; createdAt?: number; lastSeen?: number }> }>(`${server.url}/devices?user=zoe`);
      assert.deepEqual(devices.sessions.map((d) => d.userAgent), ['Phone/1.0', 'Laptop/2.0']);
      assert.ok(devices.sessions.every((d) => d.ip && d.createdAt && d.lastSeen));
      await phone.json(`${server.url}/devices/end?user=zoe&key=${encodeURIComponent(devices.sessions[1]!.key)}`, { method: 'POST' });
      const { session } = await laptop.json<{ session: Record<string, unknown> }>(`${server.url}/peek`);
      assert.equal(session.user, undefined, 'the laptop was logged out');
      const after = await phone.json<{ sessions: Array<{ userAgent?: string }> }>(`${server.url}/devices?user=zoe`);
      assert.deepEqual(after.sessions.map((d) => d.userAgent), ['Phone/1.0']);
      const events = await phone.json<Array<{ event: string; reason?: string }>>(`${server.url}/events`);
      assert.ok(events.some((e) => e.event === 'destroyed' && e.reason === 'revoked'), JSON.stringify(events));
    } finally {
      await server.stop();
    }
  });
});

describe('expired, as a read finds it', () => {
  it('a read of an expired session emits expired (source read), once', async () => {
    const store = new SessionStore(localOptions());
    const expired: ExpiredEvent[] = [];
    store.on('expired', (e: ExpiredEvent) => expired.push(e));
    try {
      await store.set('short', { a: 1 }, { expires: Date.now() + 200 });
      await sleep(300);
      assert.equal(await store.get('short'), null);
      assert.equal(await store.get('short'), null);
      assert.deepEqual(expired.map((e) => `${e.key}:${e.source}`), ['short:read']);
    } finally {
      await store.close();
    }
  });
});
