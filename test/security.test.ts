/**
 * What a dump of the table gives away, and what hostile clients can do:
 * with `encryptionKeys` and `hashSessionIds` a dump holds neither session data
 * in clear nor a usable session id; key rotation keeps old sessions readable;
 * hostile cookies reach no DynamoDB call and crash nothing; hostile payloads
 * pollute no prototype.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import express from 'express';
import { DynamoDBStore, dynamoSession } from '../src/adapters/express.js';
import { SessionStore } from '../src/core/session-store.js';
import { describeFormat } from '../src/codec/format.js';
import { localOptions, uniqueTable } from './helpers/dynamo.js';
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
  app.use(dynamoSession({ store, secret: 'cookie secret', resave: false, saveUninitialized: false }));
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
      assert.equal((await store.store.ids()).length, 5);
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

  it('a session written with a key no longer listed reads as no session, with a warning, never as garbage', async () => {
    const table3 = uniqueTable('nokey');
    const writer = new SessionStore(localOptions({ table: table3, encryptionKeys: [KEY_OLD] }));
    await writer.set('orphan', { a: 1 });
    const reader = new SessionStore(localOptions({ table: table3, encryptionKeys: [KEY_NEW] }));
    assert.equal(await reader.get('orphan'), null);
    assert.match((reader.logger as unknown as { text(): string }).text(), /corrupt session item ignored/);
    await Promise.all([writer.close(), reader.close()]);
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
