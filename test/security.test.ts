/**
 * What a dump of the table gives away, and what hostile clients can do:
 * with `encryptionKeys` and `hashSessionIds` a dump holds neither session data
 * in clear nor a usable session id; key rotation keeps old sessions readable;
 * hostile cookies reach no DynamoDB call and crash nothing; hostile payloads
 * pollute no prototype.
 */
import { contextOf } from '../src/store/session-store.js';
import { liveKeys } from '../src/core/table-scan.js';
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { inspect } from 'node:util';
import type { AddressInfo } from 'node:net';
import { createCipheriv, randomBytes } from 'node:crypto';
import { GetItemCommand, ScanCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import express from 'express';
import { DynamoDBStore, dynamoSession } from '../src/adapters/express.js';
import { SessionStore } from '../src/store/session-store.js';
import { describeFormat, writeHeader } from '../src/codec/format.js';
import { localOptions, uniqueTable } from './helpers/dynamo.js';
import { SECRET } from './helpers/web-app.js';
import { CookieClient, startServer, type ServerProcess } from './helpers/servers.js';
import type { StoreStats } from '../src/core/stats.js';

const KEY_OLD = { id: 'k2025', key: Buffer.alloc(32, 3) };
const KEY_NEW = { id: 'k2026', key: Buffer.alloc(32, 11) };
const ID_SECRET = 'an id-hashing secret of some length';
const SECRET_EMAIL = 'ada.lovelace@example.org';
const SECRET_TOKEN = 'csrf-7d1c0e5f9a3b2e48';

async function dump(store: SessionStore): Promise<string> {
  const out = await store.client.send(new ScanCommand({ TableName: store.config.table }));
  // Every attribute of every item, binary ones as text too: what someone with the table would see.
  return (out.Items ?? [])
    .map((item) => Object.entries(item).map(([k, v]) => `${k}=${v.S ?? v.N ?? (v.B ? Buffer.from(v.B).toString('latin1') : '')}`).join(' '))
    .join('\n');
}

async function expressApp(store: DynamoDBStore) {
  const app = express();
  app.use(dynamoSession({ store, secret: SECRET, resave: false, saveUninitialized: false }));
  app.get('/login', (req, res) => {
    Object.assign(req.session, { email: SECRET_EMAIL, csrf: SECRET_TOKEN });
    res.json({ id: req.sessionID });
  });
  app.get('/me', (req, res) => res.json({ email: (req.session as unknown as { email?: string }).email ?? null }));
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('at rest: encryption and hashed ids', () => {
  const table = uniqueTable('atrest');

  it('a dump of the table holds neither session data in clear nor any raw session id', async () => {
    const store = new DynamoDBStore(localOptions({ table, encryptionKeys: [KEY_OLD], hashSessionIds: ID_SECRET }));
    await store.ready();
    const { server, url } = await expressApp(store);
    try {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const client = new CookieClient();
        ids.push((await client.json<{ id: string }>(`${url}/login`)).id);
        assert.equal((await client.json<{ email: string }>(`${url}/me`)).email, SECRET_EMAIL, 'the app still reads its session');
      }
      const text = await dump(store.store);
      assert.equal((await liveKeys(contextOf(store.store))).length, 5);
      for (const secret of [SECRET_EMAIL, SECRET_TOKEN, 'ada', 'csrf', 'email']) assert.equal(text.includes(secret), false, `"${secret}" is in the dump`);
      for (const id of ids) assert.equal(text.includes(id), false, 'a raw session id is in the dump');
    } finally {
      server.close();
      await store.store.close();
    }
  });

  it('the same dump without the options shows what they protect: data and ids in clear', async () => {
    const store = new DynamoDBStore(localOptions({ compression: false }));
    await store.ready();
    const { server, url } = await expressApp(store);
    try {
      const id = (await new CookieClient().json<{ id: string }>(`${url}/login`)).id;
      const text = await dump(store.store);
      assert.ok(text.includes(SECRET_EMAIL));
      assert.ok(text.includes(id));
    } finally {
      server.close();
      await store.store.close();
    }
  });

  it('rotation: with the new key first and the old one listed, old sessions read and are rewritten with the new key', async () => {
    const table2 = uniqueTable('rotate');
    const before = new SessionStore(localOptions({ table: table2, encryptionKeys: [KEY_OLD] }));
    await before.set('rotating', { cart: ['tea'] });
    await before.close();

    const rotated = new SessionStore(localOptions({ table: table2, encryptionKeys: [KEY_NEW, KEY_OLD] }));
    const loaded = await rotated.load('rotating');
    assert.deepEqual(loaded?.data, { cart: ['tea'] });
    await rotated.commit(loaded!.handle, 'rotating', { cart: ['tea', 'cake'] });
    const raw = await rotated.client.send(new ScanCommand({ TableName: table2 }));
    assert.equal(describeFormat(raw.Items![0]!.data!.B!).keyId, 'k2026');

    // Once every live session has been rewritten (or has expired), the old key can go.
    const newOnly = new SessionStore(localOptions({ table: table2, encryptionKeys: [KEY_NEW] }));
    assert.deepEqual(await newOnly.get('rotating'), { cart: ['tea', 'cake'] });
    await Promise.all([rotated.close(), newOnly.close()]);
  });

  it('a session written with a key no longer listed is a configuration error (503), logged, kept, never read as garbage', async () => {
    const table3 = uniqueTable('nokey');
    const writer = new SessionStore(localOptions({ table: table3, encryptionKeys: [KEY_OLD] }));
    await writer.set('orphan', { a: 1 });
    const reader = new SessionStore(localOptions({ table: table3, encryptionKeys: [KEY_NEW], deleteCorruptSessions: true }));
    const got = await outcome(reader.get('orphan'));
    assert.equal((got as { code?: string }).code, 'DSM_ENCRYPTION_KEY');
    assert.match((reader.logger as unknown as { text(): string }).text(), /key this server cannot use/);
    assert.deepEqual(await writer.get('orphan'), { a: 1 }, 'not deleted, even with deleteCorruptSessions');
    await Promise.all([writer.close(), reader.close()]);
  });
});

/** The raw `data` of a session's item, and a way to put any bytes there: what anyone able to write to the table can do. */
async function rawData(store: SessionStore, id: string): Promise<Uint8Array> {
  const out = await store.client.send(new GetItemCommand({ TableName: store.config.table, Key: { sessionId: { S: store.keyOf(id) } }, ConsistentRead: true }));
  return out.Item!.data!.B!;
}
async function plant(store: SessionStore, id: string, data: Uint8Array): Promise<void> {
  await store.client.send(
    new UpdateItemCommand({
      TableName: store.config.table,
      Key: { sessionId: { S: store.keyOf(id) } },
      UpdateExpression: 'SET #d = :d',
      ExpressionAttributeNames: { '#d': 'data' },
      ExpressionAttributeValues: { ':d': { B: data } },
    }),
  );
}
const outcome = <T>(work: Promise<T>): Promise<T | Error> => work.then((v) => v, (err: Error) => err);

describe('an encrypted session opens only in its own item', () => {
  const options = (table: string) => localOptions({ table, encryptionKeys: [KEY_NEW], hashSessionIds: ID_SECRET, deleteCorruptSessions: true });

  it("a victim's data copied into the attacker's item is refused there, and nothing is deleted", async () => {
    const table = uniqueTable('swap');
    const writer = new SessionStore(options(table));
    await writer.set('victim-session', { user: 'admin' });
    await writer.set('attacker-session', { user: 'eve' });
    await plant(writer, 'attacker-session', await rawData(writer, 'victim-session'));

    const reader = new SessionStore(options(table));
    const got = await outcome(reader.get('attacker-session'));
    assert.notDeepEqual(got, { user: 'admin' }, 'the swapped blob must not open as the victim');
    assert.equal((got as { code?: string }).code, 'DSM_ENCRYPTION_KEY');
    assert.deepEqual(await reader.get('victim-session'), { user: 'admin' }, 'the victim still reads their own');
    assert.ok((await rawData(reader, 'attacker-session')).length > 0, 'kept, not deleted');
    await Promise.all([writer.close(), reader.close()]);
  });

  it("an older blob of one session put back into another (a rollback through a swap) is refused", async () => {
    const table = uniqueTable('rollback');
    const store = new SessionStore(options(table));
    await store.set('victim-session', { role: 'admin' });
    const old = await rawData(store, 'victim-session');
    await store.set('victim-session', { role: 'user' });
    await store.set('other-session', { role: 'user' });
    await plant(store, 'other-session', old);
    const reader = new SessionStore(options(table));
    const got = await outcome(reader.get('other-session'));
    assert.notDeepEqual(got, { role: 'admin' });
    assert.equal((got as { code?: string }).code, 'DSM_ENCRYPTION_KEY');
    await Promise.all([store.close(), reader.close()]);
  });

  it('a frame sealed before the binding (header-only additional data) is read once, then rewritten bound to its item', async () => {
    const table = uniqueTable('legacy');
    const store = new SessionStore(options(table));
    await store.set('old-session', { placeholder: true });
    // What releases before the binding wrote: AES-256-GCM over the JSON, the header alone as additional data.
    const header = writeHeader('none', KEY_NEW.id, false);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', KEY_NEW.key, iv, { authTagLength: 16 });
    cipher.setAAD(header);
    const body = Buffer.concat([cipher.update(JSON.stringify({ cart: ['tea'] })), cipher.final()]);
    await plant(store, 'old-session', Buffer.concat([header, iv, body, cipher.getAuthTag()]));
    assert.equal(describeFormat(await rawData(store, 'old-session')).bound, false);

    const reader = new SessionStore(options(table));
    assert.deepEqual(await reader.get('old-session'), { cart: ['tea'] });
    const now = await rawData(reader, 'old-session');
    assert.equal(describeFormat(now).bound, true, 'rewritten with the key binding');
    assert.deepEqual(await new SessionStore(options(table)).get('old-session'), { cart: ['tea'] });
    // Bound now: copied elsewhere it no longer opens.
    await reader.set('elsewhere', { x: 1 });
    await plant(reader, 'elsewhere', now);
    const third = new SessionStore(options(table));
    assert.equal(((await outcome(third.get('elsewhere'))) as { code?: string }).code, 'DSM_ENCRYPTION_KEY');
    await Promise.all([store.close(), reader.close(), third.close()]);
  });
});

describe('key rotation never deletes a session', () => {
  it('a rolling rotation across two servers: the one not yet given the new key answers 503, deletes nothing, and reads the session once it has the key', async () => {
    const table = uniqueTable('rolling');
    // Server A is deployed first with the new key in front; server B still runs the old configuration.
    const a = new DynamoDBStore(localOptions({ table, encryptionKeys: [KEY_NEW, KEY_OLD], deleteCorruptSessions: true }));
    const b = new DynamoDBStore(localOptions({ table, encryptionKeys: [KEY_OLD], deleteCorruptSessions: true }));
    await Promise.all([a.ready(), b.ready()]);
    const serverA = await expressApp(a);
    const serverB = await expressApp(b);
    try {
      const client = new CookieClient();
      await client.json(`${serverA.url}/login`);
      const onB = await client.request(`${serverB.url}/me`);
      assert.equal(onB.status, 503, 'a configuration error, not a lost session');
      assert.ok(Number(onB.headers.get('retry-after')) >= 1);
      assert.equal(onB.headers.getSetCookie().length, 0, 'the client keeps its cookie');
      assert.match((b.store.logger as unknown as { text(): string }).text(), /k2026[\s\S]*key this server cannot use|key this server cannot use[\s\S]*k2026/);
      assert.equal((await b.store.stats()).corruptItems, 0);
      assert.equal((await client.json<{ email: string }>(`${serverA.url}/me`)).email, SECRET_EMAIL, 'the session is still there');

      // B is deployed with the new configuration: the same session reads there too.
      const b2 = new DynamoDBStore(localOptions({ table, encryptionKeys: [KEY_NEW, KEY_OLD], deleteCorruptSessions: true }));
      const serverB2 = await expressApp(b2);
      try {
        assert.equal((await client.json<{ email: string }>(`${serverB2.url}/me`)).email, SECRET_EMAIL);
      } finally {
        serverB2.server.close();
        await b2.store.close();
      }
    } finally {
      serverA.server.close();
      serverB.server.close();
      await Promise.all([a.store.close(), b.store.close()]);
    }
  });

  it('a server given a different key under the same id answers 503 and deletes nothing', async () => {
    const table = uniqueTable('samekeyid');
    const right = new SessionStore(localOptions({ table, encryptionKeys: [KEY_NEW] }));
    const wrong = new SessionStore(localOptions({ table, encryptionKeys: [{ id: KEY_NEW.id, key: Buffer.alloc(32, 99) }], deleteCorruptSessions: true }));
    await right.set('shared', { user: 'ada' });
    assert.equal(((await outcome(wrong.get('shared'))) as { code?: string }).code, 'DSM_ENCRYPTION_KEY');
    assert.deepEqual(await right.get('shared'), { user: 'ada' });
    await Promise.all([right.close(), wrong.close()]);
  });
});

describe('secrets are not printable', () => {
  const ACCESS_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY';
  const TOKEN = 'FwoGZXIvYXdzEXAMPLESESSIONTOKEN0123456789';
  const HASH_SECRET = 'id-hashing-secret-0b7c1e9d5a3f2468ace';
  const KEY_BYTES = Buffer.from('6e0f3c9a1b2d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071829304a5b6c7', 'hex');
  const COOKIE_SECRET = 'cookie-signing-secret-5f1e2d3c4b5a69788796a5b4';
  // Every spelling a secret could take in the output: as given, and the key in base64, hex and as util.inspect prints a Buffer.
  const needles = [ACCESS_SECRET, TOKEN, HASH_SECRET, COOKIE_SECRET, KEY_BYTES.toString('base64'), KEY_BYTES.toString('hex'), inspect(KEY_BYTES).slice(8, 40)];

  const storeOptions = () =>
    localOptions({
      accessKeyId: 'AKIAEXAMPLE',
      secretAccessKey: ACCESS_SECRET,
      sessionToken: TOKEN,
      hashSessionIds: HASH_SECRET,
      encryptionKeys: [{ id: 'k1', key: KEY_BYTES }, { id: 'k0', key: KEY_BYTES.toString('base64') }],
    });

  it('util.inspect and JSON.stringify of every public object print no secret: stores, adapters, entries', async () => {
    const { FastifySessionStore } = await import('../src/adapters/fastify.js');
    const { KoaSessionStore } = await import('../src/adapters/koa.js');
    const { webSessions, ServerSessions } = await import('../src/adapters/web.js');
    const { createDynamoSessionStorage } = await import('../src/adapters/react-router.js');
    const { nextSessions } = await import('../src/adapters/next.js');
    const { dynamoSessionHandle } = await import('../src/adapters/sveltekit.js');
    const { sessionHandler } = await import('../src/adapters/http.js');
    const { dynamoSession: honoSession } = await import('../src/adapters/hono.js');

    const core = new SessionStore(storeOptions());
    const objects: Record<string, unknown> = {
      SessionStore: core,
      'SessionStore.config': core.config,
      DynamoDBStore: new DynamoDBStore(storeOptions()),
      FastifySessionStore: new FastifySessionStore(storeOptions()),
      KoaSessionStore: new KoaSessionStore(storeOptions()),
      ServerSessions: new ServerSessions({ ...storeOptions(), secret: COOKIE_SECRET }),
      webSessions: webSessions({ ...storeOptions(), secret: COOKIE_SECRET }),
      'React Router storage': createDynamoSessionStorage({ ...storeOptions(), secret: COOKIE_SECRET }),
      nextSessions: nextSessions({ ...storeOptions(), secret: COOKIE_SECRET }),
      'SvelteKit handle': dynamoSessionHandle({ ...storeOptions(), secret: COOKIE_SECRET }),
      'http handler': sessionHandler({ ...storeOptions(), secret: COOKIE_SECRET }),
      'Hono middleware': honoSession({ ...storeOptions(), secret: COOKIE_SECRET }),
    };
    try {
      for (const [name, object] of Object.entries(objects)) {
        const printed = [
          inspect(object, { depth: 8, showHidden: true }),
          inspect(object, { depth: 8, customInspect: false }),
          JSON.stringify(object) ?? '',
          `${String(object)}`,
        ].join('\n');
        for (const secret of needles) assert.equal(printed.includes(secret), false, `${name} prints a secret (${secret.slice(0, 6)}…)`);
      }
      assert.equal(core.config.secretAccessKey, '[redacted]', 'whether it is set stays visible');
      assert.deepEqual(core.config.encryptionKeys.map((k) => k.id), ['k1', 'k0']);
    } finally {
      await Promise.all(
        Object.values(objects).map((o) => {
          const store = (o as { store?: SessionStore; sessions?: { store: SessionStore } })?.store ?? (o as { sessions?: { store: SessionStore } })?.sessions?.store;
          return store instanceof SessionStore ? store.close() : (o as { store?: { close?: () => Promise<void> } })?.store?.close?.();
        }),
      );
      await core.close();
    }
  });

  it('the store still works with the real secrets it keeps out of sight: hashed ids, encryption', async () => {
    const table = uniqueTable('hidden');
    const options = () => localOptions({ table, hashSessionIds: HASH_SECRET, encryptionKeys: [{ id: 'k1', key: KEY_BYTES }] });
    const store = new SessionStore(options());
    await store.set('still-works', { a: 1 });
    const other = new SessionStore(options());
    assert.deepEqual(await other.get('still-works'), { a: 1 });
    assert.notEqual(store.keyOf('still-works'), 'still-works');
    await Promise.all([store.close(), other.close()]);
  });
});

describe('no raw session id leaves the store (hashSessionIds off)', () => {
  it('created, regenerated and destroyed events and listUserSessions name sessions by handle; revokeSession(handle, { userId }) ends only that user\'s session', async () => {
    const store = new SessionStore(localOptions({ table: uniqueTable('handles'), userId: 'user' }));
    const told: string[] = [];
    for (const event of ['created', 'regenerated', 'destroyed'] as const) {
      store.on(event, (e: { key: string; previousKey?: string }) => told.push(JSON.stringify(e)));
    }
    const ids = ['live-id-of-ada-phone-0123456789', 'live-id-of-ada-laptop-012345678', 'live-id-of-bob-desktop-01234567'];
    try {
      for (const [i, id] of ids.entries()) {
        const handle = store.newHandle(id);
        await store.commit(handle, id, { user: i < 2 ? 'ada' : 'bob' });
      }
      const regenerated = 'live-id-after-login-0123456789ab';
      const old = await store.load(ids[0]!, { lock: false });
      await store.destroy(ids[0]!, old!.handle, 'regenerate');
      await store.commit(store.newHandle(regenerated), regenerated, { user: 'ada' }, { replaces: old!.handle });

      const list = await store.listUserSessions('ada');
      assert.equal(list.sessions.length, 2);
      const listed = JSON.stringify(list);
      for (const id of [...ids, regenerated]) assert.equal(listed.includes(id), false, 'a live id in listUserSessions');

      // Bob cannot end Ada's session with her handle; Ada can.
      const laptop = list.sessions.find((s) => s.key === store.handleOf(ids[1]!))!;
      assert.ok(laptop, 'the handle is the one handleOf gives');
      assert.equal(await store.revokeSession(laptop.key, { userId: 'bob' }), false);
      assert.deepEqual(await store.get(ids[1]!), { user: 'ada' });
      assert.equal(await store.revokeSession(laptop.key, { userId: 'ada' }), true);
      assert.equal(await store.get(ids[1]!), null);
      await assert.rejects(store.revokeSession(laptop.key), { code: 'DSM_CONFIG' });

      assert.ok(told.length >= 5, told.join('\n'));
      for (const line of told) for (const id of [...ids, regenerated]) assert.equal(line.includes(id), false, `a live id in an event: ${line}`);
    } finally {
      await store.close();
    }
  });
});

describe('cost defaults: what an anonymous or hostile client can make the table bill', () => {
  it('a session past 400 KB is refused by default (no chunks, nothing written); chunks up to 4 MB are opt-in', async () => {
    const table = uniqueTable('cost');
    const big = { blob: randomBytes(450 * 1024).toString('base64') }; // 600 KB of JSON, 450 KB compressed at best
    const plain = new SessionStore(localOptions({ table }));
    await plain.ready();
    await assert.rejects(plain.set('big', big), { code: 'DSM_SESSION_TOO_LARGE' });
    assert.equal((await plain.client.send(new ScanCommand({ TableName: table }))).Count, 0, 'nothing written');
    const optedIn = new SessionStore(localOptions({ table, maxSessionBytes: 4 * 1024 * 1024 }));
    await optedIn.set('big', big);
    assert.deepEqual(await optedIn.get('big'), big);
    await Promise.all([plain.close(), optedIn.close()]);
  });

  it('React Router: requests without a cookie that set nothing write no item and get no session cookie', async () => {
    const { createDynamoSessionStorage } = await import('../src/adapters/react-router.js');
    const table = uniqueTable('rrcost');
    const storage = createDynamoSessionStorage({ ...localOptions({ table }), secret: 'a react router secret of 32 characters or more' });
    try {
      await storage.sessions.store.ready();
      for (let i = 0; i < 5; i++) {
        const session = await storage.getSession(null);
        const setCookie = await storage.commitSession(session);
        assert.match(setCookie, /Expires=Thu, 01 Jan 1970/, 'no cookie naming a session that is not stored');
      }
      assert.equal((await storage.sessions.store.client.send(new ScanCommand({ TableName: table }))).Count, 0, 'a cookieless request wrote an item');
    } finally {
      await storage.sessions.store.close();
    }
  });
});

describe('hostile payloads', () => {
  it('__proto__ and constructor keys in a stored session pollute no prototype when it loads', async () => {
    const store = new SessionStore(localOptions());
    const hostile = JSON.parse('{"__proto__": {"polluted": "yes"}, "constructor": {"prototype": {"polluted": "yes"}}, "user": {"__proto__": {"admin": true}}}') as Record<string, unknown>;
    await store.set('hostile', hostile);
    const loaded = (await store.get('hostile')) as Record<string, unknown>;
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.getPrototypeOf(loaded), Object.prototype);
    assert.equal((loaded.user as Record<string, unknown>).admin, undefined);
    await store.close();
  });
});

describe('hostile cookies, through every framework', () => {
  const table = uniqueTable('cookies');
  const frameworks = ['express', 'fastify', 'koa', 'hono', 'http'] as const;
  const names: Record<string, string> = { express: 'connect.sid', fastify: 'sessionId', koa: 'koa.sess', hono: 'sid', http: 'sid' };
  const servers: Record<string, ServerProcess> = {};
  before(async () => {
    for (const fw of frameworks) servers[fw] = await startServer('test/fixtures/framework-server.ts', { FRAMEWORK: fw, TABLE: table });
  });
  after(async () => {
    await Promise.all(Object.values(servers).map((s) => s.stop()));
  });

  const hostile = [
    ['garbage', '%%%;;=,{}[]\\'],
    ['a huge value', 's:' + 'A'.repeat(6000) + '.sig'],
    ['unicode', 's:%E2%9C%93%F0%9F%98%80.%E2%9C%93'],
    ['a forged signature', 's:someones-session-id.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['an unsigned id', 'someones-session-id'],
  ] as const;

  for (const fw of frameworks) {
    it(`${fw}: garbage, huge, unicode, forged and unsigned cookies get a fresh session, cost no DynamoDB call, and crash nothing`, async () => {
      const server = servers[fw]!;
      const calls = async () => Object.values(((await (await fetch(`${server.url}/stats`)).json()) as StoreStats).calls).reduce((a, b) => a + b, 0);
      const before = await calls();
      for (const [label, value] of hostile) {
        const res = await fetch(`${server.url}/peek`, { headers: { cookie: `${names[fw]}=${value}` } });
        assert.equal(res.status, 200, `${label}: ${res.status}`);
        const body = (await res.json()) as { session: Record<string, unknown> | null };
        assert.equal(body.session?.views, undefined, label);
      }
      assert.equal((await calls()) - before, 0, 'no hostile cookie reached DynamoDB');
      assert.equal((await new CookieClient().json<{ views: number }>(`${server.url}/count`)).views, 1, 'the server still serves');
    });
  }
});
