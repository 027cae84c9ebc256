/**
 * Operations on the whole table: purging expired sessions, the reaper that does
 * it in-process, and revoking a user's sessions. All against DynamoDB Local.
 */
import { liveKeys } from '../src/core/table-scan.js';
import { contextOf } from '../src/store/session-store.js';
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { BatchWriteItemCommand, CreateTableCommand, ScanCommand, UpdateItemCommand, type AttributeValue, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { SessionStore } from '../src/store/session-store.js';
import { purgeExpired, REAPER_KEY } from '../src/core/purge.js';
import { startReaper, type ReaperTick } from '../src/core/reaper.js';
import { destroyUserSessions, listUserSessionKeys } from '../src/core/user-sessions.js';
import { createTableInput } from '../src/table/schema.js';
import { iamPolicy } from '../src/table/iam-policy.js';
import { type SessionStoreOptions } from '../src/config/options.js';
import { resolveConfig } from '../src/config/resolve-config.js';
import { localOptions } from './helpers/dynamo.js';

type Item = Record<string, AttributeValue>;

const nowSec = () => Math.floor(Date.now() / 1000);

/** A table without TTL (so nothing but the code under test deletes), and a store on it. */
async function bareTable(extra: SessionStoreOptions = {}): Promise<SessionStore> {
  const store = new SessionStore(localOptions({ skipTableCheck: true, createIfNotExist: false, ...extra }));
  await store.client.send(new CreateTableCommand(createTableInput({ ...store.config, billingMode: 'PAY_PER_REQUEST' })));
  return store;
}

/** An item shaped as the store writes it (src/core/item.ts). */
function sessionItem(store: SessionStore, key: string, expiresAt: number, extra: Item = {}): Item {
  const now = Date.now();
  return {
    sessionId: { S: key },
    data: { B: contextOf(store).codec.frame(JSON.stringify({ key })) },
    version: { N: '1' },
    expiresAt: { N: String(expiresAt) },
    createdAt: { N: String(now) },
    updatedAt: { N: String(now) },
    ...extra,
  };
}

/** Writes items fast: BatchWriteItem of 25, four batches in flight, unprocessed ones re-sent. */
async function writeItems(store: SessionStore, items: Item[]): Promise<void> {
  const batches: Item[][] = [];
  for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25));
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      let requests: WriteRequest[] = batches[next++]!.map((Item) => ({ PutRequest: { Item } }));
      while (requests.length > 0) {
        const out = await store.client.send(new BatchWriteItemCommand({ RequestItems: { [store.config.table]: requests } }));
        requests = out.UnprocessedItems?.[store.config.table] ?? [];
      }
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
}

async function allKeys(store: SessionStore): Promise<Set<string>> {
  const keys = new Set<string>();
  let start: Item | undefined;
  do {
    const out = await store.client.send(new ScanCommand({ TableName: store.config.table, ProjectionExpression: 'sessionId', ...(start ? { ExclusiveStartKey: start } : {}) }));
    for (const item of out.Items ?? []) keys.add(item.sessionId!.S!);
    start = out.LastEvaluatedKey;
  } while (start);
  return keys;
}

/** Polls until `done()` holds; fails with `what` after `timeoutMs`. */
async function waitFor(what: string, done: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('purgeExpired', () => {
  const stores: SessionStore[] = [];
  after(() => Promise.all(stores.map((s) => s.close())));

  it('on 10,000 items deletes exactly the expired unlocked ones; live sessions and expired ones under a live lease stay', { timeout: 600_000 }, async () => {
    const store = await bareTable();
    stores.push(store);
    const now = nowSec();
    const items: Item[] = [];
    const survivors = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const key = `s${String(i).padStart(5, '0')}`;
      if (i % 2 === 0) {
        items.push(sessionItem(store, key, now + 3600));
        survivors.add(key);
      } else if (i % 50 === 1) {
        // Expired while a request still holds its lease: that request's save decides.
        items.push(sessionItem(store, key, now - 60, { lockOwner: { S: 'busy' }, lockExpiresAt: { N: String(Date.now() + 600_000) } }));
        survivors.add(key);
      } else if (i % 50 === 3) {
        // A lease its holder abandoned long ago does not protect an expired session.
        items.push(sessionItem(store, key, now - 60, { lockOwner: { S: 'crashed' }, lockExpiresAt: { N: String(Date.now() - 600_000) } }));
      } else {
        items.push(sessionItem(store, key, now - 60 - (i % 1000)));
      }
    }
    await writeItems(store, items);
    assert.equal((await allKeys(store)).size, 10_000);

    const progress: number[] = [];
    const result = await purgeExpired(contextOf(store), { segments: 4, onProgress: (p) => progress.push(p.scanned) });
    assert.deepEqual(result, { scanned: 10_000, expired: 5000, deleted: 4800, skipped: 200 });
    assert.ok(progress.length > 1, 'progress is reported as pages come in');
    assert.deepEqual([...(await allKeys(store))].sort(), [...survivors].sort());
    const stats = store.stats();
    assert.equal(stats.calls.DeleteItem, 4800, 'no delete is spent on a session under a live lease');
    assert.ok((stats.calls.Scan ?? 0) >= 4, 'one Scan per segment at least');
  });

  it('a dry run counts what it would delete and deletes nothing', async () => {
    const store = await bareTable();
    stores.push(store);
    const now = nowSec();
    await writeItems(store, [
      ...Array.from({ length: 30 }, (_, i) => sessionItem(store, `old${i}`, now - 10)),
      ...Array.from({ length: 20 }, (_, i) => sessionItem(store, `new${i}`, now + 600)),
    ]);
    const result = await purgeExpired(contextOf(store), { dryRun: true, segments: 2 });
    assert.deepEqual(result, { scanned: 50, expired: 30, deleted: 0, skipped: 0 });
    assert.equal((await allKeys(store)).size, 50);
    assert.equal(store.stats().calls.DeleteItem ?? 0, 0);
  });

  for (const [what, change] of [
    ['renewed by a request', 'SET expiresAt = :later'],
    ['locked by a request', 'SET lockOwner = :owner, lockExpiresAt = :until'],
  ] as const) {
    it(`an expired session ${what} between the Scan and its delete is skipped, not deleted`, async () => {
      const store = await bareTable();
      stores.push(store);
      await writeItems(store, [sessionItem(store, 'racing', nowSec() - 5), sessionItem(store, 'plain', nowSec() - 5)]);
      // Just before the first delete goes out, another server changes that session.
      const send = contextOf(store).gateway.send.bind(contextOf(store).gateway);
      let raced: string | undefined;
      contextOf(store).gateway.send = (async (operation: string, command: { input: { Key?: Item } }, opts?: object) => {
        if (operation === 'DeleteItem' && raced === undefined) {
          raced = command.input.Key!.sessionId!.S!;
          await store.client.send(
            new UpdateItemCommand({
              TableName: store.config.table,
              Key: { sessionId: { S: raced } },
              UpdateExpression: change,
              ExpressionAttributeValues: change.includes(':later')
                ? { ':later': { N: String(nowSec() + 600) } }
                : { ':owner': { S: 'other-server' }, ':until': { N: String(Date.now() + 60_000) } },
            }),
          );
        }
        return send(operation, command as never, opts);
      }) as typeof send;
      const result = await purgeExpired(contextOf(store), { segments: 1, concurrency: 1 });
      assert.deepEqual(result, { scanned: 2, expired: 2, deleted: 1, skipped: 1 });
      assert.deepEqual([...(await allKeys(store))], [raced]);
    });
  }

  it('rejects a non-positive segment count with a ConfigError before any DynamoDB call', async () => {
    const store = await bareTable();
    stores.push(store);
    await assert.rejects(purgeExpired(contextOf(store), { segments: 0 }), { code: 'DSM_CONFIG' });
    assert.equal(store.stats().calls.Scan ?? 0, 0);
  });
});

describe('the reaper', () => {
  const stores: SessionStore[] = [];
  after(() => Promise.all(stores.map((s) => s.close())));

  it('two servers on one table: only the lease holder purges each interval, expired sessions go, the other takes over when it stops', { timeout: 120_000 }, async () => {
    const a = await bareTable();
    const b = new SessionStore({ ...localOptions({ table: a.config.table, skipTableCheck: true, createIfNotExist: false }) });
    stores.push(a, b);
    const now = nowSec();
    await writeItems(a, Array.from({ length: 60 }, (_, i) => sessionItem(a, `gone${i}`, now - 30)));
    await a.set('alive', { ok: true });

    const ticks: Record<'a' | 'b', ReaperTick[]> = { a: [], b: [] };
    const reaperA = startReaper(contextOf(a), { intervalMs: 1000, onTick: (t) => ticks.a.push(t) });
    const reaperB = startReaper(contextOf(b), { intervalMs: 1000, onTick: (t) => ticks.b.push(t) });
    let stoppedB = false;
    try {
      await waitFor('four ticks of each reaper', () => ticks.a.length >= 4 && ticks.b.length >= 4);
      const errors = [...ticks.a, ...ticks.b].filter((t) => t.error);
      assert.deepEqual(errors, []);
      const ledA = ticks.a.filter((t) => t.leader).length;
      const ledB = ticks.b.filter((t) => t.leader).length;
      // Exactly one of them holds the lease and purges on every one of its ticks.
      assert.ok((ledA === ticks.a.length && ledB === 0) || (ledB === ticks.b.length && ledA === 0), `leader ticks: a ${ledA}/${ticks.a.length}, b ${ledB}/${ticks.b.length}`);
      const deleted = [...ticks.a, ...ticks.b].reduce((n, t) => n + (t.result?.deleted ?? 0), 0);
      assert.equal(deleted, 60);
      assert.deepEqual([...(await allKeys(a))].filter((k) => k !== REAPER_KEY), ['alive']);
      assert.equal((await liveKeys(contextOf(a))).length, 1, 'the lease item is not counted as a session');
      assert.deepEqual(await a.get('alive'), { ok: true });

      // The leader stops and gives its lease back: the other purges from its next tick on.
      const [leader, follower] = ledA > 0 ? [reaperA, ticks.b] : [reaperB, ticks.a];
      if (leader === reaperB) stoppedB = true;
      await leader.stop();
      const seen = follower.length;
      await writeItems(a, [sessionItem(a, 'late', nowSec() - 1)]);
      await waitFor('the other reaper to take over', () => follower.slice(seen).some((t) => t.leader));
      await waitFor('the late expired session to be purged', async () => !(await allKeys(a)).has('late'));
    } finally {
      await reaperA.stop();
      if (!stoppedB) await reaperB.stop();
    }
  });

  it('a too short interval is a ConfigError', async () => {
    const store = new SessionStore(localOptions({ skipTableCheck: true }));
    stores.push(store);
    assert.throws(() => startReaper(contextOf(store), { intervalMs: 10 }), { code: 'DSM_CONFIG' });
  });
});

describe('destroyUserSessions', () => {
  const stores: SessionStore[] = [];
  after(() => Promise.all(stores.map((s) => s.close())));

  async function seed(store: SessionStore): Promise<void> {
    for (let i = 0; i < 5; i++) await store.set(`alice-${i}`, { n: i }, { userId: 'alice' });
    for (let i = 0; i < 3; i++) await store.set(`bob-${i}`, { n: i }, { userId: 'bob' });
    await store.set('anonymous', { n: 0 });
  }

  it('with the user index, finds the sessions with a Query (no Scan) and deletes only that user\'s', async () => {
    const store = new SessionStore(localOptions({ userIndex: true }));
    stores.push(store);
    await store.ready();
    await seed(store);
    // A GSI is eventually consistent: wait until it shows all five.
    await waitFor('the index to list alice\'s sessions', async () => (await listUserSessionKeys(contextOf(store), 'alice')).keys.length === 5);
    const before = store.stats().calls;
    assert.equal(await destroyUserSessions(contextOf(store), 'alice'), 5);
    const calls = store.stats().calls;
    assert.ok((calls.Query ?? 0) > (before.Query ?? 0));
    assert.equal(calls.Scan ?? 0, before.Scan ?? 0, 'no Scan with an index');
    for (let i = 0; i < 5; i++) assert.equal(await store.get(`alice-${i}`), null);
    assert.deepEqual(await store.get('bob-0'), { n: 0 });
    assert.deepEqual(await store.get('anonymous'), { n: 0 });
  });

  it('without an index, scans the table and deletes the same sessions', async () => {
    const store = new SessionStore(localOptions());
    stores.push(store);
    await store.ready();
    await seed(store);
    const found = await listUserSessionKeys(contextOf(store), 'bob');
    assert.equal(found.via, 'scan');
    assert.deepEqual(found.keys.sort(), ['bob-0', 'bob-1', 'bob-2']);
    assert.equal(await destroyUserSessions(contextOf(store), 'bob'), 3);
    assert.equal(store.stats().calls.Query ?? 0, 0);
    assert.equal((await liveKeys(contextOf(store))).length, 6);
  });

  it('an index configured but missing from the table falls back to a Scan, with a warning', async () => {
    const plain = new SessionStore(localOptions());
    stores.push(plain);
    await plain.ready();
    await seed(plain);
    const options = localOptions({ table: plain.config.table, userIndex: 'no-such-index', skipTableCheck: true });
    const store = new SessionStore(options);
    stores.push(store);
    assert.equal(await destroyUserSessions(contextOf(store), 'alice'), 5);
    assert.match((options.logger as unknown as { text(): string }).text(), /Scan of the whole table/);
  });

  it('sessions saved with the userId option carry the user and are revoked with it', async () => {
    const store = new SessionStore(localOptions({ userId: 'user.id' }));
    stores.push(store);
    await store.ready();
    await store.set('s1', { user: { id: 'carol' } });
    await store.set('s2', { user: { id: 'carol' }, cart: [1] });
    await store.set('s3', { user: { id: 'dave' } });
    assert.equal(await destroyUserSessions(contextOf(store), 'carol'), 2);
    assert.equal((await liveKeys(contextOf(store))).length, 1);
  });

  it('an empty user id is a ConfigError', async () => {
    const store = new SessionStore(localOptions({ skipTableCheck: true }));
    stores.push(store);
    await assert.rejects(destroyUserSessions(contextOf(store), ''), { code: 'DSM_CONFIG' });
  });
});

describe('iamPolicy', () => {
  const actions = (p: ReturnType<typeof iamPolicy>) => p.Statement.flatMap((s) => s.Action).sort();

  it('a store that serves requests on an existing table gets item calls and the table reads of ready() only', () => {
    const policy = iamPolicy(resolveConfig({ table: 'Sessions', region: 'eu-west-1', createIfNotExist: false }), { account: '123456789012' });
    // One item per session by default (maxSessionBytes 400 KB): no PutItem nor BatchGetItem for chunks.
    assert.deepEqual(actions(policy), ['dynamodb:DeleteItem', 'dynamodb:DescribeTable', 'dynamodb:DescribeTimeToLive', 'dynamodb:GetItem', 'dynamodb:UpdateItem']);
    assert.deepEqual(policy.Statement[0]!.Resource, ['arn:aws:dynamodb:eu-west-1:123456789012:table/Sessions']);
  });

  it('createIfNotExist adds nothing: creating the table and turning on its TTL are the admin policy\'s; skipTableCheck drops the table reads', () => {
    const runtime = ['dynamodb:DeleteItem', 'dynamodb:DescribeTable', 'dynamodb:DescribeTimeToLive', 'dynamodb:GetItem', 'dynamodb:UpdateItem'];
    assert.deepEqual(actions(iamPolicy(resolveConfig({ table: 'Sessions' }))), runtime);
    assert.deepEqual(actions(iamPolicy(resolveConfig({ table: 'Sessions', createIfNotExist: true }))), runtime);
    assert.deepEqual(actions(iamPolicy(resolveConfig({ table: 'Sessions', createIfNotExist: true }), { features: ['admin'] })).filter((a) => !runtime.includes(a)), [
      'dynamodb:BatchGetItem',
      'dynamodb:BatchWriteItem',
      'dynamodb:CreateTable',
      'dynamodb:Scan',
      'dynamodb:UpdateTable',
      'dynamodb:UpdateTimeToLive',
    ]);
    assert.deepEqual(actions(iamPolicy(resolveConfig({ table: 'Sessions', skipTableCheck: true }))), ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem']);
  });

  it('the reaper adds Scan; a user index adds Query on that index only, and BatchWriteItem', () => {
    const policy = iamPolicy(resolveConfig({ table: 'Sessions', skipTableCheck: true, reapIntervalMs: 60_000, userIndex: true }), { region: 'cn-north-1' });
    assert.deepEqual(policy.Statement[0]!.Action, ['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:Scan', 'dynamodb:UpdateItem']);
    assert.deepEqual(policy.Statement[1], {
      Sid: 'SessionUserIndex',
      Effect: 'Allow',
      Action: ['dynamodb:Query'],
      Resource: ['arn:aws-cn:dynamodb:cn-north-1:*:table/Sessions/index/userId-index'],
    });
  });

  it('sessions kept to one item (maxSessionBytes of 400 KB or less) need neither PutItem nor BatchGetItem', () => {
    assert.deepEqual(actions(iamPolicy(resolveConfig({ table: 'Sessions', skipTableCheck: true, maxSessionBytes: 400 * 1024 }))), ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem']);
  });

  it('an unknown feature or a malformed account id is a ConfigError', () => {
    assert.throws(() => iamPolicy(resolveConfig({}), { features: ['everything' as never] }), { code: 'DSM_CONFIG' });
    assert.throws(() => iamPolicy(resolveConfig({}), { account: '42' }), { code: 'DSM_CONFIG' });
  });
});
