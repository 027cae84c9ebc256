/**
 * Passport.js (passport + passport-local, the real packages) over
 * dynamoSession(): the README's recipe, examples/passport/app.ts, run as a
 * server on DynamoDB Local. A login regenerates the id and keeps what
 * Passport keeps; the id before it is dead; a logout sticks; requests racing
 * a login or a logout do not bring the old session back; and the store's
 * `userId: 'passport.user'` files sessions under Passport's user, so
 * maxSessionsPerUser, listUserSessions and revoking a user work with no code
 * of the app's own.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { SessionStore } from '../src/store/session-store.js';
import { localOptions, uniqueTable, ENDPOINT } from './helpers/dynamo.js';
import { CookieClient, startServer, type ServerProcess } from './helpers/servers.js';

const table = uniqueTable('passport');
let server: ServerProcess;
let store: SessionStore;

before(async () => {
  server = await startServer('examples/passport/app.ts', { AWS_ENDPOINT_URL_DYNAMODB: ENDPOINT, TABLE: table, PORT: '0', MAX_SESSIONS_PER_USER: '2', SESSION_SECRET: 'a passport test secret of at least 32 characters' });
  store = new SessionStore({ ...localOptions(), table });
});
after(async () => {
  await server?.stop();
  await store?.close();
});

/** The session id inside express-session's signed cookie (`s:<id>.<signature>`). */
function sessionId(client: CookieClient): string {
  const value = decodeURIComponent(client.cookie('connect.sid') ?? '');
  assert.ok(value.startsWith('s:'), `a signed session cookie (got ${value})`);
  return value.slice(2, value.lastIndexOf('.'));
}

/** A client holding the same cookies as `client` now: a second tab, or a replay of an old cookie. */
function copyOf(client: CookieClient): CookieClient {
  const copy = new CookieClient();
  (copy as unknown as { cookies: Map<string, string> }).cookies = new Map((client as unknown as { cookies: Map<string, string> }).cookies);
  return copy;
}

const form = (body: Record<string, string>): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(body).toString(),
});

async function login(client: CookieClient, username = 'ada', password = 'analytical'): Promise<void> {
  const res = await client.request(`${server.url}/login`, form({ username, password }));
  assert.equal(res.status, 200, await res.text());
}

describe('Passport over dynamoSession()', () => {
  it('docs/frameworks/express.md shows examples/passport/app.ts exactly as the file is', () => {
    const page = readFileSync('docs/frameworks/express.md', 'utf8');
    const block = /<!-- examples\/passport\/app\.ts -->\n```ts\n([\s\S]*?)```/.exec(page);
    assert.ok(block, 'docs/frameworks/express.md has a block marked <!-- examples/passport/app.ts -->');
    assert.equal(block[1], readFileSync('examples/passport/app.ts', 'utf8'));
  });

  it('a login regenerates the session id and keeps what the visitor had (keepSessionInfo); the id before it is dead', async () => {
    const client = new CookieClient();
    assert.deepEqual(await client.json(`${server.url}/cart`, form({ item: 'book' })), { cart: ['book'] });
    const before = sessionId(client);
    const stale = copyOf(client);
    await login(client);
    const after = sessionId(client);
    assert.notEqual(after, before, 'a new id on login');
    assert.deepEqual(await client.json(`${server.url}/me`), { user: { id: 'ada', name: 'Ada Lovelace' }, cart: ['book'] });
    assert.equal(await store.get(before), null, 'the old id is deleted from the table');
    assert.deepEqual(await stale.json(`${server.url}/me`), { user: null, cart: [] }, 'the old cookie signs no one in');
    assert.equal(await store.get(before), null, 'and reading it did not bring it back');
    assert.equal((await store.get(after))?.passport && ((await store.get(after))!.passport as { user: string }).user, 'ada');
  });

  it('a wrong password is refused and changes nothing', async () => {
    const client = new CookieClient();
    const res = await client.request(`${server.url}/login`, form({ username: 'ada', password: 'wrong' }));
    assert.equal(res.status, 401);
    assert.deepEqual(await client.json(`${server.url}/me`), { user: null, cart: [] });
  });

  it('a logout sticks: the signed-in id is dead, a replay of its cookie signs no one in', async () => {
    const client = new CookieClient();
    await login(client, 'alan', 'enigma');
    const signedIn = sessionId(client);
    const replay = copyOf(client);
    assert.deepEqual(await client.json(`${server.url}/logout`, { method: 'POST' }), { user: null });
    assert.deepEqual(await client.json(`${server.url}/me`), { user: null, cart: [] });
    assert.equal(await store.get(signedIn), null);
    assert.deepEqual(await replay.json(`${server.url}/me`), { user: null, cart: [] });
    assert.deepEqual(await replay.json(`${server.url}/cart`, form({ item: 'pen' })), { cart: ['pen'] }, 'a write on the dead cookie starts a new session');
    assert.notEqual(sessionId(replay), signedIn);
    assert.equal(await store.get(signedIn), null, 'never the old one');
  });

  it('requests racing a login or a logout on the old cookie do not bring the old session back', async () => {
    const client = new CookieClient();
    await client.json(`${server.url}/cart`, form({ item: 'lamp' }));
    const anonymous = sessionId(client);
    const tabs = Array.from({ length: 8 }, () => copyOf(client));
    await Promise.all([login(client, 'alan', 'enigma'), ...tabs.map((tab, i) => tab.request(`${server.url}/${i % 2 ? 'me' : 'cart'}`, i % 2 ? {} : form({ item: `t${i}` })).then((r) => r.text()))]);
    assert.equal(await store.get(anonymous), null, 'the session before the login stays deleted');
    assert.equal((await client.json<{ user: { id: string } | null }>(`${server.url}/me`)).user?.id, 'alan');

    const signedIn = sessionId(client);
    const others = Array.from({ length: 8 }, () => copyOf(client));
    await Promise.all([
      client.json(`${server.url}/logout`, { method: 'POST' }),
      ...others.map((tab, i) => tab.request(`${server.url}/${i % 2 ? 'me' : 'cart'}`, i % 2 ? {} : form({ item: `u${i}` })).then((r) => r.text())),
    ]);
    assert.equal(await store.get(signedIn), null, 'the signed-in session stays deleted after the logout');
    for (const tab of others) assert.equal((await tab.json<{ user: unknown }>(`${server.url}/me`)).user, null, 'no tab is still signed in');
    assert.equal(await store.get(signedIn), null);
  });

  it("Passport's user is the session's userId: listed, limited by maxSessionsPerUser, revoked with the user", async () => {
    const devices = [new CookieClient(), new CookieClient()];
    for (const device of devices) await login(device, 'alan', 'enigma');
    const listed = await devices[1]!.json<{ sessions: Array<{ key: string }> }>(`${server.url}/devices`);
    assert.deepEqual(listed.sessions.map((s) => s.key).sort(), devices.map((d) => store.handleOf(sessionId(d))).sort(), "the user's two sessions, found by passport.user (by handle)");

    const third = new CookieClient();
    await login(third, 'alan', 'enigma');
    assert.equal((await devices[0]!.json<{ user: unknown }>(`${server.url}/me`)).user, null, 'a third login past maxSessionsPerUser: 2 ends the oldest');
    assert.equal((await devices[1]!.json<{ user: { id: string } }>(`${server.url}/me`)).user.id, 'alan');

    assert.equal(await store.destroyUserSessions('alan'), 2, 'revoking the user ends the sessions Passport signed in');
    for (const device of [devices[1]!, third]) assert.equal((await device.json<{ user: unknown }>(`${server.url}/me`)).user, null);
  });
});
