/**
 * Sessions past DynamoDB's 400 KB item limit (issue 23, point 1; issue 31,
 * point 3): a head item and chunk items `<key>#<writeId>#<n>`, the chunks put
 * first, the head switched to them with one conditional UpdateItem, no
 * transaction. On DynamoDB Local, with real stores, a real Express app and the
 * fault proxy; on dynalite, which has no transactions, a 1 MiB session too.
 */
import { allSessions, clearTable, liveKeys } from '../src/core/table-scan.js';
import { contextOf } from '../src/store/session-store.js';
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { randomInt } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Writable } from 'node:stream';
import express from 'express';
import { CreateTableCommand, GetItemCommand, PutItemCommand, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { SessionStore } from '../src/store/session-store.js';
import { DynamoDBStore, dynamoSession } from '../src/adapters/express.js';
import { MAX_DECODED_BYTES } from '../src/codec/codec.js';
import { resolveConfig } from '../src/config/resolve-config.js';
import { ConfigError, CorruptSessionError, InvalidSessionIdError, SessionTooLargeError, StoreUnavailableError } from '../src/errors.js';
import { split } from '../src/core/chunks.js';
import { run as cli } from '../src/cli/program.js';
import { createTableInput } from '../src/table/schema.js';
import { expiredEventFromRecord } from '../src/streams/records.js';
import { ENDPOINT, ENGINES, localOptions, quietLogger } from './helpers/dynamo.js';
import { SECRET } from './helpers/web-app.js';
import type { SessionStoreOptions } from '../src/config/options.js';

/** Sessions past 400 KB are opt-in (maxSessionBytes above it, up to 4 MB): every store here opts in unless a test says otherwise. */
const chunkedOptions = (extra: SessionStoreOptions = {}): SessionStoreOptions => localOptions({ maxSessionBytes: 4 * 1024 * 1024, ...extra });
import { CookieClient } from './helpers/servers.js';
import { startFaultProxy, type FaultProxy } from './helpers/fault-proxy.js';

type Item = Record<string, AttributeValue>;

const PRINTABLE = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).filter((c) => c !== '"' && c !== '\\').join('');

/** Text that no compressor brings near the 400 KB limit: random printable ASCII, JSON-safe as it is. */
function noise(chars: number): string {
  let out = '';
  for (let i = 0; i < chars; i++) out += PRINTABLE[randomInt(PRINTABLE.length)];
  return out;
}

const MB = 1024 * 1024;

async function scanAll(store: SessionStore): Promise<Item[]> {
  const items: Item[] = [];
  let start: Item | undefined;
  do {
    const out = await store.client.send(new ScanCommand({ TableName: store.config.table, ConsistentRead: true, ...(start ? { ExclusiveStartKey: start } : {}) }));
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}

/** The table's items that belong to session key `key`: its head and its chunks. */
async function itemsOf(store: SessionStore, key: string): Promise<Item[]> {
  return (await scanAll(store)).filter((i) => i.sessionId!.S === key || i.sessionId!.S!.startsWith(`${key}#`));
}

/** No head under `key`; whatever chunks are left no head names, and each has an expiry for TTL. */
async function assertGone(store: SessionStore, key: string): Promise<void> {
  const items = await itemsOf(store, key);
  assert.equal(items.find((i) => i.sessionId!.S === key), undefined, 'no head');
  for (const c of items) assert.ok(Number(c.expiresAt?.N) > 0 && c.data?.B, `${c.sessionId!.S} is a chunk that TTL deletes`);
}

async function rawItem(store: SessionStore, key: string): Promise<Item | undefined> {
  return (await store.client.send(new GetItemCommand({ TableName: store.config.table, Key: { sessionId: { S: key } }, ConsistentRead: true }))).Item;
}

/** Calls made by `store` while `work` ran, by operation. */
async function callsDuring(store: SessionStore, work: () => Promise<unknown>): Promise<Record<string, number>> {
  const before = store.stats().calls;
  await work();
  const after = store.stats().calls;
  const diff: Record<string, number> = {};
  for (const [op, n] of Object.entries(after)) if (n - (before[op] ?? 0) > 0) diff[op] = n - (before[op] ?? 0);
  return diff;
}

/** The chunk items the head under `key` names: `<key>#<writeId>#<n>` (core/chunks.ts). */
function namedKeys(head: Item): string[] {
  return Array.from({ length: Number(head.chunkItems?.N ?? 0) }, (_, i) => `${head.sessionId!.S}#${head.writeId!.S}#${i + 1}`);
}

/** Every chunk the head stored under `key` names is there, carries the head's writeId and its expiry; other chunks of the key are replaced sets that expire. */
async function assertWhole(store: SessionStore, key: string): Promise<void> {
  const items = await itemsOf(store, key);
  const head = items.find((i) => i.sessionId!.S === key);
  assert.ok(head, 'the head is there');
  assert.equal(head.chunks, undefined, 'no chunks of the transactional layout');
  const named = namedKeys(head);
  assert.ok(named.length > 0, 'the head names chunks');
  for (const k of named) {
    const c = items.find((i) => i.sessionId!.S === k);
    assert.ok(c, `${k} is there`);
    assert.equal(c.writeId?.S, head.writeId?.S, `${k} was written by the head's write`);
    assert.equal(c.expiresAt?.N, head.chunksExpireAt?.N, `${k} expires with the head's chunks`);
  }
  for (const c of items.filter((i) => i !== head && !named.includes(i.sessionId!.S!))) {
    assert.ok(Number(c.expiresAt?.N) > 0, `${c.sessionId!.S}, a replaced chunk, has an expiry for TTL`);
  }
}

describe('large sessions on DynamoDB Local', () => {
  let store: SessionStore;
  /** Another server on the same table: its decode cache has seen nothing. */
  let other: SessionStore;
  const stores: SessionStore[] = [];
  const open = (extra = {}) => {
    const s = new SessionStore({ ...chunkedOptions({ skipTableCheck: true, ...extra }), table: store.config.table });
    stores.push(s);
    return s;
  };
  before(async () => {
    store = new SessionStore(chunkedOptions({ userId: 'user' }));
    await store.ready();
    other = open({ userId: 'user' });
  });
  after(async () => {
    await store.close();
    await Promise.all(stores.map((s) => s.close()));
  });

  it('a 1.5 MB incompressible session is saved and read back byte for byte through Express (dynamoSession), on this server and another', async () => {
    const blob = noise(1.5 * MB);
    const app = express();
    app.use(express.json({ limit: '4mb' }));
    app.use(dynamoSession({ store: new DynamoDBStore({ store }), secret: SECRET, resave: false, saveUninitialized: false }));
    app.post('/blob', (req, res) => {
      (req.session as unknown as { blob: string }).blob = (req.body as { blob: string }).blob;
      res.json({ ok: true });
    });
    app.get('/blob', (req, res) => res.json({ blob: (req.session as unknown as { blob?: string }).blob ?? null }));
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const client = new CookieClient();
      await client.json(`${url}/blob`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ blob }) });
      const back = await client.json<{ blob: string }>(`${url}/blob`);
      assert.ok(back.blob === blob, 'the same 1.5 MB, byte for byte');
      const id = decodeURIComponent(client.cookie('connect.sid')!).slice(2).split('.')[0]!;
      const items = await itemsOf(store, id);
      assert.ok(items.length >= 4, `a head and at least three chunks (${items.length} items)`);
      await assertWhole(store, id);
      const elsewhere = (await other.get(id)) as { blob: string };
      assert.ok(elsewhere.blob === blob, 'another server reads it whole');
    } finally {
      server.close();
    }
  });

  it('a small session costs what it did: one GetItem to load, one UpdateItem to save, one UpdateItem to set', async () => {
    assert.deepEqual(await callsDuring(store, () => store.set('small', { a: 1 })), { UpdateItem: 1 });
    let loaded: Awaited<ReturnType<SessionStore['load']>> = null;
    assert.deepEqual(await callsDuring(other, async () => (loaded = await other.load('small'))), { GetItem: 1 });
    assert.deepEqual(await callsDuring(other, () => other.commit(loaded!.handle, 'small', { a: 2 })), { UpdateItem: 1 });
    assert.deepEqual(await callsDuring(store, () => store.destroy('small')), { DeleteItem: 1 });
  });

  it('a chunked session is saved as its chunks, then one UpdateItem of its head (no transaction)', async () => {
    const written = await callsDuring(store, () => store.set('save-cost', { blob: noise(900 * 1024) }));
    const head = await rawItem(store, 'save-cost');
    assert.ok(Number(head?.chunkItems?.N) >= 2);
    assert.deepEqual(written, { PutItem: Number(head!.chunkItems!.N), UpdateItem: 1 });
    const loaded = await other.load('save-cost');
    const changed = await callsDuring(other, () => other.commit(loaded!.handle, 'save-cost', { blob: noise(900 * 1024) }));
    assert.deepEqual(changed, { PutItem: Number(head!.chunkItems!.N), UpdateItem: 1 });
    await assertWhole(store, 'save-cost');
  });

  it('a chunked session loads with its head and one BatchGetItem; where its version was written or read before, the head alone', async () => {
    const data = { blob: noise(900 * 1024) };
    await store.set('read-cost', data);
    const cold = open();
    let loaded: Awaited<ReturnType<SessionStore['load']>> = null;
    assert.deepEqual(await callsDuring(cold, async () => (loaded = await cold.load('read-cost'))), { GetItem: 1, BatchGetItem: 1 });
    assert.ok(loaded!.data.blob === data.blob);
    assert.deepEqual(await callsDuring(cold, () => cold.load('read-cost')), { GetItem: 1 }, 'decoded before: same writeId, no chunk read');
    assert.deepEqual(await callsDuring(store, () => store.load('read-cost')), { GetItem: 1 }, 'written here: no chunk read');
  });

  it('concurrent changes to a chunked session merge (optimistic), each chunk set whole', async () => {
    const blob = noise(1.2 * MB);
    await store.set('merge', { blob, n: 0 });
    const a = await store.load('merge');
    const b = await other.load('merge');
    assert.ok(a && b);
    assert.equal(await store.commit(a.handle, 'merge', { ...a.data, x: 'from a' }), 'written');
    assert.equal(await other.commit(b.handle, 'merge', { ...b.data, y: 'from b', blob: `${blob}!` }), 'merged');
    const back = (await open().get('merge')) as { blob: string; x: string; y: string };
    assert.equal(back.x, 'from a');
    assert.equal(back.y, 'from b');
    assert.ok(back.blob === `${blob}!`);
    await assertWhole(store, 'merge');
  });

  it('a leased request and an unlocked one on a chunked session both keep their changes', async () => {
    const blob = noise(700 * 1024);
    await store.set('leased', { blob });
    const locked = await store.load('leased', { lock: true });
    assert.ok(locked?.handle.lease, 'the lease is taken on the head');
    const unlocked = await other.load('leased', { lock: false });
    assert.equal(await other.commit(unlocked!.handle, 'leased', { ...unlocked!.data, safe: 1 }), 'written');
    assert.equal(await store.commit(locked.handle, 'leased', { ...locked.data, unsafe: 2 }), 'merged');
    const back = (await open().get('leased')) as Record<string, unknown>;
    assert.deepEqual({ safe: back.safe, unsafe: back.unsafe, same: back.blob === blob }, { safe: 1, unsafe: 2, same: true });
    assert.equal((await rawItem(store, 'leased'))?.lockOwner, undefined, 'the lease was given back by the head switch');
    await assertWhole(store, 'leased');
  });

  it("locking 'none': the last writer's chunked session wins whole, a logout still sticks", async () => {
    const a = open({ locking: 'none' });
    const b = open({ locking: 'none' });
    await a.set('last-writer', { blob: noise(900 * 1024) });
    const first = await a.load('last-writer');
    const second = await b.load('last-writer');
    const mine = noise(1.1 * MB);
    assert.equal(await a.commit(first!.handle, 'last-writer', { blob: noise(700 * 1024) }), 'written');
    assert.equal(await b.commit(second!.handle, 'last-writer', { blob: mine }), 'written');
    assert.ok(((await open().get('last-writer')) as { blob: string }).blob === mine);
    await assertWhole(store, 'last-writer');
    const third = await a.load('last-writer');
    await b.destroy('last-writer');
    assert.equal(await a.commit(third!.handle, 'last-writer', { blob: noise(600 * 1024) }), 'destroyed');
    await assertGone(store, 'last-writer');
    assert.equal(await open().get('last-writer'), null);
  });

  it('a login under maxSessionsPerUser saves a chunked session in the same transaction as the user\'s slots', async () => {
    const limited = open({ userId: 'user', maxSessionsPerUser: 2 });
    await limited.set('login-big', { blob: noise(900 * 1024) });
    const loaded = await limited.load('login-big');
    assert.equal(await limited.commit(loaded!.handle, 'login-big', { ...loaded!.data, user: 'carol' }), 'written');
    await assertWhole(store, 'login-big');
    const back = (await open().get('login-big')) as { user: string; blob: string };
    assert.equal(back.user, 'carol');
    assert.ok(back.blob === loaded!.data.blob);
    assert.deepEqual((await limited.listUserSessions('carol')).sessions.map((x) => x.key), [limited.handleOf('login-big')]);
  });

  it('shrinking a chunked session: the head names fewer chunks, then none, in one UpdateItem; the sets it no longer names are never read and expire', async () => {
    await store.set('shrink', { blob: noise(1.1 * MB) });
    assert.equal((await rawItem(store, 'shrink'))?.chunkItems?.N, '3');
    let loaded = await store.load('shrink');
    const smaller = noise(700 * 1024);
    await store.commit(loaded!.handle, 'shrink', { blob: smaller });
    assert.equal((await rawItem(store, 'shrink'))?.chunkItems?.N, '2');
    await assertWhole(store, 'shrink');
    assert.ok(((await open().get('shrink')) as { blob: string }).blob === smaller);
    loaded = await other.load('shrink');
    assert.deepEqual(await callsDuring(other, () => other.commit(loaded!.handle, 'shrink', { small: true })), { UpdateItem: 1 });
    const head = (await rawItem(store, 'shrink'))!;
    assert.deepEqual([head.chunks, head.chunkItems, head.chunkBytes, head.chunksExpireAt], [undefined, undefined, undefined, undefined]);
    const left = (await itemsOf(store, 'shrink')).filter((i) => i !== undefined && i.sessionId!.S !== 'shrink');
    assert.equal(left.length, 5, 'the two sets replaced, left for TTL');
    for (const c of left) assert.ok(Number(c.expiresAt!.N) > Number(head.expiresAt!.N), 'each expires after the head');
    assert.deepEqual(await open().get('shrink'), { small: true });
    // Back to one item: the next change is one UpdateItem that names no chunk attribute.
    loaded = await store.load('shrink');
    assert.deepEqual(await callsDuring(store, () => store.commit(loaded!.handle, 'shrink', { small: 2 })), { UpdateItem: 1 });
  });

  it("an item whose `chunks` says 0 (not written by this store) is saved over, not retried forever", async () => {
    const item = { sessionId: { S: 'stray' }, data: { B: contextOf(store).codec.frame('{"a":1}') }, version: { N: '1' }, expiresAt: { N: String(Math.floor(Date.now() / 1000) + 3600) }, chunks: { N: '0' } };
    await store.client.send(new PutItemCommand({ TableName: store.config.table, Item: item }));
    await store.set('stray', { a: 2 });
    const none = open({ locking: 'none' });
    const loaded = await none.load('stray');
    assert.deepEqual(loaded?.data, { a: 2 });
    assert.equal(await none.commit(loaded!.handle, 'stray', { a: 3 }), 'written');
    assert.deepEqual(await store.get('stray'), { a: 3 });
  });

  it('set() over a chunked session it did not load leaves a head of one item, its old chunks to TTL', async () => {
    await store.set('overwrite', { blob: noise(1.1 * MB) });
    await other.set('overwrite', { small: 1 });
    const head = (await rawItem(store, 'overwrite'))!;
    assert.deepEqual([head.chunks, head.chunkItems, head.chunksExpireAt], [undefined, undefined, undefined]);
    assert.deepEqual(await open().get('overwrite'), { small: 1 });
    assert.deepEqual(await store.get('overwrite'), { small: 1 });
  });

  it('a destroy leaves no item of a chunked session, and a logout sticks against a slower save', async () => {
    await store.set('destroy', { blob: noise(1.1 * MB) });
    const slow = await other.load('destroy');
    await store.destroy('destroy');
    assert.deepEqual(await itemsOf(store, 'destroy'), [], 'the head, then the chunks it named');
    assert.equal(await other.commit(slow!.handle, 'destroy', { ...slow!.data, more: 1 }), 'destroyed');
    // The slower save put its chunks before its head switch was refused: no head names them.
    await assertGone(store, 'destroy');
    assert.equal(await open().get('destroy'), null);
  });

  it('destroyUserSessions and revokeSession leave no chunk of a user\'s chunked sessions', async () => {
    await store.set('alice-1', { user: 'alice', blob: noise(500 * 1024) });
    await store.set('alice-2', { user: 'alice', blob: noise(900 * 1024) });
    await store.set('bob-1', { user: 'bob', blob: noise(500 * 1024) });
    assert.equal(await store.destroyUserSessions('alice'), 2);
    assert.deepEqual([...(await itemsOf(store, 'alice-1')), ...(await itemsOf(store, 'alice-2'))], []);
    const bob = await rawItem(store, 'bob-1');
    assert.ok(Number(bob?.chunkItems?.N) >= 1);
    assert.equal((await itemsOf(store, 'bob-1')).length, 1 + Number(bob!.chunkItems!.N), "bob's untouched");
    assert.equal(await store.revokeSession('bob-1'), true);
    assert.deepEqual(await itemsOf(store, 'bob-1'), []);
  });

  it('an encrypted session with a hashed id is chunked like any other: read back whole, no chunk holds its text in clear', async () => {
    const secure = open({ hashSessionIds: 'sixteen chars or more', encryptionKeys: [{ id: 'k1', key: Buffer.alloc(32, 7) }] });
    const blob = noise(800 * 1024);
    await secure.set('secret-session', { blob });
    const key = secure.keyOf('secret-session');
    const items = await itemsOf(store, key);
    assert.ok(items.length >= 3, 'a head and chunks');
    const probe = Buffer.from(blob.slice(1000, 1064));
    for (const item of items) assert.ok(!Buffer.from(item.data!.B!).includes(probe), `${item.sessionId!.S} holds no clear text`);
    assert.ok(((await open({ hashSessionIds: 'sixteen chars or more', encryptionKeys: [{ id: 'k1', key: Buffer.alloc(32, 7) }] }).get('secret-session')) as { blob: string }).blob === blob);
  });

  it('chunks never read as sessions: ids(), length() and all() see a chunked session once, decoded', async () => {
    const s = new SessionStore(chunkedOptions());
    stores.push(s);
    const blob = noise(900 * 1024);
    await s.set('one', { blob });
    await s.set('two', { n: 2 });
    assert.deepEqual((await liveKeys(contextOf(s))).sort(), ['one', 'two']);
    assert.equal((await liveKeys(contextOf(s))).length, 2);
    const all = await allSessions(contextOf(s));
    assert.deepEqual(Object.keys(all).sort(), ['one', 'two']);
    assert.ok((all.one as { blob: string }).blob === blob);
    await clearTable(contextOf(s));
    assert.deepEqual(await scanAll(s), []);
  });

  it('a session id with "#" is refused without a DynamoDB call (a chunk key could be its key); with hashSessionIds it is fine', async () => {
    const calls = JSON.stringify(store.stats().calls);
    await assert.rejects(store.get('abc#1'), InvalidSessionIdError);
    await assert.rejects(store.set('abc#1', { a: 1 }), InvalidSessionIdError);
    await assert.rejects(store.set('dynamodb-session-manager:reaper', { a: 1 }), InvalidSessionIdError);
    assert.equal(JSON.stringify(store.stats().calls), calls);
    const hashed = open({ hashSessionIds: 'a secret of sixteen characters' });
    await hashed.set('abc#1', { a: 1 });
    assert.deepEqual(await hashed.get('abc#1'), { a: 1 });
  });

  it('chunks carry their head\'s expiry (and a lifetime more), so TTL takes them after it; a touch past that moves them too', async () => {
    const expires = Date.now() + 3_600_000;
    await store.set('expiry', { blob: noise(500 * 1024) }, { expires });
    const [head, ...chunks] = (await itemsOf(store, 'expiry')).sort((a, b) => a.sessionId!.S!.length - b.sessionId!.S!.length);
    const headExp = Number(head!.expiresAt!.N);
    for (const c of chunks) assert.ok(Number(c.expiresAt!.N) >= headExp, 'a chunk never expires before its head');
    assert.equal(Number(chunks[0]!.expiresAt!.N), Number(head!.chunksExpireAt!.N));
    // A touch within the chunks' expiry writes the head alone…
    const loaded = await store.load('expiry');
    const later = Number(head!.chunksExpireAt!.N) * 1000 - 60_000;
    assert.deepEqual(await callsDuring(store, () => store.touch(loaded!.handle, 'expiry', { expires: later })), { UpdateItem: 1 });
    // …one past it moves the chunks' expiry first.
    const much = Number(head!.chunksExpireAt!.N) * 1000 + 3_600_000;
    assert.equal(await store.touch(null, 'expiry', { expires: much }), 'touched');
    const after = await itemsOf(store, 'expiry');
    const newHead = after.find((i) => i.sessionId!.S === 'expiry')!;
    assert.equal(Number(newHead.expiresAt!.N), Math.ceil(much / 1000));
    for (const c of after.filter((i) => i !== newHead)) assert.ok(Number(c.expiresAt!.N) >= Number(newHead.expiresAt!.N));
    await assertWhole(store, 'expiry');
    assert.ok(((await open().get('expiry')) as { blob: string }).blob.length === 500 * 1024);
  });

  it('an expired chunked session reads as none; purgeExpired deletes its head and its chunks, and orphaned chunks past their expiry', async () => {
    // A table without TTL: DynamoDB Local's own TTL would race the purge.
    const s = new SessionStore(chunkedOptions({ skipTableCheck: true, createIfNotExist: false }));
    stores.push(s);
    await s.client.send(new CreateTableCommand(createTableInput({ ...s.config, billingMode: 'PAY_PER_REQUEST' })));
    await s.set('gone', { blob: noise(500 * 1024) }, { expires: Date.now() - 1000 });
    await s.set('live', { blob: noise(500 * 1024) });
    assert.equal(await s.get('gone'), null);
    // A chunk whose head is long gone (a crash between a destroy's deletes), past its own expiry.
    const orphan = { sessionId: { S: 'orphan#1' }, data: { B: Buffer.from([1, 2, 3]) }, expiresAt: { N: String(Math.floor(Date.now() / 1000) - 10) }, writeId: { S: 'w' } };
    await s.client.send(new PutItemCommand({ TableName: s.config.table, Item: orphan }));
    const result = await s.purgeExpired();
    assert.equal(result.deleted, 1, 'one session');
    assert.equal(result.expired, 1);
    const live = await rawItem(s, 'live');
    const keys = (await scanAll(s)).map((i) => i.sessionId!.S!).sort();
    assert.deepEqual(keys, ['live', ...namedKeys(live!)].sort());
  });

  it('a crash between the chunks and the head switch leaves the previous version readable, the new chunks unnamed with an expiry; a lost answer on a chunk or on the head is found by its retry, stored once', async () => {
    const proxy: FaultProxy = await startFaultProxy(Number(new URL(ENDPOINT).port));
    try {
      const s = new SessionStore({ ...chunkedOptions({ maxAttempts: 1 }), table: store.config.table, endpoint: proxy.endpoint });
      stores.push(s);
      const v1 = { blob: noise(1.1 * MB) };
      await s.set('crash', v1);
      const before = new Set((await itemsOf(store, 'crash')).map((i) => i.sessionId!.S));
      const headBefore = (await rawItem(store, 'crash'))!;
      const loaded = await s.load('crash');
      const v2 = { blob: noise(1.3 * MB) };
      // The chunks are put, then the head switch never reaches DynamoDB whole.
      proxy.inject('reset-mid-request', 1, 'UpdateItem');
      await assert.rejects(s.commit(loaded!.handle, 'crash', v2), StoreUnavailableError);
      const head = (await rawItem(store, 'crash'))!;
      assert.equal(head.writeId?.S, headBefore.writeId?.S, 'the head still names the previous version');
      await assertWhole(store, 'crash');
      assert.ok(((await open().get('crash')) as { blob: string }).blob === v1.blob, 'the previous version, byte for byte');
      const orphans = (await itemsOf(store, 'crash')).filter((i) => !before.has(i.sessionId!.S));
      assert.ok(orphans.length >= 3, `the new chunks are there (${orphans.length})`);
      for (const c of orphans) {
        assert.notEqual(c.writeId?.S, head.writeId?.S);
        assert.ok(Number(c.expiresAt?.N) > Math.floor(Date.now() / 1000), `${c.sessionId!.S} expires by TTL`);
      }
      // Applied, answer lost: the retried request finds its own write and stores nothing twice.
      const retrying = new SessionStore({ ...chunkedOptions({ maxAttempts: 2 }), table: store.config.table, endpoint: proxy.endpoint });
      stores.push(retrying);
      const again = await retrying.load('crash');
      const loadedVersion = again!.handle.version;
      proxy.inject('lose-response', 1, 'UpdateItem');
      assert.equal(await retrying.commit(again!.handle, 'crash', v2), 'written');
      assert.equal(proxy.requests.filter((r) => r.operation === 'UpdateItem' && r.action === 'lose-response').length, 1);
      await assertWhole(store, 'crash');
      assert.ok(((await open().get('crash')) as { blob: string }).blob === v2.blob);
      assert.equal((await rawItem(store, 'crash'))?.version?.N, String(loadedVersion + 1));
      // A chunk put whose answer was lost is sent again: the same item, written twice.
      const third = await retrying.load('crash');
      const v3 = { blob: noise(1.2 * MB) };
      proxy.inject('lose-response', 1, 'PutItem');
      assert.equal(await retrying.commit(third!.handle, 'crash', v3), 'written');
      assert.equal(proxy.requests.filter((r) => r.operation === 'PutItem' && r.action === 'lose-response').length, 1);
      await assertWhole(store, 'crash');
      assert.ok(((await open().get('crash')) as { blob: string }).blob === v3.blob);
      assert.equal((await rawItem(store, 'crash'))?.version?.N, String(loadedVersion + 2));
    } finally {
      await proxy.close();
    }
  });

  it('concurrent saves of a large session from three servers, read all along by two more: every read is one whole version that was written', async () => {
    const writers = [0, 1, 2].map(() => open({ locking: 'none' }));
    const readers = [0, 1].map(() => open({ decodedCacheBytes: 0 }));
    const written = new Map<string, string>();
    const first = { who: 'first', blob: noise(600 * 1024) };
    written.set(first.who, first.blob);
    await writers[0]!.set('race', first);
    let writing = true;
    let reads = 0;
    const write = async (w: number) => {
      for (let round = 0; round < 4; round++) {
        const who = `${w}-${round}`;
        const blob = noise((500 + 100 * w) * 1024);
        written.set(who, blob);
        await writers[w]!.set('race', { who, blob });
      }
    };
    const read = async (reader: SessionStore) => {
      while (writing) {
        const got = (await reader.get('race')) as { who: string; blob: string } | null;
        assert.ok(got, 'the session is there on every read');
        assert.ok(written.get(got.who) === got.blob, `the blob read is the one ${got.who} wrote, whole`);
        reads += 1;
      }
    };
    const readersDone = readers.map(read);
    await Promise.all(writers.map((_, w) => write(w)));
    writing = false;
    await Promise.all(readersDone);
    assert.ok(reads >= 4, `reads ran alongside the writes (${reads})`);
    for (const r of readers) assert.equal(r.stats().corruptItems, 0);
    await assertWhole(store, 'race');
  });

  it('a session of the transactional layout (chunks `<key>#<n>`, written by the release before) is read, and the next save replaces it with this layout', async () => {
    const json = JSON.stringify({ blob: noise(900 * 1024) });
    const frame = contextOf(store).codec.frame(json, 0, 'legacy');
    const parts = split(frame);
    const expiresAt = Math.floor(Date.now() / 1000) + 3600;
    const head = {
      sessionId: { S: 'legacy' },
      data: { B: Buffer.from([0xff]) },
      version: { N: '4' },
      expiresAt: { N: String(expiresAt) },
      writeId: { S: 'old-write' },
      writeIds: { L: [{ S: 'old-write' }] },
      chunks: { N: String(parts.length) },
      chunkBytes: { N: String(frame.length) },
      chunksExpireAt: { N: String(expiresAt + 3600) },
      // Left behind by a write of this release before the one of the release before: not what the head names.
      chunkItems: { N: '7' },
    };
    for (const [i, part] of parts.entries()) {
      const chunk = { sessionId: { S: `legacy#${i + 1}` }, data: { B: part }, expiresAt: { N: String(expiresAt + 3600) }, writeId: { S: 'old-write' } };
      await store.client.send(new PutItemCommand({ TableName: store.config.table, Item: chunk }));
    }
    await store.client.send(new PutItemCommand({ TableName: store.config.table, Item: head }));
    const cold = open();
    const loaded = await cold.load('legacy');
    assert.ok(loaded && JSON.stringify(loaded.data) === json, 'read whole');
    assert.equal(await cold.commit(loaded.handle, 'legacy', { ...loaded.data, more: 1 }), 'written');
    await assertWhole(store, 'legacy');
    const back = (await open().get('legacy')) as { blob: string; more: number };
    assert.equal(back.more, 1);
    assert.ok(JSON.stringify({ blob: back.blob }) === json);
  });

  it('a server of the release before reads a head of this layout as data of a newer format (refused, never misread)', () => {
    assert.throws(() => contextOf(store).codec.unframe(Buffer.from([0xff]), 'k'), (err: unknown) => err instanceof CorruptSessionError && /newer version of dynamodb-session-manager/.test(err.message));
  });

  it('a write that meets a transaction holding the session (TransactionConflictException) is sent again, not failed', async () => {
    const proxy: FaultProxy = await startFaultProxy(Number(new URL(ENDPOINT).port));
    try {
      const s = new SessionStore({ ...chunkedOptions({ maxAttempts: 1 }), table: store.config.table, endpoint: proxy.endpoint });
      stores.push(s);
      await s.set('conflict', { n: 1 });
      const loaded = await s.load('conflict');
      proxy.inject('transaction-conflict', 2, 'UpdateItem');
      assert.equal(await s.commit(loaded!.handle, 'conflict', { n: 2 }), 'written');
      assert.equal(proxy.requests.filter((r) => r.operation === 'UpdateItem' && r.action === 'transaction-conflict').length, 2);
      assert.deepEqual(await store.get('conflict'), { n: 2 });
    } finally {
      await proxy.close();
    }
  });

  it('maxSessionBytes: a session past it is a SessionTooLargeError that names it, nothing written; the decode cap names itself', async () => {
    const capped = open({ maxSessionBytes: 400 * 1024 });
    await capped.set('capped', { keep: 'me' });
    const loaded = await capped.load('capped');
    const calls = JSON.stringify(capped.stats().calls);
    await assert.rejects(capped.commit(loaded!.handle, 'capped', { blob: noise(500 * 1024) }), (err: unknown) => {
      assert.ok(err instanceof SessionTooLargeError);
      assert.match(err.message, /maxSessionBytes/);
      assert.match(err.message, /nothing was written/);
      assert.equal(err.limit, 400 * 1024);
      return true;
    });
    assert.equal(JSON.stringify(capped.stats().calls), calls);
    assert.deepEqual(await capped.get('capped'), { keep: 'me' });
    await assert.rejects(store.set('over-default', { blob: noise(4.2 * MB) }), (err: unknown) => {
      assert.ok(err instanceof SessionTooLargeError);
      assert.match(err.message, /decode|inflate/);
      return true;
    });
    // Uncompressed, a JSON just under the decode cap makes items just over 4 MB.
    const plain = open({ compression: false });
    await assert.rejects(plain.set('over-default', { blob: noise(4 * MB - 64) }), (err: unknown) => {
      assert.ok(err instanceof SessionTooLargeError);
      assert.match(err.message, /maxSessionBytes \(4194304\)/);
      return true;
    });
    assert.deepEqual(await itemsOf(store, 'over-default'), []);
  });

  it('the largest session the codec and maxSessionBytes let through is stored, read back and kept by the decode cache', async () => {
    // Base64-like text compresses to three quarters: a JSON near the decode cap fits in 4 MB of items.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    let blob = '';
    for (let i = 0; i < MAX_DECODED_BYTES - 64; i++) blob += alphabet[randomInt(64)];
    await store.set('largest', { blob });
    const cold = open();
    assert.ok(((await cold.get('largest')) as { blob: string }).blob === blob);
    assert.deepEqual(await callsDuring(cold, () => cold.get('largest')), { GetItem: 1 });
    await store.destroy('largest');
  });

  it('the CLI lists a chunked session once with its whole size, shows it decoded, counts it once and deletes all of it', async () => {
    const s = new SessionStore(chunkedOptions());
    stores.push(s);
    const blob = noise(900 * 1024);
    await s.set('cli-big', { blob });
    await s.set('cli-small', { n: 1 });
    const run = async (...args: string[]) => {
      let stdout = '';
      let stderr = '';
      const sink = (write: (t: string) => void) => ({ write: (t: string) => (write(String(t)), true) }) as unknown as Writable & NodeJS.WriteStream;
      const code = await cli(['node', 'dynamodb-session', ...args, '--table', s.config.table, '--endpoint', ENDPOINT], {
        stdout: sink((t) => (stdout += t)),
        stderr: sink((t) => (stderr += t)),
      });
      return { code, stdout, stderr };
    };
    const list = await run('list', '--json');
    assert.equal(list.code, 0, list.stderr);
    const sessions = (JSON.parse(list.stdout) as { sessions: Array<{ key: string; dataBytes: number }> }).sessions;
    assert.deepEqual(sessions.map((x) => x.key).sort(), ['cli-big', 'cli-small'].map((id) => s.handleOf(id)).sort(), 'listed by handle');
    assert.ok(sessions.find((x) => x.key === s.handleOf('cli-big'))!.dataBytes > 600 * 1024, 'the whole stored size, not the head\'s');
    const show = await run('show', 'cli-big');
    assert.equal(show.code, 0, show.stderr);
    const shown = JSON.parse(show.stdout) as { data: { blob: string }; chunks: number };
    assert.ok(shown.data.blob === blob);
    assert.ok(shown.chunks >= 2);
    const stats = await run('stats', '--json');
    assert.equal(stats.code, 0, stats.stderr);
    assert.equal((JSON.parse(stats.stdout) as { live: number }).live, 2);
    assert.equal((await run('show', 'cli-big#1')).code, 1, 'a chunk is not a session');
    const del = await run('delete', 'cli-big');
    assert.equal(del.code, 0, del.stderr);
    assert.deepEqual((await scanAll(s)).map((i) => i.sessionId!.S), ['cli-small']);
  });
});

describe('maxSessionBytes and the decode cache agree', () => {
  it('maxSessionBytes is a positive integer no larger than the decode cap and a login\'s transaction allow (4 MB)', () => {
    assert.equal(resolveConfig({}).maxSessionBytes, 400 * 1024, 'one item by default: chunks are opt-in');
    for (const bad of [0, -1, 1.5, '1mb', 4 * MB + 1]) {
      assert.throws(() => resolveConfig({ maxSessionBytes: bad as number }), (err: unknown) => err instanceof ConfigError && /maxSessionBytes/.test(err.message));
    }
    assert.equal(resolveConfig({ maxSessionBytes: 100_000 }).maxSessionBytes, 100_000);
  });

  it("the store's decode cache keeps a session as large as the decode cap lets a session be", async () => {
    const store = new SessionStore(chunkedOptions());
    const json = 'x'.repeat(MAX_DECODED_BYTES);
    contextOf(store).decoded.set('k', 'w', json);
    assert.equal(contextOf(store).decoded.get('k', 'w'), json);
    await store.close();
  });
});

describe('chunks and TTL deletions', () => {
  it("TTL's deletion of a chunk item is no expired event; its head's is one", () => {
    const byTtl = (image: Item) => ({ eventName: 'REMOVE', userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' }, dynamodb: { OldImage: image } });
    const expiresAt = { N: String(Math.floor(Date.now() / 1000) - 60) };
    assert.equal(expiredEventFromRecord(byTtl({ sessionId: { S: 'big#2' }, expiresAt, writeId: { S: 'w' } })), undefined);
    assert.equal(expiredEventFromRecord(byTtl({ sessionId: { S: 'big' }, expiresAt, chunks: { N: '2' } }))?.key, 'big');
  });
});

describe('large sessions on dynalite (no transactions)', () => {
  const dynalite = ENGINES.find((e) => e.name === 'dynalite')!;
  it('a 1 MiB session is saved as chunks and a head switch, read back on another server, changed, and destroyed', async () => {
    const logger = quietLogger();
    const store = new SessionStore(chunkedOptions({ endpoint: dynalite.endpoint, logger, compression: false }));
    const other = new SessionStore({ ...chunkedOptions({ endpoint: dynalite.endpoint, logger, skipTableCheck: true }), table: store.config.table });
    try {
      await store.ready();
      const blob = noise(MB - 64);
      const calls = await callsDuring(store, () => store.set('d', { blob }));
      assert.equal(calls.TransactWriteItems, undefined);
      assert.deepEqual(calls, { PutItem: 3, UpdateItem: 1 });
      const loaded = await other.load('d');
      assert.ok((loaded?.data as { blob: string }).blob === blob, 'read back whole on another server');
      const changed = noise(MB - 64);
      assert.equal(await other.commit(loaded!.handle, 'd', { blob: changed }), 'written');
      assert.ok(((await store.get('d')) as { blob: string }).blob === changed);
      await assertWhole(store, 'd');
      await store.destroy('d');
      assert.equal(await other.get('d'), null);
      await assertGone(store, 'd');
    } finally {
      await store.close();
      await other.close();
    }
  });
});
