/**
 * Safe by default: the classic race, 50 concurrent AJAX POSTs each doing
 * `n = (n ?? 0) + 1` on one session, spread over three server processes,
 * with the options a user who never read the options table has. No increment
 * may be lost, in any adapter; and a read-only request still costs one GetItem.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { uniqueTable } from './helpers/dynamo.js';
import { CookieClient, startServer, type ServerProcess } from './helpers/servers.js';

const N = 50;

async function cluster(framework: string, table: string, env: Record<string, string> = {}): Promise<ServerProcess[]> {
  return Promise.all([1, 2, 3].map(() => startServer('test/fixtures/framework-server.ts', { FRAMEWORK: framework, TABLE: table, ...env })));
}

/** One session, then N concurrent POST /incr over the servers; the counter afterwards. */
async function race(servers: ServerProcess[]): Promise<number> {
  const client = new CookieClient();
  await client.json(`${servers[0]!.url}/count`);
  const statuses = await Promise.all(
    Array.from({ length: N }, async (_, i) => {
      const res = await client.request(`${servers[i % servers.length]!.url}/incr`, { method: 'POST' });
      await res.text();
      return res.status;
    }),
  );
  assert.deepEqual(
    statuses.filter((s) => s !== 200),
    [],
    servers.map((s) => s.output().slice(-800)).join('\n---\n'),
  );
  const { session } = await client.json<{ session: { n?: number } }>(`${servers[1]!.url}/peek`);
  return session.n ?? 0;
}

const stopAll = (servers: ServerProcess[]) => Promise.all(servers.map((s) => s.stop()));

for (const framework of ['express', 'fastify', 'koa', 'hono', 'http'] as const) {
  describe(`${framework}, default options: the classic race`, { timeout: 180_000 }, () => {
    let servers: ServerProcess[] = [];
    after(() => stopAll(servers));

    it(`${N} concurrent POSTs incrementing one counter lose none`, async () => {
      servers = await cluster(framework, uniqueTable(`race_${framework}`));
      const n = await race(servers);
      assert.equal(n, N, `${N - n} of ${N} increments lost`);
    });

    it('a read-only GET still loads with one GetItem and writes nothing', async () => {
      const client = new CookieClient();
      await client.json(`${servers[0]!.url}/incr`, { method: 'POST' });
      const statsOf = async () => (await (await fetch(`${servers[0]!.url}/stats`)).json()) as { calls: Record<string, number> };
      const before = await statsOf();
      await client.json(`${servers[0]!.url}/peek`);
      const after = await statsOf();
      assert.equal((after.calls.GetItem ?? 0) - (before.calls.GetItem ?? 0), 1);
      assert.equal((after.calls.UpdateItem ?? 0) - (before.calls.UpdateItem ?? 0), 0);
    });
  });
}

describe('plain express-session with DynamoDBStore (no dynamoSession())', { timeout: 180_000 }, () => {
  let servers: ServerProcess[] = [];
  after(() => stopAll(servers));

  it(`locking: 'pessimistic': ${N} concurrent POSTs lose none, every load taking the lease the request then gives back`, async () => {
    servers = await cluster('express-plain', uniqueTable('race_plain'), { LOCKING: 'pessimistic', LOCK_WAIT_MS: '60000' });
    const n = await race(servers);
    assert.equal(n, N, `${N - n} of ${N} increments lost`);
    const client = new CookieClient();
    await client.json(`${servers[0]!.url}/incr`, { method: 'POST' });
    const statsOf = async () => (await (await fetch(`${servers[0]!.url}/stats`)).json()) as { calls: Record<string, number> };
    const before = await statsOf();
    await client.json(`${servers[0]!.url}/peek`);
    const after = await statsOf();
    assert.equal((after.calls.UpdateItem ?? 0) - (before.calls.UpdateItem ?? 0), 2, 'a GET takes the lease and gives it back');
  });

  it("default options: node:http announces each request, so locking 'auto' leases the POSTs there too and the race loses none", async () => {
    await stopAll(servers);
    servers = await cluster('express-plain', uniqueTable('race_plain_auto'));
    const n = await race(servers);
    assert.equal(n, N, `${N - n} of ${N} increments lost`);
  });
});
