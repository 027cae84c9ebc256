/**
 * The store's promises on every engine of the matrix (test/helpers/dynamo.ts):
 * no acknowledged update lost, a logout sticks, a lease is waited for and never
 * mistaken for a missing session. dynalite, like DynamoDB Local before 2.2,
 * LocalStack and older Alternator releases, answers a failed conditional write
 * without the item it found; the store must then read it, not guess.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { SessionStore } from '../src/store/session-store.js';
import { LockTimeoutError } from '../src/errors.js';
import { runDoctor, type Check } from '../src/cli/doctor.js';
import { ENGINES, localOptions, quietLogger } from './helpers/dynamo.js';

const DAY = 86_400_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function rawItem(store: SessionStore, id: string) {
  const out = await store.client.send(new GetItemCommand({ TableName: store.config.table, Key: { sessionId: { S: id } }, ConsistentRead: true }));
  return out.Item;
}

for (const engine of ENGINES) {
  describe(`${engine.name}: races and logouts`, () => {
    let store: SessionStore;
    /** A second store on the same table: another server. */
    let other: SessionStore;
    before(async () => {
      store = new SessionStore(localOptions({ endpoint: engine.endpoint }));
      await store.ready();
      other = new SessionStore({ ...localOptions({ endpoint: engine.endpoint }), table: store.config.table });
    });
    after(async () => {
      await store.close();
      await other.close();
    });

    it('two requests loaded at one version both keep their changes (the second merges)', async () => {
      await store.set('race', { views: 1 });
      const a = await store.load('race');
      const b = await other.load('race');
      assert.ok(a && b);
      assert.equal(await store.commit(a.handle, 'race', { views: 1, x: 1 }), 'written');
      assert.equal(await other.commit(b.handle, 'race', { views: 1, y: 2 }), 'merged');
      assert.deepEqual(await store.get('race'), { views: 1, x: 1, y: 2 });
      assert.equal((await rawItem(store, 'race'))?.version?.N, '3');
    });

    it('a second save in the same request builds on the first: a concurrent change between them is kept', async () => {
      await store.set('twice', { a: 1 });
      const mine = await store.load('twice');
      assert.equal(await store.commit(mine!.handle, 'twice', { a: 1, first: true }), 'written');
      const theirs = await other.load('twice');
      await other.commit(theirs!.handle, 'twice', { a: 1, first: true, theirs: true });
      assert.equal(await store.commit(mine!.handle, 'twice', { a: 1, first: true, second: true }), 'merged');
      assert.deepEqual(await store.get('twice'), { a: 1, first: true, theirs: true, second: true });
    });

    it('a slower request that saves after a logout does not undo the logout', async () => {
      await store.set('logout', { user: 'ada' });
      const slow = await store.load('logout');
      assert.ok(slow);
      await other.destroy('logout');
      assert.equal(await store.commit(slow.handle, 'logout', { user: 'ada', cart: ['book'] }), 'destroyed');
      assert.equal(await rawItem(store, 'logout'), undefined);
    });

    it('a touch after destroy does not bring the session back, with or without a handle', async () => {
      await store.set('logout-touch', { user: 'ada' });
      const slow = await store.load('logout-touch');
      assert.ok(slow);
      await other.destroy('logout-touch');
      assert.equal(await store.touch(slow.handle, 'logout-touch', { expires: Date.now() + 2 * DAY }), 'destroyed');
      await store.touch(null, 'logout-touch', { expires: Date.now() + 2 * DAY });
      assert.equal(await rawItem(store, 'logout-touch'), undefined);
    });

    it('a save after the session was destroyed in the same request does not bring it back', async () => {
      await store.set('twice-gone', { a: 1 });
      const mine = await store.load('twice-gone');
      await store.commit(mine!.handle, 'twice-gone', { a: 2 });
      await other.destroy('twice-gone');
      assert.equal(await store.commit(mine!.handle, 'twice-gone', { a: 3 }), 'destroyed');
      assert.equal(await rawItem(store, 'twice-gone'), undefined);
    });

    it('an expiry refresh that finds a later expiry stored keeps it, and the session stays', async () => {
      await store.set('later', { a: 1 }, { expires: Date.now() + 3 * DAY });
      const loaded = await store.load('later');
      assert.ok(loaded);
      assert.equal(await store.touch(null, 'later', { expires: Date.now() + DAY }), 'touched');
      assert.ok(await store.get('later'));
    });
  });

  describe(`${engine.name}: pessimistic leases between two servers`, () => {
    let a: SessionStore;
    let b: SessionStore;
    before(async () => {
      a = new SessionStore(localOptions({ endpoint: engine.endpoint, locking: 'pessimistic', maxLockWaitMs: 10_000, lockLeaseMs: 10_000 }));
      await a.ready();
      b = new SessionStore({ ...localOptions({ endpoint: engine.endpoint, locking: 'pessimistic', maxLockWaitMs: 10_000, lockLeaseMs: 10_000 }), table: a.config.table });
    });
    after(async () => {
      await a.close();
      await b.close();
    });

    it('a load while another server holds the lease waits for it, then sees that server\'s write', async () => {
      await a.set('held', { n: 1 });
      const first = await a.load('held');
      assert.ok(first?.handle.lease);
      const waiting = b.load('held');
      await sleep(300);
      assert.equal(await a.commit(first.handle, 'held', { n: 2 }), 'written');
      const second = await waiting;
      assert.ok(second, 'the waiting load got the session, not "no session"');
      assert.deepEqual(second.data, { n: 2 });
      assert.equal(await b.commit(second.handle, 'held', { n: 3 }), 'written');
      assert.deepEqual(await a.get('held'), { n: 3 });
      assert.ok(b.stats().lockWaits >= 1);
    });

    it('a logout made after waiting for the lease ends the real session', async () => {
      await a.set('logout', { user: 'ada' });
      const first = await a.load('logout');
      assert.ok(first);
      const waiting = b.load('logout');
      await sleep(200);
      await a.release(first.handle);
      const second = await waiting;
      assert.ok(second, 'the waiting load got the session');
      await b.destroy('logout', second.handle);
      assert.equal(await rawItem(a, 'logout'), undefined);
      assert.equal(await a.get('logout'), null);
    });

    it('a lease held past maxLockWaitMs is a LockTimeoutError, never a new session', async () => {
      const quick = new SessionStore({ ...localOptions({ endpoint: engine.endpoint, locking: 'pessimistic', maxLockWaitMs: 300, lockLeaseMs: 10_000 }), table: a.config.table });
      try {
        await a.set('busy', { n: 1 });
        const first = await a.load('busy');
        assert.ok(first);
        await assert.rejects(quick.load('busy'), (err: unknown) => err instanceof LockTimeoutError);
        await a.release(first.handle);
      } finally {
        await quick.close();
      }
    });

    it('a lease on a missing session is not taken, and loads as no session', async () => {
      assert.equal(await b.load('never-was'), null);
      assert.equal(await rawItem(b, 'never-was'), undefined);
    });
  });
}

describe('an engine that returns no item with a failed condition (dynalite)', () => {
  const engine = ENGINES.find((e) => !e.traits.returnsItemOnConditionFailure)!;

  it('is learned once per client, named in one warning, and each such failure costs one strongly consistent GetItem', async () => {
    const logger = quietLogger();
    const store = new SessionStore(localOptions({ endpoint: engine.endpoint, logger }));
    try {
      await store.set('learn', { n: 0 });
      for (let i = 1; i <= 3; i++) {
        const x = await store.load('learn');
        const y = await store.load('learn');
        await store.commit(x!.handle, 'learn', { n: 0, [`x${i}`]: i });
        const gets = store.stats().calls.GetItem ?? 0;
        assert.equal(await store.commit(y!.handle, 'learn', { n: 0, [`y${i}`]: i }), 'merged');
        assert.equal((store.stats().calls.GetItem ?? 0) - gets, 1, 'one GetItem read what the failed condition found');
      }
      const warnings = logger.lines.filter((l) => l.level === 'warn' && /no item/i.test(l.msg ?? ''));
      assert.equal(warnings.length, 1, logger.text());
      assert.match(warnings[0]!.msg!, /dynalite/);
      assert.equal(store.engine().returnsItemOnConditionFailure, false);
    } finally {
      await store.close();
    }
  });

  it('the TTL warning names the engine and suggests reapIntervalMs, without blaming IAM', async () => {
    const logger = quietLogger();
    const store = new SessionStore(localOptions({ endpoint: engine.endpoint, logger }));
    try {
      const result = await store.ready();
      assert.equal(result?.ttl, 'UNSUPPORTED');
      const text = logger.text();
      assert.match(text, /dynalite/);
      assert.match(text, /reapIntervalMs/);
      assert.doesNotMatch(text, /IAM|iam-policy/);
    } finally {
      await store.close();
    }
  });

  it('doctor says the engine returns no item with a failed condition, and that the store reads it instead', async () => {
    const store = new SessionStore(localOptions({ endpoint: engine.endpoint }));
    try {
      await store.ready();
      const checks: Check[] = [];
      await runDoctor(store, (c) => checks.push(c));
      const line = checks.find((c) => /failed condition/i.test(c.what));
      assert.ok(line, checks.map((c) => c.what).join('\n'));
      assert.match(line.what, /dynalite/);
      assert.match(line.what, /no item/);
      assert.equal(line.ok, true, 'handled, so not a failure');
    } finally {
      await store.close();
    }
  });
});

describe('an engine that returns the item (DynamoDB Local)', () => {
  const engine = ENGINES.find((e) => e.traits.returnsItemOnConditionFailure)!;

  it('a merge costs no extra read, and doctor says the item is returned', async () => {
    const store = new SessionStore(localOptions({ endpoint: engine.endpoint }));
    try {
      await store.set('direct', { n: 0 });
      const x = await store.load('direct');
      const y = await store.load('direct');
      await store.commit(x!.handle, 'direct', { n: 0, x: 1 });
      const gets = store.stats().calls.GetItem ?? 0;
      assert.equal(await store.commit(y!.handle, 'direct', { n: 0, y: 1 }), 'merged');
      assert.equal((store.stats().calls.GetItem ?? 0) - gets, 0);
      assert.equal(store.engine().returnsItemOnConditionFailure, true);
      const checks: Check[] = [];
      await runDoctor(store, (c) => checks.push(c));
      const line = checks.find((c) => /failed condition/i.test(c.what));
      assert.ok(line?.ok, checks.map((c) => c.what).join('\n'));
      assert.match(line.what, /DynamoDB Local/);
    } finally {
      await store.close();
    }
  });
});
