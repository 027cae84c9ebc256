import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { GetItemCommand, PutItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { SessionStore } from '../src/store/session-store.js';
import { InvalidSessionIdError, SessionSerializationError, SessionTooLargeError } from '../src/errors.js';
import { describeFormat } from '../src/codec/codec.js';
import { createRequire } from 'node:module';
import { realisticSession } from './helpers/session-fixtures.js';
import { idTag } from '../src/core/session-id.js';
import { localOptions, quietLogger, type CapturedLogger } from './helpers/dynamo.js';

/** What earlier versions of this package compressed with (a dev dependency now, for this check). */
const lz4Napi = createRequire(import.meta.url)('lz4-napi') as { compressSync(data: Buffer): Buffer };

const future = () => String(Math.floor(Date.now() / 1000) + 3600);

describe('bad input', () => {
  let store: SessionStore;
  let logger: CapturedLogger;
  before(async () => {
    logger = quietLogger();
    store = new SessionStore(localOptions({ logger }));
    await store.ready();
  });
  after(() => store.close());

  const put = (id: string, attrs: Record<string, AttributeValue>) =>
    store.client.send(new PutItemCommand({ TableName: store.config.table, Item: { sessionId: { S: id }, ...attrs } }));
  const exists = async (id: string) =>
    (await store.client.send(new GetItemCommand({ TableName: store.config.table, Key: { sessionId: { S: id } }, ConsistentRead: true }))).Item !== undefined;

  const corrupt: Array<[string, Record<string, AttributeValue>]> = [
    ['garbage bytes', { data: { B: Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x13]) }, version: { N: '1' }, expiresAt: { N: future() } }],
    ['an unknown format version', { data: { B: Buffer.from([0x7f, 0x00, 0x7b, 0x7d]) }, version: { N: '1' }, expiresAt: { N: future() } }],
    ['data of the wrong attribute type', { data: { S: '{"a":1}' }, version: { N: '1' }, expiresAt: { N: future() } }],
    ['a version of the wrong attribute type', { data: { B: Buffer.from([1, 0, 0x7b, 0x7d]) }, version: { S: 'one' }, expiresAt: { N: future() } }],
    ['no expiresAt', { data: { B: Buffer.from([1, 0, 0x7b, 0x7d]) }, version: { N: '1' } }],
  ];

  for (const [label, attrs] of corrupt) {
    it(`an item with ${label} reads as no session, with one warning naming the hashed id`, async () => {
      const id = `corrupt-${label.replace(/\W+/g, '-')}`;
      await put(id, attrs);
      const warnings = logger.lines.filter((l) => l.level === 'warn').length;
      assert.equal(await store.get(id), null);
      const added = logger.lines.filter((l) => l.level === 'warn').slice(warnings);
      assert.equal(added.length, 1);
      const text = JSON.stringify(added[0]);
      assert.ok(text.includes(idTag(id)), text);
      assert.ok(!text.includes(id), 'the raw id is not logged');
      assert.ok(await exists(id), 'left in place without deleteCorruptSessions');
    });
  }

  it('deleteCorruptSessions removes a corrupt item', async () => {
    const deleting = new SessionStore({ ...localOptions({ logger: quietLogger() }), table: store.config.table, deleteCorruptSessions: true });
    await put('corrupt-delete', { data: { B: Buffer.from('garbage') }, version: { N: '1' }, expiresAt: { N: future() } });
    assert.equal(await deleting.get('corrupt-delete'), null);
    assert.equal(await exists('corrupt-delete'), false);
    await deleting.close();
  });

  it('an LZ4 session written by an earlier version (with lz4-napi) is read whole, never taken for corrupt, even with deleteCorruptSessions', async () => {
    const session = realisticSession(2_048, 3);
    await store.set('lz4-earlier', session);
    const item = await store.client.send(new GetItemCommand({ TableName: store.config.table, Key: { sessionId: { S: 'lz4-earlier' } }, ConsistentRead: true }));
    assert.equal(describeFormat(item.Item!.data!.B!).compression, 'lz4');
    // The same item as an earlier version stored it: format 1, flags lz4, then lz4-napi's payload.
    const earlier = Buffer.concat([Buffer.from([1, 0b11]), lz4Napi.compressSync(Buffer.from(JSON.stringify(session)))]);
    await put('lz4-earlier', { ...item.Item!, data: { B: earlier } });
    const other = new SessionStore({ ...localOptions({ logger: quietLogger() }), table: store.config.table, deleteCorruptSessions: true });
    try {
      assert.deepEqual(await other.get('lz4-earlier'), session);
      assert.equal(other.stats().corruptItems, 0);
    } finally {
      await other.close();
    }
    assert.ok(await exists('lz4-earlier'), 'not deleted');
  });

  it('a corrupt session is replaced by a fresh save instead of failing the request', async () => {
    await put('corrupt-resave', { data: { B: Buffer.from('garbage') }, version: { N: '4' }, expiresAt: { N: future() } });
    assert.equal(await store.load('corrupt-resave'), null);
    await store.set('corrupt-resave', { fresh: true });
    assert.deepEqual(await store.get('corrupt-resave'), { fresh: true });
  });

  for (const [label, id] of [
    ['empty', ''],
    ['over 1 KB', 'x'.repeat(1025)],
    ['multi-byte, over 1 KB in UTF-8', 'é'.repeat(600)],
  ] as const) {
    it(`an ${label} session id is refused without a DynamoDB call`, async () => {
      const calls = JSON.stringify(store.stats().calls);
      await assert.rejects(store.get(id), InvalidSessionIdError);
      await assert.rejects(store.set(id, { a: 1 }), InvalidSessionIdError);
      await assert.rejects(store.destroy(id), InvalidSessionIdError);
      assert.equal(JSON.stringify(store.stats().calls), calls);
    });
  }

  it('a session over maxSessionBytes is a SessionTooLargeError before any write, the stored state untouched', async () => {
    // Past 400 KB a session is stored in chunks (test/large-sessions.test.ts), up to maxSessionBytes.
    const capped = new SessionStore({ ...localOptions({ logger: quietLogger(), maxSessionBytes: 400 * 1024 }), table: store.config.table });
    await capped.set('too-big', { keep: 'me' });
    const loaded = await capped.load('too-big');
    assert.ok(loaded);
    const calls = JSON.stringify(capped.stats().calls);
    // Random data does not compress: this stays over the limit whatever the codec does.
    const noise = Buffer.from(Array.from({ length: 450_000 }, () => Math.floor(Math.random() * 256))).toString('base64');
    await assert.rejects(capped.commit(loaded.handle, 'too-big', { keep: 'me', noise }), (err: unknown) => {
      assert.ok(err instanceof SessionTooLargeError);
      assert.equal(err.code, 'DSM_SESSION_TOO_LARGE');
      assert.ok(err.size > 400 * 1024);
      assert.equal(err.limit, 400 * 1024);
      assert.match(err.message, /maxSessionBytes/);
      assert.match(err.message, /nothing was written/);
      return true;
    });
    assert.equal(JSON.stringify(capped.stats().calls), calls, 'no DynamoDB call');
    assert.deepEqual(await capped.get('too-big'), { keep: 'me' });
    await capped.close();
  });

  it('a value JSON cannot carry is a SessionSerializationError and the old state is kept', async () => {
    await store.set('bad-value', { keep: 'me' });
    const loaded = await store.load('bad-value');
    assert.ok(loaded);
    await assert.rejects(store.commit(loaded.handle, 'bad-value', { n: 10n }), SessionSerializationError);
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await assert.rejects(store.commit(loaded.handle, 'bad-value', { circular }), SessionSerializationError);
    assert.deepEqual(await store.get('bad-value'), { keep: 'me' });
  });
});
