/**
 * Every write is safe to retry: a write whose answer is lost after it landed
 * (the connection reset, a time-out the SDK retries) is recognised as this
 * write's own when its retry meets it, even after another request has
 * written on top; a lease is never waited on by its own holder; an outcome
 * left unknown when the attempts run out is read before the answer; a
 * transaction carries one ClientRequestToken through its retries. One test
 * per write kind, its answer dropped, on both engines.
 */
import { contextOf } from '../src/store/session-store.js';
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { SessionStore } from '../src/store/session-store.js';
import { SaveOutcomeUnknownError, StoreUnavailableError } from '../src/errors.js';
import { WRITES_MAX } from '../src/core/write-history.js';
import { readItem } from '../src/core/item.js';
import { localOptions, ENGINES, quietLogger, uniqueTable } from './helpers/dynamo.js';
import { startFaultProxy, type FaultProxy } from './helpers/fault-proxy.js';
import type { SessionStoreOptions } from '../src/config/options.js';
import { webSessions } from '../src/adapters/web.js';

/** The item as stored, decoded the way the store decodes it. */
async function stored(store: SessionStore, id: string) {
  const out = await store.client.send(new GetItemCommand({ TableName: store.config.table, Key: { sessionId: { S: store.keyOf(id) } }, ConsistentRead: true }));
  if (!out.Item) return undefined;
  const item = readItem(out.Item as never);
  return { version: item.version, lockOwner: item.lockOwner, expiresAtMs: item.expiresAtMs, data: contextOf(store).codec.parse(contextOf(store).codec.unframe(item.data)) as Record<string, unknown> };
}

/** A gate for a held request: `open()` lets it through. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** Resolves once the proxy has seen `n` requests of `operation` in all. */
async function seen(proxy: FaultProxy, operation: string, n: number): Promise<void> {
  for (let i = 0; i < 500 && proxy.count(operation) < n; i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(proxy.count(operation) >= n, `the proxy saw ${proxy.count(operation)} ${operation} requests, waited for ${n}`);
}

for (const engine of ENGINES) {
  describe(`${engine.name}: a write whose answer was lost is applied once`, { timeout: 120_000 }, () => {
    let proxy: FaultProxy;
    const table = uniqueTable('retries');
    let direct: SessionStore;
    const stores: SessionStore[] = [];

    before(async () => {
      proxy = await startFaultProxy(Number(new URL(engine.endpoint).port));
      direct = new SessionStore(localOptions({ endpoint: engine.endpoint, table }));
      await direct.ready();
    });
    after(async () => {
      await Promise.all(stores.map((s) => s.close()));
      await direct.close();
      await proxy.close();
    });

    /** A store whose calls pass the proxy; `maxAttempts` 3 (the default), and a long lease so that waiting for its own would show. */
    const through = (extra: SessionStoreOptions = {}) => {
      const store = new SessionStore(localOptions({ table, endpoint: proxy.endpoint, skipTableCheck: true, lockLeaseMs: 60_000, maxLockWaitMs: 3_000, ...extra }));
      stores.push(store);
      return store;
    };
    /** Another server's store, straight to the engine. */
    const other = (extra: SessionStoreOptions = {}) => {
      const store = new SessionStore(localOptions({ table, endpoint: engine.endpoint, skipTableCheck: true, ...extra }));
      stores.push(store);
      return store;
    };

    /**
     * The save's answer is lost and its retry kept back while another server
     * appends on top; the retry must find its own write under the other's.
     */
    async function saveLostThenOverwritten(id: string, mine: SessionStore, theirs: SessionStore) {
      await direct.set(id, { list: [1] });
      const loaded = await mine.load(id, { method: 'POST' });
      const retry = gate();
      const before = proxy.count('UpdateItem');
      proxy.inject('lose-response', 1, 'UpdateItem');
      proxy.inject('hold', 1, 'UpdateItem', retry.promise);
      const saving = mine.commit(loaded!.handle, id, { list: [1, 2] });
      await seen(proxy, 'UpdateItem', before + 2);
      const next = await theirs.load(id, { method: 'POST' });
      assert.deepEqual(next!.data, { list: [1, 2] }, 'the lost answer\'s write had landed');
      assert.equal(await theirs.commit(next!.handle, id, { list: [1, 2, 3] }), 'written');
      retry.open();
      const outcome = await saving;
      assert.deepEqual((await stored(direct, id))?.data, { list: [1, 2, 3] }, 'nothing applied twice');
      assert.equal(outcome, 'written', 'its own write, not a merge');
    }

    it('a leased save (pessimistic) found under a later write is its own, not merged again', async () => {
      await saveLostThenOverwritten('leased-save', through({ locking: 'pessimistic' }), other({ locking: 'pessimistic' }));
    });

    it('a versioned save (optimistic) found under a later write is its own, not merged again', async () => {
      await saveLostThenOverwritten('versioned-save', through({ locking: 'optimistic' }), other({ locking: 'optimistic' }));
    });

    it('a save under the default auto locking (a POST) found under a later write is its own', async () => {
      await saveLostThenOverwritten('auto-save', through(), other());
    });

    /** The save's answer is lost and its retry held while `writes` saves of another server land on top: how the save ends. */
    async function saveUnderLaterWrites(id: string, writes: number): Promise<unknown> {
      await direct.set(id, { list: [1] });
      const mine = through({ locking: 'optimistic' });
      const theirs = other({ locking: 'optimistic' });
      const loaded = await mine.load(id);
      const retry = gate();
      const before = proxy.count('UpdateItem');
      proxy.inject('lose-response', 1, 'UpdateItem');
      proxy.inject('hold', 1, 'UpdateItem', retry.promise);
      const saving = mine.commit(loaded!.handle, id, { list: [1, 2] }).catch((err: unknown) => err);
      await seen(proxy, 'UpdateItem', before + 2);
      for (let n = 3; n < 3 + writes; n++) {
        const next = await theirs.load(id);
        await theirs.commit(next!.handle, id, { list: [...(next!.data.list as number[]), n] });
      }
      retry.open();
      const outcome = await saving;
      assert.deepEqual((await stored(direct, id))?.data, { list: Array.from({ length: writes + 2 }, (_, i) => i + 1) }, 'nothing applied twice');
      return outcome;
    }

    it('a save whose answer was lost, under six later writes made while its retry waited, is still found by its own id: written once', async () => {
      assert.equal(await saveUnderLaterWrites('recent-writes', 6), 'written');
      const item = await direct.client.send(new GetItemCommand({ TableName: table, Key: { sessionId: { S: 'recent-writes' } }, ConsistentRead: true }));
      assert.equal(item.Item?.writeIds?.L?.length, 8, 'the item remembers every write of the last 30 s (here 8: the first, this save, six others), beyond the newest five');
    });

    it(`a save whose answer was lost, pushed out of the item's memory by ${WRITES_MAX} later writes, is a SaveOutcomeUnknownError: never merged again, never called saved`, async () => {
      const outcome = await saveUnderLaterWrites('unknown-outcome', WRITES_MAX);
      assert.ok(outcome instanceof SaveOutcomeUnknownError, String(outcome));
      assert.ok(outcome instanceof StoreUnavailableError, 'answered 503 as any outage');
      assert.equal(outcome.code, 'DSM_OUTCOME_UNKNOWN');
      const item = await direct.client.send(new GetItemCommand({ TableName: table, Key: { sessionId: { S: 'unknown-outcome' } }, ConsistentRead: true }));
      assert.equal(item.Item?.writeIds?.L?.length, WRITES_MAX, `the item remembers ${WRITES_MAX} writes, no more`);
    });

    it('a save whose answer was lost and whose settling reads all go unanswered is a SaveOutcomeUnknownError (it may have landed), not a plain 503', async () => {
      await direct.set('settle-silent', { list: [1] });
      const store = through({ locking: 'optimistic', maxAttempts: 1, requestTimeoutMs: 300 });
      proxy.stallFor(1_000);
      const loaded = await store.load('settle-silent');
      proxy.inject('lose-response', 1, 'UpdateItem');
      proxy.inject('stall', 5, 'GetItem');
      await assert.rejects(store.commit(loaded!.handle, 'settle-silent', { list: [1, 2] }), (err: unknown) => err instanceof SaveOutcomeUnknownError && err.code === 'DSM_OUTCOME_UNKNOWN');
      assert.deepEqual((await stored(direct, 'settle-silent'))?.data, { list: [1, 2] }, 'it had landed');
    });

    it('a save refused at the connection (nothing listening) is a plain StoreUnavailableError: nothing was sent, nothing stored', async () => {
      await direct.set('save-down', { list: [1] });
      const gone = await startFaultProxy(Number(new URL(engine.endpoint).port));
      const store = new SessionStore(localOptions({ table, endpoint: gone.endpoint, skipTableCheck: true, locking: 'optimistic', maxAttempts: 2 }));
      stores.push(store);
      const loaded = await store.load('save-down');
      // Its port closed: every connection is refused.
      await gone.close();
      await assert.rejects(store.commit(loaded!.handle, 'save-down', { list: [1, 2] }), (err: unknown) => err instanceof StoreUnavailableError && !(err instanceof SaveOutcomeUnknownError) && err.code === 'DSM_STORE_UNAVAILABLE');
      assert.deepEqual((await stored(direct, 'save-down'))?.data, { list: [1] });
    });

    it('a lease whose answer was lost is found to be this request\'s own on the retry: no wait for it', async () => {
      await direct.set('lease-take', { n: 1 });
      const store = through({ locking: 'pessimistic' });
      proxy.inject('lose-response', 1, 'UpdateItem');
      // Waiting for its own lease would end in a LockTimeoutError after maxLockWaitMs (3 s), long before the lease (60 s) ran out.
      const loaded = await store.load('lease-take');
      assert.deepEqual(loaded!.data, { n: 1 });
      assert.ok(loaded!.handle.lease, 'the lease is held');
      assert.equal((await stored(direct, 'lease-take'))?.lockOwner, loaded!.handle.lease!.owner);
      assert.equal(store.stats().lockTimeouts, 0);
      assert.equal(await store.commit(loaded!.handle, 'lease-take', { n: 2 }), 'written');
      const after = await stored(direct, 'lease-take');
      assert.deepEqual(after?.data, { n: 2 });
      assert.equal(after?.lockOwner, undefined, 'given back with the save');
    });

    it('a lease taken on the last attempt whose answer was lost is read before the answer: the request goes on', async () => {
      await direct.set('lease-unknown', { n: 1 });
      const store = through({ locking: 'pessimistic', maxAttempts: 1 });
      proxy.inject('lose-response', 1, 'UpdateItem');
      const loaded = await store.load('lease-unknown');
      assert.ok(loaded?.handle.lease, 'the lease landed, so the load succeeds');
      assert.equal((await stored(direct, 'lease-unknown'))?.lockOwner, loaded!.handle.lease!.owner);
      await store.release(loaded!.handle);
      assert.equal((await stored(direct, 'lease-unknown'))?.lockOwner, undefined);
    });

    it('a lease renewal whose answer was lost keeps the lease: the save is fenced, not merged', async () => {
      await direct.set('renew', { n: 1 });
      const store = through({ locking: 'pessimistic', lockLeaseMs: 600 });
      const loaded = await store.load('renew');
      proxy.inject('lose-response', 1, 'UpdateItem');
      // Two renewals at least (every 200 ms): the first's answer lost.
      await new Promise((r) => setTimeout(r, 700));
      assert.equal(loaded!.handle.lease!.lost, false);
      assert.equal(await store.commit(loaded!.handle, 'renew', { n: 2 }), 'written');
      assert.deepEqual((await stored(direct, 'renew'))?.data, { n: 2 });
    });

    it('a release whose answer was lost leaves no lease behind: the next request takes it at once', async () => {
      await direct.set('release', { n: 1 });
      const store = through({ locking: 'pessimistic' });
      const loaded = await store.load('release');
      proxy.inject('lose-response', 1, 'UpdateItem');
      await store.release(loaded!.handle);
      assert.equal((await stored(direct, 'release'))?.lockOwner, undefined);
      const next = await other({ locking: 'pessimistic', lockLeaseMs: 60_000, maxLockWaitMs: 1_000 }).load('release');
      assert.ok(next?.handle.lease);
    });

    it('a touch whose answer was lost moves the expiry once and reports it touched', async () => {
      await direct.set('touch', { n: 1 }, { expires: Date.now() + 60_000 });
      const store = through({ locking: 'optimistic', touchAfter: 0 });
      const loaded = await store.load('touch');
      const expires = Date.now() + 600_000;
      proxy.inject('lose-response', 1, 'UpdateItem');
      assert.equal(await store.touch(loaded!.handle, 'touch', { expires }), 'touched');
      assert.equal((await stored(direct, 'touch'))?.expiresAtMs, expires);
    });

    it('a touch on the last attempt whose answer was lost is read before the answer: touched, not a 503', async () => {
      await direct.set('touch-unknown', { n: 1 }, { expires: Date.now() + 60_000 });
      const store = through({ locking: 'optimistic', touchAfter: 0, maxAttempts: 1 });
      const loaded = await store.load('touch-unknown');
      const expires = Date.now() + 600_000;
      proxy.inject('lose-response', 1, 'UpdateItem');
      assert.equal(await store.touch(loaded!.handle, 'touch-unknown', { expires }), 'touched');
      assert.equal((await stored(direct, 'touch-unknown'))?.expiresAtMs, expires);
    });

    it('a destroy whose answer was lost is announced once, and the session stays gone', async () => {
      await direct.set('destroy', { user: 'alice' }, { userId: 'alice' });
      const store = through();
      const loaded = await store.load('destroy', { method: 'POST' });
      const events: unknown[] = [];
      store.on('destroyed', (e) => events.push(e));
      proxy.inject('lose-response', 1, 'DeleteItem');
      await store.destroy('destroy', loaded!.handle);
      assert.equal(await stored(direct, 'destroy'), undefined);
      assert.equal(events.length, 1, 'one destroyed event');
      assert.equal((events[0] as { userId?: string }).userId, 'alice');
    });

    it('a save on the last attempt whose answer was lost is read before the answer: written, not a 503', async () => {
      await direct.set('save-unknown', { list: [1] });
      const store = through({ locking: 'pessimistic', maxAttempts: 1 });
      const loaded = await store.load('save-unknown');
      proxy.inject('lose-response', 1, 'UpdateItem');
      assert.equal(await store.commit(loaded!.handle, 'save-unknown', { list: [1, 2] }), 'written');
      assert.deepEqual((await stored(direct, 'save-unknown'))?.data, { list: [1, 2] });
    });

    it('a save whose answer was lost, and whose settling reads go unanswered twice, is read again before the answer: written, not a 503', async () => {
      await direct.set('settle-again', { list: [1] });
      const store = through({ locking: 'optimistic', maxAttempts: 1, requestTimeoutMs: 300 });
      proxy.stallFor(1_000);
      const loaded = await store.load('settle-again');
      proxy.inject('lose-response', 1, 'UpdateItem');
      proxy.inject('stall', 2, 'GetItem');
      assert.equal(await store.commit(loaded!.handle, 'settle-again', { list: [1, 2] }), 'written');
      assert.deepEqual((await stored(direct, 'settle-again'))?.data, { list: [1, 2] });
    });

    it('a save whose answer was lost, whose retry fails its condition and whose reads of the item go unanswered twice, is its own: written once', async () => {
      await direct.set('settle-failed-condition', { list: [1] });
      const store = through({ locking: 'optimistic', maxAttempts: 2, requestTimeoutMs: 300 });
      proxy.stallFor(1_000);
      const loaded = await store.load('settle-failed-condition');
      proxy.inject('lose-response', 1, 'UpdateItem');
      // The retry meets the landed write; an engine that returns no item with the failure is read (twice unanswered).
      proxy.inject('stall', 2, 'GetItem');
      assert.equal(await store.commit(loaded!.handle, 'settle-failed-condition', { list: [1, 2] }), 'written');
      assert.deepEqual((await stored(direct, 'settle-failed-condition'))?.data, { list: [1, 2] });
    });

    it('a save answered too late (past requestTimeoutMs) is found by its retry, once', async () => {
      await direct.set('save-stall', { list: [1] });
      const store = through({ locking: 'optimistic', requestTimeoutMs: 300 });
      proxy.stallFor(1_000);
      const loaded = await store.load('save-stall');
      proxy.inject('stall', 1, 'UpdateItem');
      assert.equal(await store.commit(loaded!.handle, 'save-stall', { list: [1, 2] }), 'written');
      assert.deepEqual((await stored(direct, 'save-stall'))?.data, { list: [1, 2] });
    });

    it('a save that never reached DynamoDB on its last attempt is a StoreUnavailableError, the session unchanged', async () => {
      await direct.set('save-refused', { list: [1] });
      const store = through({ locking: 'optimistic', maxAttempts: 1 });
      const loaded = await store.load('save-refused');
      proxy.inject('reset-mid-request', 1, 'UpdateItem');
      await assert.rejects(store.commit(loaded!.handle, 'save-refused', { list: [1, 2] }), StoreUnavailableError);
      assert.deepEqual((await stored(direct, 'save-refused'))?.data, { list: [1] });
    });

    it('a throttled save is retried by the SDK and lands once; refused on every attempt it is a 503 and nothing is written', async () => {
      await direct.set('throttled', { list: [1] });
      const store = through({ locking: 'optimistic', maxAttempts: 3 });
      let loaded = await store.load('throttled');
      proxy.inject('throttling', 2, 'UpdateItem');
      assert.equal(await store.commit(loaded!.handle, 'throttled', { list: [1, 2] }), 'written');
      loaded = await store.load('throttled');
      proxy.inject('throttle', 3, 'UpdateItem');
      await assert.rejects(store.commit(loaded!.handle, 'throttled', { list: [1, 2, 3] }), StoreUnavailableError);
      assert.deepEqual((await stored(direct, 'throttled'))?.data, { list: [1, 2] });
    });

    it('an InternalServerError on every attempt of a save that never landed is a 503, nothing written', async () => {
      await direct.set('internal', { list: [1] });
      const store = through({ locking: 'optimistic', maxAttempts: 2 });
      const loaded = await store.load('internal');
      proxy.inject('internal-error', 2, 'UpdateItem');
      await assert.rejects(store.commit(loaded!.handle, 'internal', { list: [1, 2] }), StoreUnavailableError);
      assert.deepEqual((await stored(direct, 'internal'))?.data, { list: [1] });
    });

    it('a large session: a chunk put whose answer was lost is sent again (the same item), and a head switch whose answer was lost is found by its write id, applied once', async () => {
      const big = 'x'.repeat(500 * 1024);
      const writer = other({ compression: false, maxSessionBytes: 4 * 1024 * 1024 });
      await writer.set('large', { list: [1], big });
      const store = through({ locking: 'pessimistic', compression: false, maxSessionBytes: 4 * 1024 * 1024 });
      const loaded = await store.load('large');
      const version = loaded!.handle.version;
      const before = proxy.requests.length;
      proxy.inject('lose-response', 1, 'PutItem');
      proxy.inject('lose-response', 1, 'UpdateItem');
      assert.equal(await store.commit(loaded!.handle, 'large', { list: [1, 2], big }), 'written');
      const sent = proxy.requests.slice(before);
      assert.equal(sent.filter((r) => r.action === 'lose-response').length, 2, 'a chunk put and the head switch lost their answers');
      assert.equal(sent.filter((r) => r.operation === 'TransactWriteItems').length, 0, 'no transaction');
      assert.deepEqual(((await direct.get('large')) as { list: number[] }).list, [1, 2]);
      const head = await direct.client.send(new GetItemCommand({ TableName: direct.config.table, Key: { sessionId: { S: 'large' } }, ConsistentRead: true }));
      assert.equal(head.Item?.version?.N, String(version + 1), 'one version more: applied once');
    });

    if (engine.name === 'DynamoDB Local') {
      it('a login under maxSessionsPerUser whose transaction answer was lost counts the session once', async () => {
        const store = through({ maxSessionsPerUser: 2, userId: 'user', locking: 'optimistic' });
        for (const id of ['slot-a', 'slot-b']) {
          const handle = store.newHandle(id);
          proxy.inject('lose-response', 1, 'TransactWriteItems');
          assert.equal(await store.commit(handle, id, { user: 'bob' }), 'written');
        }
        const { sessions } = await direct.listUserSessions('bob');
        assert.deepEqual(sessions.map((s) => s.key).sort(), ['slot-a', 'slot-b'].map((id) => direct.handleOf(id)).sort(), 'both logins live: neither evicted the other as a third');
      });
    }
  });
}

describe('a new session never joins an existing one', () => {
  const table = uniqueTable('id_taken');
  const store = new SessionStore(localOptions({ table }));
  after(() => store.close());

  for (const locking of ['auto', 'optimistic', 'pessimistic', 'none'] as const) {
    it(`${locking}: a first write whose id is taken is a SessionIdTakenError, the existing session untouched`, async () => {
      const mine = new SessionStore(localOptions({ table, locking, skipTableCheck: true }));
      try {
        await store.set(`taken-${locking}`, { user: 'alice' });
        const handle = mine.newHandle(`taken-${locking}`);
        await assert.rejects(mine.commit(handle, `taken-${locking}`, { cart: ['x'] }), (err: unknown) => (err as { code?: string }).code === 'DSM_SESSION_ID_TAKEN');
        assert.deepEqual(await store.get(`taken-${locking}`), { user: 'alice' });
      } finally {
        await mine.close();
      }
    });
  }

  it('with maxSessionsPerUser, a login whose new id is taken is refused the same way', async () => {
    const mine = new SessionStore(localOptions({ table, userId: 'user', maxSessionsPerUser: 3, skipTableCheck: true }));
    try {
      await store.set('taken-login', { user: 'alice' });
      await assert.rejects(mine.commit(mine.newHandle('taken-login'), 'taken-login', { user: 'mallory' }), (err: unknown) => (err as { code?: string }).code === 'DSM_SESSION_ID_TAKEN');
      assert.deepEqual(await store.get('taken-login'), { user: 'alice' });
    } finally {
      await mine.close();
    }
  });
});

describe('a lease is not held forever', () => {
  it('past maxLockHoldMs a request\'s lease lapses: another request takes it, and the first one\'s save merges instead of overwriting', async () => {
    const table = uniqueTable('hold_cap');
    const logger = quietLogger();
    const slow = new SessionStore(localOptions({ table, locking: 'pessimistic', lockLeaseMs: 300, maxLockHoldMs: 600, logger }));
    const other = new SessionStore(localOptions({ table, locking: 'pessimistic', lockLeaseMs: 300, maxLockWaitMs: 5_000, skipTableCheck: true }));
    try {
      await slow.set('held', { a: 0, b: 0 });
      const held = await slow.load('held');
      // Without the cap the slow request would renew for ever, and this load would time out after 5 s.
      const next = await other.load('held');
      assert.ok(next?.handle.lease, 'the other request got the lease');
      assert.equal(await other.commit(next!.handle, 'held', { a: 0, b: 1 }), 'written');
      assert.equal(held!.handle.lease!.lost, false, 'the slow request was not told: its save finds out');
      assert.equal(await slow.commit(held!.handle, 'held', { a: 1, b: 0 }), 'merged');
      assert.deepEqual(await other.get('held'), { a: 1, b: 1 });
      assert.match(logger.text(), /maxLockHoldMs/);
    } finally {
      await slow.close();
      await other.close();
    }
  });
});

describe('a new session never joins an existing one, through the Web entry', () => {
  it('its own generator drawing a taken id draws another: the new client gets an empty session of its own', async () => {
    const table = uniqueTable('id_taken_web');
    const web = webSessions({ ...localOptions({ table }), secret: 'a test secret that is at least thirty-two characters long' });
    try {
      await web.sessions.store.set('weak-id', { user: 'alice' });
      const draw = web.sessions.newId.bind(web.sessions);
      let first = true;
      web.sessions.newId = () => (first ? ((first = false), 'weak-id') : draw());
      const res = await web.handle(new Request('http://app.test/cart', { method: 'POST' }), (session) => {
        session.set('cart', ['x']);
        return Response.json({ user: session.get('user') ?? null });
      });
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { user: null });
      const cookie = res.headers.get('set-cookie') ?? '';
      assert.ok(cookie !== '' && !cookie.includes('weak-id'), 'a cookie for another id');
      assert.deepEqual(await web.sessions.store.get('weak-id'), { user: 'alice' }, 'alice\'s session untouched');
    } finally {
      await web.sessions.store.close();
    }
  });

  it('a caller\'s genid that repeats itself is an error the caller sees, never another user\'s session', async () => {
    const table = uniqueTable('id_taken_genid');
    const web = webSessions({ ...localOptions({ table }), secret: 'a test secret that is at least thirty-two characters long', genid: () => 'constant-id' });
    try {
      await web.sessions.store.set('constant-id', { user: 'alice' });
      const attempt = web.handle(new Request('http://app.test/cart', { method: 'POST' }), (session) => {
        session.set('cart', ['x']);
        return Response.json({ user: session.get('user') ?? null });
      });
      await assert.rejects(attempt, (err: unknown) => (err as { code?: string }).code === 'DSM_SESSION_ID_TAKEN');
      assert.deepEqual(await web.sessions.store.get('constant-id'), { user: 'alice' });
    } finally {
      await web.sessions.store.close();
    }
  });
});
