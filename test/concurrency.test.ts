/**
 * The seed's weakness, measured: many concurrent requests on one session, spread
 * over three server processes sharing one table. `optimistic` and `pessimistic`
 * lose nothing; `none` (the Tomcat manager's behaviour) loses updates. On every
 * engine of the matrix: dynalite returns no item with a failed condition.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { SessionStore } from '../src/store/session-store.js';
import { ENGINES, localOptions, uniqueTable, type Engine } from './helpers/dynamo.js';
import { CookieClient, startServer, type ServerProcess } from './helpers/servers.js';

const N = 200;

interface Peek {
  session: { keys?: Record<string, number>; items?: string[]; counter?: number };
}

async function cluster(engine: Engine, env: Record<string, string>): Promise<ServerProcess[]> {
  return Promise.all([1, 2, 3].map(() => startServer('test/fixtures/express-server.ts', { ...env, DSM_TEST_ENDPOINT: engine.endpoint })));
}

/** One session, then N requests fired at once, round-robin over the servers. */
async function burst(servers: ServerProcess[], path: (i: number) => string): Promise<CookieClient> {
  const client = new CookieClient();
  await client.json(`${servers[0]!.url}/count`);
  // Read each body to its end: express-session sends the headers before its save
  // finishes and the last bytes after, so only a complete body means "saved".
  const responses = await Promise.all(
    Array.from({ length: N }, async (_, i) => {
      const res = await client.request(`${servers[i % servers.length]!.url}${path(i)}`, { method: 'POST' });
      await res.text();
      return res;
    }),
  );
  const failed = responses.filter((r) => r.status !== 200);
  assert.equal(failed.length, 0, `statuses: ${failed.map((r) => r.status).join(',')}`);
  return client;
}

async function peek(client: CookieClient, server: ServerProcess): Promise<Peek['session']> {
  return (await client.json<Peek>(`${server.url}/peek`)).session;
}

async function stopAll(servers: ServerProcess[]) {
  await Promise.all(servers.map((s) => s.stop()));
}

for (const engine of ENGINES) {
  for (const locking of ['optimistic', 'pessimistic'] as const) {
    describe(`${engine.name}, ${locking}: ${N} concurrent requests on one session over three processes`, () => {
      const table = uniqueTable(locking);
      let servers: ServerProcess[] = [];
      after(() => stopAll(servers));

      it(`${N} requests each setting their own key lose none`, async () => {
        servers = await cluster(engine, { TABLE: table, LOCKING: locking, LOCK_WAIT_MS: '60000' });
        const client = await burst(servers, (i) => `/key/k${i}`);
        const keys = (await peek(client, servers[1]!)).keys ?? {};
        assert.equal(Object.keys(keys).length, N, servers.map((s) => s.output().slice(-1500)).join('\n---\n'));
      });

      it(`${N} appends to one list lose none`, async () => {
        const client = await burst(servers, (i) => `/append/v${i}`);
        const items = (await peek(client, servers[2]!)).items ?? [];
        assert.equal(items.length, N);
        assert.equal(new Set(items).size, N);
      });
    });
  }

  describe(`${engine.name}: increments of one counter`, () => {
    let servers: ServerProcess[] = [];
    after(() => stopAll(servers));

    it(`default options (locking 'auto'): ${N} concurrent POSTs incrementing one counter lose no acknowledged increment`, async (t) => {
      servers = await cluster(engine, { TABLE: uniqueTable('incr_auto') });
      const client = new CookieClient();
      await client.json(`${servers[0]!.url}/count`);
      const responses = await Promise.all(
        Array.from({ length: N }, async (_, i) => {
          const res = await client.request(`${servers[i % servers.length]!.url}/incr`, { method: 'POST' });
          await res.text();
          return res;
        }),
      );
      const acknowledged = responses.filter((r) => r.status === 200).length;
      // 200 requests on one session queue behind one lock: the last wait longest, and past the
      // default maxLockWaitMs (10 s) on a slow machine a request is told 503, never a 200 for a lost write.
      for (const r of responses.filter((r) => r.status !== 200)) {
        assert.equal(r.status, 503);
        assert.ok(Number(r.headers.get('retry-after')) >= 1);
      }
      t.diagnostic(`${acknowledged} of ${N} answered 200, ${N - acknowledged} answered 503 (lock wait past maxLockWaitMs)`);
      assert.equal((await peek(client, servers[0]!)).counter, acknowledged, 'every acknowledged increment kept, and no other');
      assert.ok(acknowledged >= N / 2, `${acknowledged} of ${N} answered 200`);
      await stopAll(servers);
    });

    it(`pessimistic: ${N} concurrent increments lose none`, async () => {
      servers = await cluster(engine, { TABLE: uniqueTable('incr_p'), LOCKING: 'pessimistic', LOCK_WAIT_MS: '60000' });
      const client = await burst(servers, () => '/incr');
      assert.equal((await peek(client, servers[0]!)).counter, N);
      const stats = await Promise.all(servers.map((s) => fetch(`${s.url}/stats`).then((r) => r.json() as Promise<{ lockWaits: number }>)));
      assert.ok(stats.reduce((a, s) => a + s.lockWaits, 0) > 0, 'requests waited for the lock');
      await stopAll(servers);
    });

    it('optimistic without onConflict: concurrent increments are reported as conflicts, the later write winning', async (t) => {
      servers = await cluster(engine, { TABLE: uniqueTable('incr_o'), LOCKING: 'optimistic' });
      const client = await burst(servers, () => '/incr');
      const counter = (await peek(client, servers[0]!)).counter ?? 0;
      const stats = await Promise.all(servers.map((s) => fetch(`${s.url}/stats`).then((r) => r.json() as Promise<{ conflicts: number }>)));
      const conflicts = stats.reduce((a, s) => a + s.conflicts, 0);
      t.diagnostic(`optimistic, no onConflict: counter ${counter} of ${N}, ${conflicts} conflicts reported`);
      // Two requests turning one counter from n into n+1 is a true conflict: the store
      // cannot know the values add up, so it reports it and keeps the later write.
      assert.ok(counter < N, `counter ${counter}`);
      assert.ok(conflicts >= 1, `counter ${counter}, conflicts ${conflicts}`);
      await stopAll(servers);
    });

    it(`optimistic with an onConflict that adds the deltas: ${N} concurrent increments lose none`, async () => {
      servers = await cluster(engine, { TABLE: uniqueTable('incr_d'), LOCKING: 'optimistic', ON_CONFLICT: 'add-deltas' });
      const client = await burst(servers, () => '/incr');
      assert.equal((await peek(client, servers[0]!)).counter, N);
      await stopAll(servers);
    });

    it('none: the seed race, shown: concurrent increments are lost', async (t) => {
      servers = await cluster(engine, { TABLE: uniqueTable('incr_n'), LOCKING: 'none' });
      const client = await burst(servers, () => '/incr');
      const counter = (await peek(client, servers[0]!)).counter ?? 0;
      t.diagnostic(`locking none: ${N - counter} of ${N} increments lost`);
      assert.ok(counter < N, `expected lost updates, counter ${counter}`);
      await stopAll(servers);
    });
  });

  describe(`${engine.name}: a crashed lock holder`, () => {
    let servers: ServerProcess[] = [];
    after(() => stopAll(servers));

    it('a process killed with SIGKILL while holding a lease: the next request succeeds within the lease plus one second', async () => {
      const table = uniqueTable('crash');
      const lease = 2000;
      servers = await cluster(engine, { TABLE: table, LOCKING: 'pessimistic', LEASE_MS: String(lease), LOCK_WAIT_MS: '10000' });
      const client = new CookieClient();
      await client.json(`${servers[0]!.url}/count`);
      const id = decodeURIComponent(client.cookie('connect.sid')!).slice(2).split('.')[0]!;
      void client.request(`${servers[0]!.url}/slow`, { method: 'POST' }).catch(() => undefined);
      const store = new SessionStore(localOptions({ endpoint: engine.endpoint, table }));
      // Wait until the slow request holds the lease.
      for (let i = 0; i < 100; i++) {
        const item = await store.client.send(new GetItemCommand({ TableName: table, Key: { sessionId: { S: id } }, ConsistentRead: true }));
        if (item.Item?.lockOwner) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const killedAt = Date.now();
      await servers[0]!.stop('SIGKILL');
      const body = await client.json<{ views: number }>(`${servers[1]!.url}/count`);
      const took = Date.now() - killedAt;
      assert.equal(body.views, 2);
      assert.ok(took <= lease + 1000, `took ${took} ms`);
      await store.close();
    });
  });

  describe(`${engine.name}: per-route locking and lock time-outs`, () => {
    let servers: ServerProcess[] = [];
    after(() => stopAll(servers));

    it('a lock rule makes only the matching route lock: its increments lose none, other routes read with one GetItem', async () => {
      servers = await cluster(engine, { TABLE: uniqueTable('route'), LOCKING: 'optimistic', LOCK_PREFIX: '/incr', LOCK_WAIT_MS: '60000' });
      const client = await burst(servers, () => '/incr');
      assert.equal((await peek(client, servers[0]!)).counter, N, 'no onConflict, yet nothing lost: /incr locked');
      const statsOf = async () => (await fetch(`${servers[1]!.url}/stats`).then((r) => r.json())) as { calls: Record<string, number> };
      const before = await statsOf();
      await client.json(`${servers[1]!.url}/peek`);
      const after = await statsOf();
      assert.equal((after.calls.GetItem ?? 0) - (before.calls.GetItem ?? 0), 1, 'an unlocked route loads with one GetItem');
      assert.equal(after.calls.UpdateItem ?? 0, before.calls.UpdateItem ?? 0, 'and takes no lease');
      await stopAll(servers);
    });

    it('a lock wait past maxLockWaitMs is answered 503 with Retry-After, and the session is kept', async () => {
      servers = await cluster(engine, { TABLE: uniqueTable('timeout'), LOCKING: 'pessimistic', LOCK_WAIT_MS: '300', LEASE_MS: '20000' });
      const client = new CookieClient();
      await client.json(`${servers[0]!.url}/count`);
      void client.request(`${servers[0]!.url}/slow`, { method: 'POST' }).catch(() => undefined);
      let res: Response | undefined;
      for (let i = 0; i < 50; i++) {
        res = await client.request(`${servers[1]!.url}/count`);
        await res.text();
        if (res.status === 503) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(res?.status, 503);
      assert.ok(Number(res?.headers.get('retry-after')) >= 1);
      // The slow request would hold a graceful shutdown for a minute.
      await servers[0]!.stop('SIGKILL');
      await stopAll(servers);
    });
  });
}
