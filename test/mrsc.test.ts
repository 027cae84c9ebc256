/**
 * A global table in multi-Region strong consistency (MRSC), stood in for by
 * DynamoDB Local behind a proxy (test/helpers/mrsc-proxy.ts) that reports
 * `MultiRegionConsistency: STRONG`, refuses transactions and TTL, and can
 * fail writes with ReplicatedWriteConflictException. Expiry, large sessions
 * and per-user limits all work on it, without a single transaction.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { SessionStore } from '../src/store/session-store.js';
import { ConfigError, EngineFeatureError, SessionLimitError } from '../src/errors.js';
import { resolveConfig } from '../src/config/resolve-config.js';
import type { SessionStoreOptions } from '../src/config/options.js';
import { ENDPOINT, localOptions, quietLogger, uniqueTable, type CapturedLogger } from './helpers/dynamo.js';
import { startMrscProxy, type MrscProxy } from './helpers/mrsc-proxy.js';

type Item = Record<string, AttributeValue>;

let proxy: MrscProxy;
const stores: SessionStore[] = [];
before(async () => {
  proxy = await startMrscProxy(ENDPOINT);
});
after(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await proxy.close();
});

function open(extra: SessionStoreOptions = {}): SessionStore {
  const store = new SessionStore(localOptions({ endpoint: proxy.endpoint, ...extra }));
  stores.push(store);
  return store;
}

async function scan(store: SessionStore): Promise<Item[]> {
  const out = await store.client.send(new ScanCommand({ TableName: store.config.table, ConsistentRead: true }));
  return out.Items ?? [];
}

/** Sessions of `user` whose items are there and not expired. */
async function liveOf(store: SessionStore, user: string): Promise<string[]> {
  const now = Date.now();
  return (await scan(store)).filter((i) => i.userId?.S === user && Number(i.expiresAtMs?.N ?? 0) > now).map((i) => i.sessionId!.S!);
}

async function login(store: SessionStore, id: string, user: string): Promise<void> {
  await store.set(id, { n: 1 });
  const loaded = await store.load(id, { method: 'POST' });
  await store.commit(loaded!.handle, id, { n: 1, user });
}

describe('MRSC: detection and expiry without TTL', () => {
  it('DescribeTable\'s MultiRegionConsistency STRONG is said once, TTL is left alone, and the reaper starts with its cost stated', async () => {
    const logger: CapturedLogger = quietLogger();
    const store = open({ logger });
    await store.ready();
    await store.set('a', { n: 1 });
    const said = logger.lines.filter((l) => String(l.msg).includes('multi-Region strong consistency'));
    assert.equal(said.length, 1, logger.text());
    assert.match(String(said[0]!.msg), /reaper deletes expired sessions.*every 60 s.*read units/);
    assert.equal(proxy.calls.UpdateTimeToLive, undefined, 'no attempt to turn TTL on');
    assert.ok((store as unknown as { reaper?: unknown }).reaper, 'a reaper runs though reapIntervalMs was not set');
  });

  it('an expired session reads as absent at once, and the reaper deletes its item', async () => {
    const store = open({ reapIntervalMs: 200 });
    await store.ready();
    await store.set('short', { n: 1 }, { expires: Date.now() + 1_000 });
    assert.deepEqual(await store.get('short'), { n: 1 });
    await new Promise((r) => setTimeout(r, 1_200));
    assert.equal(await store.get('short'), null, 'expired: absent before any delete');
    const deadline = Date.now() + 5_000;
    while ((await scan(store)).some((i) => i.sessionId?.S === 'short')) {
      assert.ok(Date.now() < deadline, 'the reaper deleted the expired item');
      await new Promise((r) => setTimeout(r, 100));
    }
  });
});

describe('MRSC: large sessions and per-user limits without transactions', () => {
  it('a 1 MiB session is saved, changed and read back with no transaction', async () => {
    const store = open({ maxSessionBytes: 4 * 1024 * 1024 });
    let text = '';
    for (let i = 0; i < 1024 * 1024; i++) text += String.fromCharCode(33 + randomInt(90));
    const big = { text: text.replaceAll('\\', '/').replaceAll('"', "'") };
    await store.set('big', big);
    assert.deepEqual(await store.get('big'), big);
    const loaded = await store.load('big', { method: 'POST' });
    await store.commit(loaded!.handle, 'big', { ...big, more: true });
    assert.equal((await store.get('big'))?.more, true);
    assert.equal(proxy.calls.TransactWriteItems, undefined);
  });

  it('five rounds of three concurrent logins of one user against a limit of 2, from three stores, always leave exactly 2 sessions', async () => {
    const table = uniqueTable('mrsc_limit');
    const three = [0, 1, 2].map(() => open({ table, userId: 'user', maxSessionsPerUser: 2 }));
    await Promise.all(three.map((s) => s.ready()));
    for (let round = 0; round < 5; round++) {
      const user = `user${round}`;
      await Promise.all(three.map((s, i) => login(s, `r${round}-s${i}`, user)));
      assert.equal((await liveOf(three[0]!, user)).length, 2, `round ${round}`);
    }
    // A fourth login evicts the oldest again, one at a time.
    await login(three[0]!, 'late', 'user0');
    const live = await liveOf(three[0]!, 'user0');
    assert.equal(live.length, 2);
    assert.ok(live.includes('late'));
    assert.equal(proxy.calls.TransactWriteItems, undefined, 'no transaction was tried');
  });

  it("with onSessionLimit 'refuse' a login past the limit is a SessionLimitError and writes nothing", async () => {
    const store = open({ userId: 'user', maxSessionsPerUser: 1, onSessionLimit: 'refuse' });
    await login(store, 'first', 'bob');
    await store.set('second', { n: 1 });
    const b = await store.load('second', { method: 'POST' });
    await assert.rejects(store.commit(b!.handle, 'second', { user: 'bob' }), SessionLimitError);
    assert.deepEqual(await store.get('second'), { n: 1 });
    assert.deepEqual(await liveOf(store, 'bob'), ['first']);
  });
});

describe('MRSC: ReplicatedWriteConflictException', () => {
  it('a write that clashed with another Region\'s is retried, and lands', async () => {
    const store = open();
    await store.ready();
    const before = proxy.calls.UpdateItem ?? 0;
    proxy.conflicts(2);
    await store.set('clash', { n: 1 });
    assert.deepEqual(await store.get('clash'), { n: 1 });
    assert.ok((proxy.calls.UpdateItem ?? 0) - before >= 3, 'two refused, then the one that landed');
  });
});

describe('MRSC: what cannot work is refused', () => {
  it('with skipTableCheck the store cannot know the table is MRSC: a login under a limit is an EngineFeatureError naming skipTableCheck', async () => {
    const table = uniqueTable('mrsc_blind');
    await open({ table }).ready();
    const blind = open({ table, skipTableCheck: true, userId: 'user', maxSessionsPerUser: 2 });
    await blind.set('s', { n: 1 });
    const loaded = await blind.load('s', { method: 'POST' });
    const refused = (err: Error) => err instanceof EngineFeatureError && /skipTableCheck/.test(err.message);
    await assert.rejects(blind.commit(loaded!.handle, 's', { user: 'ann' }), refused);
    assert.deepEqual(await blind.get('s'), { n: 1 }, 'nothing written');
  });

  it('regions with a client of your own is a ConfigError: the store must make a client per Region', () => {
    assert.throws(() => resolveConfig({ region: 'us-east-1', regions: ['us-east-1', 'eu-west-1'], client: open().client }), ConfigError);
    const elsewhere = { region: 'ap-south-1', regions: ['us-east-1', 'eu-west-1'] };
    assert.throws(() => resolveConfig(elsewhere), /needs "region", this server's own Region, to be one of them/);
  });
});
