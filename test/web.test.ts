/**
 * dynamodb-session-manager/web: the Web-standard core (Request, Response,
 * Headers), served over real HTTP. Two apps, each with its own store, share
 * one table as two servers would.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ENDPOINT, localOptions, uniqueTable } from './helpers/dynamo.js';
import { CookieClient } from './helpers/servers.js';
import { concurrentStatuses, assertUnavailable, viewsOnceBack } from './helpers/scenarios.js';
import { startTcpProxy } from './helpers/tcp-proxy.js';
import { SECRET, startWebApp, type WebApp } from './helpers/web-app.js';
import { unavailableResponse, webSessions } from '../src/adapters/web.js';
import { ConfigError, StoreUnavailableError, LockTimeoutError } from '../src/errors.js';
import { nextSessions } from '../src/adapters/next.js';
import { createDynamoSessionStorage } from '../src/adapters/react-router.js';

type Peek = { session: { views?: number; keys?: Record<string, number>; user?: string; n?: number } };

describe('web: two servers, one table', { concurrency: false }, () => {
  const table = uniqueTable('web');
  let a: WebApp;
  let b: WebApp;
  before(async () => {
    [a, b] = await Promise.all([startWebApp({ ...localOptions({ table }), secret: SECRET }), startWebApp({ ...localOptions({ table }), secret: SECRET })]);
  });
  after(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await Promise.all([a?.web.sessions.store.close(), b?.web.sessions.store.close()]);
  });

  it('a session follows its cookie from one server to the other', async () => {
    const client = new CookieClient();
    for (let i = 1; i <= 6; i++) assert.deepEqual(await client.json(`${(i % 2 ? a : b).url}/count`), { views: i });
    assert.match(client.cookie('sid') ?? '', /^s%3A/);
  });

  it('a request that only reads sets no cookie and writes nothing', async () => {
    const client = new CookieClient();
    await client.json(`${a.url}/count`);
    const before = a.web.sessions.store.stats();
    const res = await client.request(`${a.url}/peek`);
    assert.equal((await res.json() as Peek).session.views, 1);
    assert.deepEqual(res.headers.getSetCookie(), []);
    const after = a.web.sessions.store.stats();
    assert.equal(Object.values(after.calls).reduce((x, y) => x + y, 0) - Object.values(before.calls).reduce((x, y) => x + y, 0), 1, 'one GetItem');
  });

  it('40 concurrent POST increments over two servers lose none (auto: unsafe methods take a lease)', async () => {
    const client = new CookieClient();
    await client.json(`${a.url}/count`);
    const statuses = await concurrentStatuses(client, [a.url, b.url], '/incr', 40);
    assert.deepEqual(statuses.filter((s) => s !== 200), []);
    assert.equal((await client.json<Peek>(`${b.url}/peek`)).session.n, 40);
  });

  it('concurrent GETs that each write their own key are merged, none lost (no lease, a three-way merge)', async () => {
    const client = new CookieClient();
    await client.json(`${a.url}/count`);
    const statuses = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const res = await client.request(`${(i % 2 ? a : b).url}/touch/k${i}`);
        await res.text();
        return res.status;
      }),
    );
    assert.deepEqual(statuses.filter((s) => s !== 200), []);
    assert.equal(Object.keys((await client.json<Peek>(`${a.url}/peek`)).session.keys ?? {}).length, 30);
  });

  it('login gives a new id and the old cookie no longer opens the session', async () => {
    const client = new CookieClient();
    await client.json(`${a.url}/count`);
    const old = client.cookie('sid')!;
    await client.json(`${b.url}/login?user=ada`, { method: 'POST' });
    assert.notEqual(client.cookie('sid'), old);
    assert.equal((await client.json<Peek>(`${a.url}/peek`)).session.user, 'ada');
    const replay = (await (await fetch(`${a.url}/peek`, { headers: { cookie: `sid=${old}` } })).json()) as Peek;
    assert.deepEqual(replay.session, {});
  });

  it('a logout sticks: the cookie is cleared, and a request that loaded the session before cannot bring it back', async () => {
    const client = new CookieClient();
    await client.json(`${a.url}/login?user=grace`, { method: 'POST' });
    const saved = client.cookie('sid')!;
    // A safe request's load (no lease) before the logout, its save after it.
    const late = webSessions({ store: b.web.sessions.store, secret: SECRET });
    const session = await late.getSession(new Request(`${b.url}/peek`, { headers: { cookie: `sid=${saved}` } }));
    assert.equal(session.get('user'), 'grace');
    const logout = await client.request(`${b.url}/logout`, { method: 'POST' });
    await logout.text();
    assert.match(logout.headers.getSetCookie().join('\n'), /^sid=;.*Expires=Thu, 01 Jan 1970/m);
    session.set('views', 99);
    await late.commitSession(session);
    const after = (await (await fetch(`${a.url}/peek`, { headers: { cookie: `sid=${saved}` } })).json()) as Peek;
    assert.deepEqual(after.session, {});
  });
});

it('web: DynamoDB unreachable → 503 with Retry-After (on load and on save); back → the session is intact', async () => {
  const proxy = await startTcpProxy(Number(new URL(ENDPOINT).port));
  const app = await startWebApp({ ...localOptions({ endpoint: proxy.endpoint, maxAttempts: 1, requestTimeoutMs: 1000 }), secret: SECRET });
  try {
    const client = new CookieClient();
    await client.json(`${app.url}/count`);
    proxy.down();
    assert.match(await assertUnavailable(await client.request(`${app.url}/count`)), /temporarily unavailable/);
    proxy.up();
    assert.equal(await viewsOnceBack(client, `${app.url}/peek`), 1, 'the session written before the outage, unchanged by the failed request');

    // The load succeeds, the save finds DynamoDB gone: the handler's response is replaced by the 503, CORS kept.
    const web = app.web;
    const cookie = `sid=${client.cookie('sid')}`;
    const replaced = await web.handle(new Request(`${app.url}/count`, { headers: { cookie } }), (session) => {
      session.set('views', 5);
      proxy.down();
      return Response.json({ views: 5 }, { headers: { 'Access-Control-Allow-Origin': '*', ETag: '"x"', 'Set-Cookie': 'app=1' } });
    });
    assert.equal(replaced.status, 503);
    assert.ok(replaced.headers.get('retry-after'));
    assert.equal(replaced.headers.get('access-control-allow-origin'), '*');
    assert.equal(replaced.headers.get('etag'), null);
    assert.deepEqual(replaced.headers.getSetCookie(), []);
  } finally {
    proxy.up();
    await app.close();
    await app.web.sessions.store.close();
    await proxy.close();
  }
});

describe('web: the parts', () => {
  it('unavailableResponse answers 503 with Retry-After for outages and lock time-outs, and nothing for other errors', async () => {
    const outage = unavailableResponse(new StoreUnavailableError('down', { retryAfterSeconds: 2.2 }))!;
    assert.equal(outage.status, 503);
    assert.equal(outage.headers.get('retry-after'), '3');
    assert.equal(outage.headers.get('cache-control'), 'no-store');
    assert.equal(unavailableResponse(new LockTimeoutError('busy', 1))!.status, 503);
    assert.equal(unavailableResponse(new Error('bug')), undefined);
  });

  it('getSession / commitSession / destroySession: the headers to merge, and a response whose headers are immutable gets them', async () => {
    const web = webSessions({ ...localOptions(), secret: SECRET });
    try {
      const session = await web.getSession(new Request('http://app.test/', { method: 'POST' }));
      assert.equal(session.isNew, true);
      assert.deepEqual([...(await web.commitSession(session)).keys()], [], 'an empty new session stores nothing and sets no cookie');
      const again = await web.getSession(new Request('http://app.test/', { method: 'POST' }));
      again.set('cart', ['apple']);
      const headers = await web.commitSession(again);
      const [cookie] = headers.getSetCookie();
      assert.match(cookie!, /^sid=s%3A[^;]+; Path=\/; Expires=[^;]+; HttpOnly; SameSite=Lax$/);
      const pair = cookie!.split(';')[0]!;
      const loaded = await web.getSession(new Request('http://app.test/', { headers: { cookie: pair } }));
      assert.deepEqual(loaded.data, { cart: ['apple'] });
      const cleared = await web.destroySession(loaded);
      assert.match(cleared.getSetCookie()[0]!, /^sid=; Path=\/; Expires=Thu, 01 Jan 1970/);
      assert.deepEqual((await web.getSession(new Request('http://app.test/', { headers: { cookie: pair } }))).data, {});
      // Response.redirect's headers are immutable: handle() copies the response to add the cookie.
      const redirected = await web.handle(new Request('http://app.test/login', { method: 'POST' }), (s) => {
        s.set('user', 'ada');
        return Response.redirect('http://app.test/', 303);
      });
      assert.equal(redirected.status, 303);
      assert.equal(redirected.headers.get('location'), 'http://app.test/');
      // The session cookie and, with reads eventual by default, the version cookie beside it.
      assert.deepEqual(redirected.headers.getSetCookie().map((c) => c.split('=')[0]), ['sid', 'sid.v']);
    } finally {
      await web.sessions.store.close();
    }
  });

  it('a handler that throws gives its lease back: the next request of the session does not wait for it', async () => {
    const web = webSessions({ ...localOptions({ maxLockWaitMs: 2000 }), secret: SECRET });
    try {
      const first = await web.handle(new Request('http://app.test/', { method: 'POST' }), (s) => {
        s.set('a', 1);
        return new Response('ok');
      });
      const cookie = first.headers.getSetCookie()[0]!.split(';')[0]!;
      await assert.rejects(
        web.handle(new Request('http://app.test/', { method: 'POST', headers: { cookie } }), () => {
          throw new Error('route failed');
        }),
        /route failed/,
      );
      const next = await web.handle(new Request('http://app.test/', { method: 'POST', headers: { cookie } }), (s) => Response.json(s.data));
      assert.equal(next.status, 200);
      assert.deepEqual(await next.json(), { a: 1 });
      assert.equal(web.sessions.store.stats().lockTimeouts, 0);
    } finally {
      await web.sessions.store.close();
    }
  });

  it('consistentRead: false: a write of a stored session sets the version cookie, and the next read of this client is eventual', async () => {
    const web = webSessions({ ...localOptions({ consistentRead: false, returnConsumedCapacity: true }), secret: SECRET });
    try {
      const first = await web.handle(new Request('http://app.test/', { method: 'POST' }), (s) => {
        s.set('a', 1);
        return new Response('ok');
      });
      const session = first.headers.getSetCookie()[0]!.split(';')[0]!;
      const second = await web.handle(new Request('http://app.test/', { method: 'POST', headers: { cookie: session } }), (s) => {
        s.set('a', 2);
        return new Response('ok');
      });
      const cookies = second.headers.getSetCookie().map((c) => c.split(';')[0]!);
      assert.equal(cookies.length, 2);
      assert.match(cookies[1]!, /^sid\.v=2\./);
      const before = web.sessions.store.stats().readCapacityUnits;
      await web.handle(new Request('http://app.test/', { headers: { cookie: cookies.join('; ') } }), () => new Response('ok'));
      assert.equal(web.sessions.store.stats().readCapacityUnits - before, 0.5);
    } finally {
      await web.sessions.store.close();
    }
  });
});

it('a build needs no runtime secret: the entries are made without "secret" (as `next build` evaluates the module), and the first request fails with a ConfigError that says so', async () => {
  // No secret in the environment of a build: nothing throws while the app's modules are evaluated.
  const web = webSessions({ ...localOptions(), secret: undefined });
  nextSessions({ ...localOptions(), secret: process.env.NO_SUCH_SECRET });
  createDynamoSessionStorage({ ...localOptions(), secret: process.env.NO_SUCH_SECRET });
  try {
    await assert.rejects(
      web.getSession(new Request('http://localhost/')),
      (err: unknown) => err instanceof ConfigError && /option "secret" is required.*checked at the first request/.test((err as Error).message),
    );
    // A list with an empty secret is a mistake in the code, not a missing runtime value: it still fails at once.
    assert.throws(() => webSessions({ ...localOptions(), secret: [SECRET, ''] }), ConfigError);
  } finally {
    await web.sessions.store.close();
  }
});

it("next: option header is a ConfigError that points to webSessions({ header }): getSession() reads and sets cookies through next/headers", () => {
  assert.throws(
    () => nextSessions({ ...localOptions(), secret: SECRET, header: 'X-Session-Id' } as never),
    (err: unknown) => err instanceof ConfigError && /does not fit getSession\(\).*webSessions\(\{ header \}\)/.test((err as Error).message),
  );
});
