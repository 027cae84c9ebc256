import { contextOf } from '../src/store/session-store.js';
import { allSessions, clearTable, liveKeys } from '../src/core/table-scan.js';
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { CreateTableCommand, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { createTableInput } from '../src/table/schema.js';
import { SessionStore } from '../src/store/session-store.js';
import { localOptions } from './helpers/dynamo.js';

const DAY = 86_400_000;

async function rawItem(store: SessionStore, id: string) {
  const out = await store.client.send(new GetItemCommand({ TableName: store.config.table, Key: { sessionId: { S: id } }, ConsistentRead: true }));
  return out.Item;
}

const callCount = (store: SessionStore) => Object.values(store.stats().calls).reduce((a, b) => a + b, 0);

describe('SessionStore core', () => {
  let store: SessionStore;
  before(async () => {
    store = new SessionStore(localOptions());
    await store.ready();
  });
  after(() => store.close());

  it('a missing session reads as null after one GetItem', async () => {
    const before = store.stats().calls.GetItem ?? 0;
    assert.equal(await store.get('no-such-session'), null);
    assert.equal((store.stats().calls.GetItem ?? 0) - before, 1);
  });

  it('a saved session reads back, stored as the item schema says', async () => {
    const expires = Date.now() + DAY;
    await store.set('s-schema', { user: 'ada', cart: [1, 2] }, { expires });
    assert.deepEqual(await store.get('s-schema'), { user: 'ada', cart: [1, 2] });
    const item = await rawItem(store, 's-schema');
    assert.ok(item);
    assert.equal(item.sessionId?.S, 's-schema');
    assert.ok(item.data?.B instanceof Uint8Array);
    assert.equal(item.version?.N, '1');
    assert.equal(item.expiresAt?.N, String(Math.ceil(expires / 1000)));
    assert.ok(Number(item.createdAt?.N) > Date.now() - 60_000);
    assert.ok(Number(item.updatedAt?.N) >= Number(item.createdAt?.N));
    assert.equal(item.lockOwner, undefined);
  });

  it('an expired item is never returned, even before TTL deletes it', async () => {
    // A table without TTL: DynamoDB Local's own TTL may delete the item within a second, and the point is the item still there.
    const noTtl = new SessionStore({ ...localOptions(), skipTableCheck: true });
    await noTtl.client.send(new CreateTableCommand(createTableInput({ ...noTtl.config, billingMode: 'PAY_PER_REQUEST' })));
    try {
      await noTtl.set('s-expired', { a: 1 }, { expires: Date.now() - 1000 });
      assert.ok(await rawItem(noTtl, 's-expired'), 'the item is still in the table');
      assert.equal(await noTtl.get('s-expired'), null);
      assert.equal(await noTtl.load('s-expired'), null);
    } finally {
      await noTtl.close();
    }
  });

  it('without a cookie expiry a session lives for ttl (1 day by default)', async () => {
    await store.set('s-ttl', { a: 1 });
    const item = await rawItem(store, 's-ttl');
    const expected = Math.floor(Date.now() / 1000) + 86_400;
    assert.ok(Math.abs(Number(item?.expiresAt?.N) - expected) <= 2, `expiresAt ${item?.expiresAt?.N} vs ${expected}`);
  });

  it('a read-only request costs one GetItem and no write', async () => {
    const expires = Date.now() + DAY;
    await store.set('s-read', { n: 1 }, { expires });
    const calls = callCount(store);
    const loaded = await store.load('s-read');
    assert.ok(loaded);
    assert.equal(await store.commit(loaded.handle, 's-read', { n: 1 }, { expires: expires + 60_000 }), 'unchanged');
    assert.equal(callCount(store) - calls, 1);
  });

  it('an unchanged session refreshes its expiry only once the refresh is due (touchAfter)', async () => {
    const expires = Date.now() + DAY;
    await store.set('s-touch', { n: 1 }, { expires });
    const loaded = await store.load('s-touch');
    assert.ok(loaded);
    // Moving the expiry by more than a tenth of the lifetime is due.
    const later = expires + DAY / 5;
    assert.equal(await store.touch(loaded.handle, 's-touch', { expires: later }), 'touched');
    assert.equal((await rawItem(store, 's-touch'))?.expiresAt?.N, String(Math.ceil(later / 1000)));
    assert.equal((await rawItem(store, 's-touch'))?.version?.N, '1', 'a touch is not a data write');
  });

  it('touchAfter as a number of seconds sets the refresh threshold', async () => {
    const eager = new SessionStore({ ...localOptions(), table: store.config.table, touchAfter: 0 });
    const expires = Date.now() + DAY;
    await eager.set('s-touch0', { n: 1 }, { expires });
    const loaded = await eager.load('s-touch0');
    assert.ok(loaded);
    assert.equal(await eager.touch(loaded.handle, 's-touch0', { expires: expires + 2000 }), 'touched');
    // 0 writes any later expiry, as express-session's MemoryStore keeps every one: 100 ms later is a write too.
    const again = await eager.load('s-touch0');
    assert.equal(await eager.touch(again!.handle, 's-touch0', { expires: expires + 2100 }), 'touched');
    assert.equal((await eager.load('s-touch0'))!.handle.expiresAtMs, expires + 2100);
    await eager.close();
  });

  it('every save is conditional on the version loaded and increments it', async () => {
    await store.set('s-version', { n: 0 });
    const a = await store.load('s-version');
    assert.ok(a);
    assert.equal(a.handle.version, 1);
    await store.commit(a.handle, 's-version', { n: 1 });
    assert.equal((await rawItem(store, 's-version'))?.version?.N, '2');
    const b = await store.load('s-version');
    assert.ok(b);
    assert.equal(b.handle.version, 2);
  });

  it('all, ids and length list live sessions only; clear empties the table', async () => {
    const other = new SessionStore(localOptions());
    await other.set('live-1', { a: 1 });
    await other.set('live-2', { b: 2 });
    await other.set('dead-1', { c: 3 }, { expires: Date.now() - 5000 });
    assert.deepEqual(await allSessions(contextOf(other)), { 'live-1': { a: 1 }, 'live-2': { b: 2 } });
    assert.deepEqual((await liveKeys(contextOf(other))).sort(), ['live-1', 'live-2']);
    assert.equal((await liveKeys(contextOf(other))).length, 2);
    await clearTable(contextOf(other));
    assert.equal((await liveKeys(contextOf(other))).length, 0);
    assert.equal(await rawItem(other, 'dead-1'), undefined, 'clear deletes expired items too');
    await other.close();
  });

  it('all() pages through more than one Scan page', async () => {
    const other = new SessionStore(localOptions());
    // Incompressible, so each item stays ~40 KB and 45 of them pass the 1 MB page.
    const big = () => randomBytes(30_000).toString('base64');
    for (let i = 0; i < 45; i++) await other.set(`page-${i}`, { big: big(), i });
    const before = other.stats().calls.Scan ?? 0;
    const all = await allSessions(contextOf(other));
    assert.equal(Object.keys(all).length, 45);
    assert.ok((other.stats().calls.Scan ?? 0) - before >= 2, 'a 1 MB page limit forces several Scans');
    await clearTable(contextOf(other));
    await other.close();
  });

  it('hashSessionIds stores an HMAC, not the id, and still finds the session', async () => {
    const hashed = new SessionStore({ ...localOptions(), table: store.config.table, hashSessionIds: 'a-secret-of-enough-length' });
    await hashed.set('raw-id-123', { a: 1 });
    assert.equal(await rawItem(hashed, 'raw-id-123'), undefined);
    assert.deepEqual(await hashed.get('raw-id-123'), { a: 1 });
    await hashed.close();
  });

  it('an item written by another tool with a foreign shape reads as no session, not a crash', async () => {
    await store.client.send(
      new PutItemCommand({ TableName: store.config.table, Item: { sessionId: { S: 'tomcat-made' }, data: { S: 'not binary' } } }),
    );
    assert.equal(await store.get('tomcat-made'), null);
  });

  it('a second save with nothing new costs no write', async () => {
    await store.set('twice-same', { a: 1 });
    const mine = await store.load('twice-same');
    await store.commit(mine!.handle, 'twice-same', { a: 2 });
    const before = store.stats().calls.UpdateItem ?? 0;
    assert.equal(await store.commit(mine!.handle, 'twice-same', { a: 2 }), 'unchanged');
    assert.equal((store.stats().calls.UpdateItem ?? 0) - before, 0);
  });

  it('a session this process decoded or wrote is not inflated again while its writeId is unchanged, and a write elsewhere is seen', async () => {
    const other = new SessionStore({ ...localOptions(), table: store.config.table });
    await store.set('cached', { big: 'x'.repeat(3000) });
    const mine = await store.load('cached');
    const hits = store.stats().decodeCacheHits;
    assert.deepEqual((await store.load('cached'))?.data, { big: 'x'.repeat(3000) });
    assert.equal(store.stats().decodeCacheHits - hits, 1);
    const theirs = await other.load('cached');
    await other.commit(theirs!.handle, 'cached', { big: 'y'.repeat(3000) });
    assert.deepEqual((await store.load('cached'))?.data, { big: 'y'.repeat(3000) }, 'a new writeId: decoded afresh');
    assert.equal(store.stats().decodeCacheHits - hits, 1);
    await store.release(mine!.handle);
    await other.close();
  });

  it('lockWaits counts a locked load queued behind another request of the process, not one the event loop merely delayed', async () => {
    await store.set('waits', { a: 1 });
    const busy = () => {
      const until = Date.now() + 20;
      while (Date.now() < until);
    };
    const waits = store.stats().lockWaits;
    // The busy turn runs after the load's clock starts and before its free turn in the queue resolves.
    queueMicrotask(busy);
    const free = await store.load('waits', { lock: true });
    assert.equal(store.stats().lockWaits - waits, 0, 'a free turn is no wait, however late the loop hands it over');
    const behind = store.load('waits', { lock: true });
    await new Promise((r) => setTimeout(r, 30));
    await store.release(free!.handle);
    await store.release((await behind)!.handle);
    assert.equal(store.stats().lockWaits - waits, 1);
  });
});

describe('consumed capacity in stats', () => {
  it('is asked for and counted only with returnConsumedCapacity: a read of a small session is 1 RCU, its save 1 WCU', async () => {
    const counted = new SessionStore(localOptions({ returnConsumedCapacity: true }));
    const plain = new SessionStore(localOptions({ table: counted.config.table }));
    await counted.ready();
    await plain.ready();
    let seen: unknown[] = [];
    // What each store actually sent: the request's ReturnConsumedCapacity.
    for (const s of [counted, plain]) {
      s.client.middlewareStack.add((next, context) => async (args) => {
        seen.push([context.commandName, (args.input as { ReturnConsumedCapacity?: string }).ReturnConsumedCapacity]);
        return next(args);
      }, { step: 'initialize', name: `spy-${seen.length}` });
    }
    seen = [];
    await counted.set('rcc-1', { a: 1 });
    await counted.get('rcc-1');
    assert.deepEqual(seen, [['UpdateItemCommand', 'TOTAL'], ['GetItemCommand', 'TOTAL']]);
    assert.equal(counted.stats().writeCapacityUnits, 1);
    assert.equal(counted.stats().readCapacityUnits, 1);
    seen = [];
    await plain.set('rcc-2', { a: 1 });
    assert.deepEqual(await plain.get('rcc-2'), { a: 1 });
    assert.deepEqual(seen, [['UpdateItemCommand', undefined], ['GetItemCommand', undefined]]);
    assert.equal(plain.stats().readCapacityUnits, 0);
    assert.equal(plain.stats().writeCapacityUnits, 0);
    await counted.close();
    await plain.close();
  });
});
