/**
 * Every adapter against the real framework: two server processes share one
 * table, a cookie-keeping client alternates between them. Sessions follow the
 * client across processes, login changes the id, logout ends the session
 * everywhere, a burst of concurrent writes loses nothing, and a request that
 * only reads costs one DynamoDB call. Then Express and Koa share a session.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { uniqueTable } from './helpers/dynamo.js';
import { CookieClient, startServer, type ServerProcess } from './helpers/servers.js';
import { assertUnavailable, viewsOnceBack } from './helpers/scenarios.js';
import { startTcpProxy } from './helpers/tcp-proxy.js';
import { ENDPOINT } from './helpers/dynamo.js';
import type { StoreStats } from '../src/core/stats.js';

const FIXTURE = 'test/fixtures/framework-server.ts';
const BURST = 100;

const cookieNames: Record<string, string> = { fastify: 'sessionId', koa: 'koa.sess', hono: 'sid', http: 'sid' };

type Peek = { pid: number; session: { views?: number; keys?: Record<string, number>; user?: string } | null };

async function calls(server: ServerProcess): Promise<number> {
  const stats = (await (await fetch(`${server.url}/stats`)).json()) as StoreStats;
  return Object.values(stats.calls).reduce((a, b) => a + b, 0);
}

for (const framework of ['fastify', 'koa', 'hono', 'http'] as const) {
  describe(`${framework} adapter: two processes, one table`, { concurrency: false }, () => {
    const table = uniqueTable(framework);
    let a: ServerProcess;
    let b: ServerProcess;
    const cookie = cookieNames[framework]!;

    before(async () => {
      [a, b] = await Promise.all([startServer(FIXTURE, { FRAMEWORK: framework, TABLE: table }), startServer(FIXTURE, { FRAMEWORK: framework, TABLE: table })]);
    });
    after(async () => {
      await Promise.all([a?.stop(), b?.stop()]);
    });

    it('a session follows its cookie from one process to the other', async () => {
      const client = new CookieClient();
      const pids = new Set<number>();
      for (let i = 1; i <= 10; i++) {
        const out = await client.json<{ pid: number; views: number }>(`${(i % 2 ? a : b).url}/count`);
        assert.equal(out.views, i, `request ${i} saw views ${out.views}\n${a.output().slice(-800)}\n${b.output().slice(-800)}`);
        pids.add(out.pid);
      }
      assert.equal(pids.size, 2);
      assert.ok(client.cookie(cookie), `cookie ${cookie} is set`);
    });

    it('a request that only reads costs exactly one DynamoDB call', async () => {
      const client = new CookieClient();
      await client.json(`${a.url}/count`);
      const before = await calls(b);
      const out = await client.json<Peek>(`${b.url}/peek`);
      assert.equal(out.session?.views, 1);
      assert.equal((await calls(b)) - before, 1);
    });

    it('login regenerates the session id and the old cookie no longer opens the session', async () => {
      const client = new CookieClient();
      await client.json(`${a.url}/count`);
      const old = client.cookie(cookie)!;
      const login = await client.json<{ user: string }>(`${b.url}/login?user=ada`, { method: 'POST' });
      assert.equal(login.user, 'ada');
      assert.notEqual(client.cookie(cookie), old);
      assert.equal((await client.json<Peek>(`${a.url}/peek`)).session?.user, 'ada');
      const replay = await fetch(`${a.url}/peek`, { headers: { cookie: `${cookie}=${old}` } });
      const replayed = (await replay.json()) as Peek;
      assert.equal(replayed.session?.user, undefined);
      assert.equal(replayed.session?.views, undefined);
    });

    it('logout destroys the session on every process', async () => {
      const client = new CookieClient();
      await client.json(`${a.url}/login?user=grace`, { method: 'POST' });
      const saved = client.cookie(cookie)!;
      assert.equal((await client.json<Peek>(`${b.url}/peek`)).session?.user, 'grace');
      await client.json(`${b.url}/logout`, { method: 'POST' });
      const after = await fetch(`${a.url}/peek`, { headers: { cookie: `${cookie}=${saved}` } });
      assert.equal(((await after.json()) as Peek).session?.user, undefined);
    });

    it(`${BURST} concurrent requests on one session, each setting its own key, lose none (optimistic)`, async () => {
      const client = new CookieClient();
      await client.json(`${a.url}/count`);
      const responses = await Promise.all(
        Array.from({ length: BURST }, async (_, i) => {
          const res = await client.request(`${(i % 2 ? a : b).url}/key/k${i}`, { method: 'POST' });
          await res.text();
          return res.status;
        }),
      );
      assert.deepEqual(
        responses.filter((s) => s !== 200),
        [],
      );
      const keys = (await client.json<Peek>(`${b.url}/peek`)).session?.keys ?? {};
      assert.equal(Object.keys(keys).length, BURST);
    });
  });
}

for (const framework of ['fastify', 'koa', 'hono', 'http'] as const) {
  it(`${framework}: DynamoDB unreachable → 503 with Retry-After; back → the session is intact`, async () => {
    const proxy = await startTcpProxy(Number(new URL(ENDPOINT).port));
    const server = await startServer(FIXTURE, { FRAMEWORK: framework, TABLE: uniqueTable(`${framework}_out`), DSM_TEST_ENDPOINT: proxy.endpoint, MAX_ATTEMPTS: '1', REQUEST_TIMEOUT_MS: '1000' });
    try {
      const client = new CookieClient();
      await client.json(`${server.url}/count`);
      proxy.down();
      await assertUnavailable(await client.request(`${server.url}/count`));
      proxy.up();
      assert.equal(await viewsOnceBack(client, `${server.url}/peek`), 1, 'the session written before the outage, unchanged by the failed request');
    } finally {
      await server.stop();
      await proxy.close();
    }
  });
}

it('fastify: a lock wait past maxLockWaitMs answers 503 with Retry-After', async () => {
  const server = await startServer(FIXTURE, { FRAMEWORK: 'fastify', TABLE: uniqueTable('fastify_lock'), LOCKING: 'pessimistic', LOCK_WAIT_MS: '300' });
  try {
    const client = new CookieClient();
    await client.json(`${server.url}/count`);
    const slow = client.request(`${server.url}/slow`, { method: 'POST' });
    await new Promise((r) => setTimeout(r, 500));
    const blocked = await client.request(`${server.url}/count`);
    await blocked.text();
    assert.equal(blocked.status, 503);
    assert.ok(blocked.headers.get('retry-after'));
    assert.equal((await slow).status, 200);
  } finally {
    await server.stop();
  }
});

for (const framework of ['fastify', 'koa', 'hono', 'http'] as const) {
  it(`${framework}, pessimistic: 40 concurrent increments of one counter over two processes lose none`, async () => {
    const table = uniqueTable(`${framework}_lock`);
    const servers = await Promise.all([1, 2].map(() => startServer(FIXTURE, { FRAMEWORK: framework, TABLE: table, LOCKING: 'pessimistic' })));
    try {
      const client = new CookieClient();
      await client.json(`${servers[0]!.url}/count`);
      const statuses = await Promise.all(
        Array.from({ length: 40 }, async (_, i) => {
          const res = await client.request(`${servers[i % 2]!.url}/count`);
          await res.text();
          return res.status;
        }),
      );
      assert.deepEqual(statuses.filter((s) => s !== 200), []);
      assert.equal((await client.json<Peek>(`${servers[1]!.url}/peek`)).session?.views, 41);
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
    }
  });
}

describe('Express and Koa share one session (same table, cookie name and secret)', () => {
  const table = uniqueTable('cross');
  let express: ServerProcess;
  let koa: ServerProcess;
  before(async () => {
    [express, koa] = await Promise.all([
      startServer(FIXTURE, { FRAMEWORK: 'express', TABLE: table }),
      startServer(FIXTURE, { FRAMEWORK: 'koa', TABLE: table, COOKIE_NAME: 'connect.sid' }),
    ]);
  });
  after(async () => {
    await Promise.all([express?.stop(), koa?.stop()]);
  });

  it('a session written by Express is read and updated by Koa, and Express sees the update', async () => {
    const client = new CookieClient();
    assert.equal((await client.json<{ views: number }>(`${express.url}/count`)).views, 1);
    assert.equal((await client.json<{ views: number }>(`${koa.url}/count`)).views, 2);
    assert.equal((await client.json<{ views: number }>(`${express.url}/count`)).views, 3);
    await client.json(`${koa.url}/key/from-koa`, { method: 'POST' });
    const seen = await client.json<Peek>(`${express.url}/peek`);
    assert.deepEqual(seen.session?.keys, { 'from-koa': 1 });
    assert.equal(seen.session?.views, 3);
  });
});
