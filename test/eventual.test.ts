/**
 * `consistentRead: false` halves read units without ever serving a client a
 * session older than its own last write: the adapters hand the client the
 * version of each write in a companion cookie, the next load reads eventually
 * consistently and reads again, strongly, if the answer is older.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { SessionStore } from '../src/store/session-store.js';
import { localOptions, uniqueTable } from './helpers/dynamo.js';
import { CookieClient, startServer, type ServerProcess } from './helpers/servers.js';
import type { StoreStats } from '../src/core/stats.js';

describe('core: eventually consistent reads with a version floor', () => {
  const store = new SessionStore(localOptions({ consistentRead: false, returnConsumedCapacity: true }));
  after(() => store.close());

  it('without a version floor a load reads strongly (1 RCU); with one, eventually (0.5 RCU)', async () => {
    await store.set('ev', { a: 1 });
    const version = (await store.load('ev', {}))!.handle.version;
    let before = store.stats().readCapacityUnits;
    await store.load('ev');
    assert.equal(store.stats().readCapacityUnits - before, 1);
    before = store.stats().readCapacityUnits;
    const loaded = await store.load('ev', { minVersion: version });
    assert.equal(store.stats().readCapacityUnits - before, 0.5);
    assert.deepEqual(loaded?.data, { a: 1 });
  });

  it('an answer older than the floor is read again strongly, and counted', async () => {
    const version = (await store.load('ev'))!.handle.version;
    const before = store.stats();
    // A floor above what is stored stands for a replica that has not seen the client's write yet.
    const loaded = await store.load('ev', { minVersion: version + 1 });
    const after = store.stats();
    assert.equal(after.staleReads - before.staleReads, 1);
    assert.equal(after.readCapacityUnits - before.readCapacityUnits, 1.5);
    assert.equal((after.calls.GetItem ?? 0) - (before.calls.GetItem ?? 0), 2);
    assert.deepEqual(loaded?.data, { a: 1 });
  });

  it('a commit reports the version it stored, for the next floor', async () => {
    const loaded = await store.load('ev');
    await store.commit(loaded!.handle, 'ev', { a: 2 });
    assert.equal(loaded!.handle.storedVersion, loaded!.handle.version);
    assert.equal((await store.load('ev'))!.handle.version, loaded!.handle.storedVersion);
  });
});

for (const framework of ['express', 'hono', 'http', 'koa', 'fastify'] as const) {
  describe(`${framework}: consistentRead false through the adapter`, () => {
    let server: ServerProcess;
    after(() => server?.stop());

    it('read-only requests after a write cost half a read unit each, and every response shows the client its own writes', async () => {
      server = await startServer('test/fixtures/framework-server.ts', { FRAMEWORK: framework, TABLE: uniqueTable(`ev_${framework}`), CONSISTENT_READ: 'false', RETURN_CONSUMED_CAPACITY: 'true' });
      const stats = async () => (await (await fetch(`${server.url}/stats`)).json()) as StoreStats;
      const client = new CookieClient();
      for (let i = 1; i <= 5; i++) assert.equal((await client.json<{ views: number }>(`${server.url}/count`)).views, i, 'each write is seen by the next request');
      await client.json(`${server.url}/peek`);
      const before = await stats();
      for (let i = 0; i < 10; i++) assert.equal((await client.json<{ session: { views: number } }>(`${server.url}/peek`)).session.views, 5);
      const after = await stats();
      assert.equal(after.readCapacityUnits - before.readCapacityUnits, 5, '10 eventually consistent reads at 0.5 RCU');
      assert.equal(after.staleReads, 0);
    });
  });
}
