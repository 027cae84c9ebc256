/**
 * The core API used directly, as a custom adapter would: a commit that fails
 * must not keep the session locked. A failure no retry can fix (too large, not
 * serializable) gives the lease and this process's turn back before it throws;
 * after one a retry may fix (DynamoDB unreachable), `release()` gives them back.
 * "Within 1 s" is the other store's whole lock-wait budget (maxLockWaitMs), with
 * a lease of 30 s: without the release it could only time out.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { SessionStore } from '../src/store/session-store.js';
import { SessionSerializationError, SessionTooLargeError, StoreUnavailableError } from '../src/errors.js';
import { ENDPOINT, localOptions, uniqueTable } from './helpers/dynamo.js';
import { startFaultProxy, type FaultProxy } from './helpers/fault-proxy.js';

const locking = { locking: 'pessimistic' as const, lockLeaseMs: 30_000, maxLockWaitMs: 1000 };

describe('a failed commit does not keep the lease', () => {
  const table = uniqueTable('commitfail');
  let a: SessionStore;
  let b: SessionStore;
  before(async () => {
    // Sessions past 400 KB are stored in chunks (test/large-sessions.test.ts): "too large" is past maxSessionBytes.
    a = new SessionStore(localOptions({ ...locking, table, maxSessionBytes: 400 * 1024 }));
    b = new SessionStore(localOptions({ ...locking, table }));
    await a.ready();
  });
  after(async () => {
    await a.close();
    await b.close();
  });

  for (const [why, data, type] of [
    ['too large', () => ({ blob: randomBytes(450 * 1024).toString('base64') }), SessionTooLargeError],
    ['not serializable', () => ({ fn: () => 1 }), SessionSerializationError],
  ] as const) {
    it(`a session ${why}: the error is thrown, and another store, and this one, get the lock within 1 s`, async () => {
      const id = `fail-${why.replace(/ /g, '-')}`;
      await a.set(id, { n: 1 });
      const loaded = await a.load(id, { lock: true });
      assert.ok(loaded?.handle.lease);
      await assert.rejects(a.commit(loaded.handle, id, data()), type);
      const other = await b.load(id, { lock: true });
      assert.ok(other?.handle.lease, 'the other store got the lease');
      await b.release(other.handle);
      const again = await a.load(id, { lock: true });
      assert.ok(again?.handle.lease, "this store's own queue let it through");
      await a.commit(again.handle, id, { n: 2 });
      assert.deepEqual(await b.get(id), { n: 2 });
    });
  }
});

describe('a commit that fails because DynamoDB is unreachable', () => {
  let proxy: FaultProxy;
  const table = uniqueTable('commitout');
  let a: SessionStore;
  let b: SessionStore;
  before(async () => {
    proxy = await startFaultProxy(Number(new URL(ENDPOINT).port));
    a = new SessionStore(localOptions({ ...locking, table, endpoint: proxy.endpoint, requestTimeoutMs: 1000 }));
    b = new SessionStore(localOptions({ ...locking, table }));
    await b.ready();
  });
  after(async () => {
    proxy.up();
    await a.close();
    await b.close();
    await proxy.close();
  });

  it('leaves the handle to release(): once DynamoDB answers, release() frees the lock for another store within 1 s, and for this one', async () => {
    await b.set('outage', { n: 1 });
    const loaded = await a.load('outage', { lock: true });
    assert.ok(loaded?.handle.lease);
    proxy.down();
    await assert.rejects(a.commit(loaded.handle, 'outage', { n: 2 }), StoreUnavailableError);
    proxy.up();
    assert.equal(loaded.handle.settled, false, 'still open: release() has work to do');
    await a.release(loaded.handle);
    const other = await b.load('outage', { lock: true });
    assert.ok(other?.handle.lease, 'the other store got the lease');
    await b.commit(other.handle, 'outage', { n: 3 });
    const again = await a.load('outage', { lock: true });
    assert.ok(again?.handle.lease, "this store's own queue let it through");
    await a.release(again.handle);
    assert.deepEqual(await b.get('outage'), { n: 3 });
  });
});
