/**
 * DynamoDB slow, flaky or gone: a proxy between the store and DynamoDB Local
 * decides the fate of each request. Requests fail with a named, retryable
 * error within the configured time-out; nothing crashes, no promise goes
 * unhandled, no item is left half-written or corrupt; and after recovery every
 * session written before the fault reads back intact.
 */
import { contextOf } from '../src/store/session-store.js';
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { SessionStore } from '../src/store/session-store.js';
import { StoreUnavailableError } from '../src/errors.js';
import { readItem } from '../src/core/item.js';
import { startDynamoDBLocal, freePort } from '../src/embedded/dynamodb-local.js';
import { localOptions, ENGINES, uniqueTable } from './helpers/dynamo.js';
import { startFaultProxy, type FaultProxy } from './helpers/fault-proxy.js';

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
process.on('unhandledRejection', onUnhandled);
after(() => process.off('unhandledRejection', onUnhandled));

/** The item as stored, decoded the way the store decodes it: throws if it is corrupt. */
async function storedItem(store: SessionStore, id: string) {
  const out = await store.client.send(new GetItemCommand({ TableName: store.config.table, Key: { sessionId: { S: store.keyOf(id) } }, ConsistentRead: true }));
  if (!out.Item) return undefined;
  const item = readItem(out.Item as never);
  return { version: item.version, data: contextOf(store).codec.parse(contextOf(store).codec.unframe(item.data)) };
}

for (const engine of ENGINES) {
  describe(`${engine.name}: faults between the store and it`, { timeout: 120_000 }, () => {
    let proxy: FaultProxy;
    const table = uniqueTable('faults');
    let reference: SessionStore;

    before(async () => {
      proxy = await startFaultProxy(Number(new URL(engine.endpoint).port));
      reference = new SessionStore(localOptions({ endpoint: engine.endpoint, table }));
      await reference.ready();
    });
    after(async () => {
      await reference.close();
      await proxy.close();
    });

    const through = (extra: Parameters<typeof localOptions>[0] = {}) => new SessionStore(localOptions({ table, endpoint: proxy.endpoint, skipTableCheck: true, ...extra }));

    it('throttling (ProvisionedThroughputExceeded) is retried by the SDK up to maxAttempts, then succeeds', async () => {
      await reference.set('throttled', { n: 1 });
      const store = through({ maxAttempts: 4 });
      const before = proxy.count('GetItem');
      proxy.inject('throttle', 3, 'GetItem');
      assert.deepEqual(await store.get('throttled'), { n: 1 });
      assert.equal(proxy.count('GetItem') - before, 4, 'three throttled attempts, then the one that answered');
      await store.close();
    });

    it('throttling past maxAttempts is a StoreUnavailableError, and the session is untouched', async () => {
      const store = through({ maxAttempts: 2 });
      const loaded = await store.load('throttled');
      proxy.inject('throttle', 2, 'UpdateItem');
      await assert.rejects(store.commit(loaded!.handle, 'throttled', { n: 2 }), StoreUnavailableError);
      assert.deepEqual((await storedItem(reference, 'throttled'))?.data, { n: 1 });
      await store.close();
    });

    it('a request DynamoDB never answers fails within requestTimeoutMs with StoreUnavailableError', async () => {
      await reference.set('hang', { n: 1 });
      const store = through({ maxAttempts: 1, requestTimeoutMs: 500 });
      proxy.inject('hang', 1, 'GetItem');
      // Without the time-out this would wait for an answer that never comes (the test's own time-out would fail it).
      await assert.rejects(store.load('hang'), (err: unknown) => err instanceof StoreUnavailableError && err.retryable);
      assert.deepEqual(await store.get('hang'), { n: 1 }, 'the next request, answered, reads the session');
      await store.close();
    });

    it('added latency beyond the time-out fails the request; below it, the request succeeds', async () => {
      const store = through({ maxAttempts: 1, requestTimeoutMs: 400 });
      proxy.latency(1500);
      try {
        await assert.rejects(store.get('hang'), StoreUnavailableError);
      } finally {
        proxy.latency(0);
      }
      proxy.latency(50);
      try {
        assert.deepEqual(await store.get('hang'), { n: 1 });
      } finally {
        proxy.latency(0);
      }
      await store.close();
    });

    it('a save cut off mid-request is retried and applied exactly once', async () => {
      await reference.set('cut', { items: ['a'] });
      const store = through({ maxAttempts: 3 });
      const loaded = await store.load('cut');
      const version = loaded!.handle.version;
      proxy.inject('reset-mid-request', 1, 'UpdateItem');
      await store.commit(loaded!.handle, 'cut', { items: ['a', 'b'] });
      const stored = await storedItem(reference, 'cut');
      assert.deepEqual(stored?.data, { items: ['a', 'b'] });
      assert.equal(stored?.version, version + 1);
      await store.close();
    });

    it('a save applied but never acknowledged is retried without duplicating the change', async () => {
      await reference.set('lost-ack', { items: ['a'] });
      const store = through({ maxAttempts: 3 });
      const loaded = await store.load('lost-ack');
      proxy.inject('lose-response', 1, 'UpdateItem');
      await store.commit(loaded!.handle, 'lost-ack', { items: ['a', 'b'] });
      // The retry met its own write (version moved); the merge of a change with itself is that change, once.
      assert.deepEqual((await storedItem(reference, 'lost-ack'))?.data, { items: ['a', 'b'] });
      await store.close();
    });

    it('a save whose answer is lost with no retry left is read before the answer: it landed, so it succeeds (issue 28: never a 503 for a write that landed)', async () => {
      await reference.set('unknown', { v: 'old' });
      const store = through({ maxAttempts: 1 });
      const loaded = await store.load('unknown');
      proxy.inject('lose-response', 1, 'UpdateItem');
      assert.equal(await store.commit(loaded!.handle, 'unknown', { v: 'new' }), 'written');
      const stored = await storedItem(reference, 'unknown');
      assert.deepEqual(stored?.data, { v: 'new' });
      await store.close();
    });

    it('refused connections: disconnect, StoreUnavailableError, then connect and every session intact', async () => {
      const store = through({ maxAttempts: 1, requestTimeoutMs: 1000 });
      for (let i = 0; i < 20; i++) await store.set(`refused-${i}`, { i });
      const disconnected = once(store, 'disconnect');
      proxy.down();
      await assert.rejects(store.get('refused-0'), StoreUnavailableError);
      await assert.rejects(store.set('refused-0', { i: 'lost' }), StoreUnavailableError);
      await disconnected;
      const connected = once(store, 'connect');
      proxy.up();
      await connected;
      for (let i = 0; i < 20; i++) assert.deepEqual(await store.get(`refused-${i}`), { i });
      await store.close();
    });

    it('connections reset at random under a stream of saves: every save either lands or fails cleanly', async () => {
      const store = through({ maxAttempts: 2, requestTimeoutMs: 1000 });
      await store.set('storm', { n: 0 });
      let landed = 0;
      let failed = 0;
      proxy.rule(({ n }) => (n % 3 === 0 ? 'reset-mid-request' : n % 7 === 0 ? 'lose-response' : 'forward'));
      try {
        for (let i = 1; i <= 40; i++) {
          try {
            const loaded = await store.load('storm');
            await store.commit(loaded?.handle, 'storm', { n: i });
            landed += 1;
          } catch (err) {
            assert.ok(err instanceof StoreUnavailableError, String(err));
            failed += 1;
          }
        }
      } finally {
        proxy.rule(undefined);
      }
      assert.ok(landed > 0);
      const stored = await storedItem(reference, 'storm');
      assert.equal(typeof (stored?.data as { n: number }).n, 'number', 'the item decodes');
      assert.equal(landed + failed, 40);
      await store.close();
    });

    it('no promise was left unhandled by any of the above', () => {
      assert.deepEqual(unhandled, []);
    });
  });
}

describe('DynamoDB Local killed and restarted on its persistent -dbPath', { timeout: 180_000 }, () => {
  it('requests fail fast while it is down, and every session written before reads back intact', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dsm-faults-'));
    const port = await freePort();
    let db = await startDynamoDBLocal({ port, dbPath: dir });
    // A persistent DynamoDB Local (SQLite on disk) is slower than the in-memory one: a generous time-out.
    const store = new SessionStore(localOptions({ endpoint: db.endpoint, maxAttempts: 1, requestTimeoutMs: 10_000 }));
    try {
      await store.ready();
      for (let i = 0; i < 50; i++) await store.set(`persist-${i}`, { i, cart: ['x', 'y'] });
      await db.stop();
      await assert.rejects(store.get('persist-0'), StoreUnavailableError);
      await assert.rejects(store.set('persist-1', { changed: true }), StoreUnavailableError);
      db = await startDynamoDBLocal({ port, dbPath: dir });
      for (let i = 0; i < 50; i++) assert.deepEqual(await store.get(`persist-${i}`), { i, cart: ['x', 'y'] });
    } finally {
      await store.close();
      await db.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
