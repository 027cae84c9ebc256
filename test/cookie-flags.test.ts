/**
 * The session cookie's flags in every entry: `Secure` when the request came
 * over HTTPS (X-Forwarded-Proto only where the framework's own proxy trust
 * says so), never over plain HTTP; `SameSite=Lax` by default; and a cookie
 * cleared with the attributes it was set with, so that `Secure`, `__Host-`
 * and partitioned cookies really go.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';
import { Hono } from 'hono';
import { serve } from '@hono/node-server';
import { SessionStore } from '../src/store/session-store.js';
import { DynamoDBStore, dynamoSession as expressSession } from '../src/adapters/express.js';
import { fastifyDynamoSession } from '../src/adapters/fastify.js';
import { dynamoSession as koaSession } from '../src/adapters/koa.js';
import { dynamoSession as honoSession, type SessionEnv } from '../src/adapters/hono.js';
import { sessionHandler } from '../src/adapters/http.js';
import { webSessions } from '../src/adapters/web.js';
import { createDynamoSessionStorage } from '../src/adapters/react-router.js';
import { dynamoSessionHandle } from '../src/adapters/sveltekit.js';
import { localOptions, uniqueTable } from './helpers/dynamo.js';

const SECRET = 'a cookie-signing secret of at least 32 characters';
const store = new SessionStore(localOptions({ table: uniqueTable('flags') }));
after(() => store.close());

const attrs = (setCookie: string) =>
  setCookie
    .split(';')
    .slice(1)
    .map((a) => a.trim().toLowerCase());
const isSecure = (setCookie: string) => attrs(setCookie).includes('secure');
const sameSite = (setCookie: string) => attrs(setCookie).find((a) => a.startsWith('samesite='));

/** A server's session cookie (not the version cookie) on a request that starts a session. */
async function sessionCookie(url: string, name: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(`${url}/login`, { method: 'POST', headers });
  assert.equal(res.status, 200, await res.text());
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith(`${name}=`));
  assert.ok(cookie, `no ${name} cookie in ${JSON.stringify(res.headers.getSetCookie())}`);
  return cookie;
}

async function listen(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  after(() => new Promise<void>((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

type Entry = { name: string; cookie: string; start: () => Promise<string> };

const entries: Entry[] = [
  {
    name: 'express',
    cookie: 'connect.sid',
    async start() {
      const app = express();
      app.set('trust proxy', 'loopback');
      app.use(expressSession({ store: new DynamoDBStore({ store }), secret: SECRET, resave: false, saveUninitialized: false }));
      app.post('/login', (req, res) => {
        (req.session as unknown as { user: string }).user = 'ada';
        res.json({ ok: true });
      });
      return listen(createServer(app));
    },
  },
  {
    name: 'fastify',
    cookie: 'sessionId',
    async start() {
      const app = Fastify({ trustProxy: '127.0.0.1' });
      await app.register(fastifyDynamoSession, { store, secret: SECRET, saveUninitialized: false });
      app.post('/login', async (req) => {
        (req.session as unknown as { user: string }).user = 'ada';
        return { ok: true };
      });
      await app.listen({ port: 0, host: '127.0.0.1' });
      after(() => app.close());
      return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    },
  },
  {
    name: 'koa',
    cookie: 'koa.sess',
    async start() {
      const app = new Koa();
      app.proxy = true;
      app.keys = [SECRET];
      app.use(koaSession(app, { store }));
      app.use(async (ctx) => {
        (ctx.session as unknown as { user: string }).user = 'ada';
        ctx.body = { ok: true };
      });
      return listen(createServer(app.callback()));
    },
  },
  {
    name: 'hono',
    cookie: 'sid',
    async start() {
      const app = new Hono<SessionEnv>();
      app.use(honoSession({ store, secret: SECRET, trustProxy: true }));
      app.post('/login', (c) => {
        c.get('session').set('user', 'ada');
        return c.json({ ok: true });
      });
      const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
      await once(server, 'listening');
      after(() => new Promise<void>((r) => server.close(() => r())));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
  },
  {
    name: 'http',
    cookie: 'sid',
    async start() {
      const withSession = sessionHandler({ store, secret: SECRET, trustProxy: true });
      return listen(
        createServer((req, res) =>
          withSession(req, res, (session) => {
            session.set('user', 'ada');
            res.end('{}');
          }),
        ),
      );
    },
  },
];

describe('the session cookie: Secure from the request protocol, SameSite=Lax', () => {
  for (const entry of entries) {
    it(`${entry.name}: plain HTTP gets no Secure; HTTPS through a trusted proxy gets Secure; SameSite=Lax both ways`, async () => {
      const url = await entry.start();
      const plain = await sessionCookie(url, entry.cookie);
      assert.equal(isSecure(plain), false, plain);
      assert.equal(sameSite(plain), 'samesite=lax', plain);
      const https = await sessionCookie(url, entry.cookie, { 'x-forwarded-proto': 'https' });
      assert.equal(isSecure(https), true, https);
      assert.equal(sameSite(https), 'samesite=lax', https);
    });
  }

  it('http: X-Forwarded-Proto is not believed without trustProxy', async () => {
    const withSession = sessionHandler({ store, secret: SECRET });
    const url = await listen(
      createServer((req, res) =>
        withSession(req, res, (session) => {
          session.set('user', 'ada');
          res.end('{}');
        }),
      ),
    );
    assert.equal(isSecure(await sessionCookie(url, 'sid', { 'x-forwarded-proto': 'https' })), false);
  });

  it('web: a Request to an https URL gets Secure, an http one does not', async () => {
    const web = webSessions({ store, secret: SECRET });
    const cookieOf = async (url: string) => {
      const res = await web.handle(new Request(url, { method: 'POST' }), (session) => {
        session.set('user', 'ada');
        return new Response('ok');
      });
      return res.headers.getSetCookie().find((c) => c.startsWith('sid='))!;
    };
    const https = await cookieOf('https://example.test/login');
    assert.equal(isSecure(https), true, https);
    assert.equal(sameSite(https), 'samesite=lax');
    assert.equal(isSecure(await cookieOf('http://example.test/login')), false);
  });

  it('sveltekit: the handle follows the event URL (SvelteKit sets it from ORIGIN / PROTOCOL_HEADER)', async () => {
    const handle = dynamoSessionHandle({ store, secret: SECRET });
    const cookieOf = async (url: string) => {
      const event = { request: new Request(url, { method: 'POST' }), locals: {} as { session?: { set(k: string, v: unknown): void } } };
      const res = await handle({
        event: event as never,
        resolve: async () => {
          event.locals.session!.set('user', 'ada');
          return new Response('ok');
        },
      });
      return res.headers.getSetCookie().find((c) => c.startsWith('sid='))!;
    };
    assert.equal(isSecure(await cookieOf('https://example.test/form')), true);
    assert.equal(isSecure(await cookieOf('http://example.test/form')), false);
  });

  it('react-router: no request reaches the storage, so Secure follows NODE_ENV=production unless cookie.secure says; SameSite=Lax', async () => {
    const storage = createDynamoSessionStorage({ store, secret: SECRET });
    const commit = async () => {
      const session = await storage.getSession(null);
      session.set('user', 'ada');
      return storage.commitSession(session);
    };
    const before = process.env.NODE_ENV;
    try {
      delete process.env.NODE_ENV;
      const dev = await commit();
      assert.equal(isSecure(dev), false, dev);
      assert.equal(sameSite(dev), 'samesite=lax');
      process.env.NODE_ENV = 'production';
      assert.equal(isSecure(await commit()), true);
    } finally {
      if (before === undefined) delete process.env.NODE_ENV;
      else process.env.NODE_ENV = before;
    }
    const forced = createDynamoSessionStorage({ store, secret: SECRET, cookie: { secure: true } });
    const session = await forced.getSession(null);
    session.set('user', 'ada');
    assert.equal(isSecure(await forced.commitSession(session)), true);
  });
});

describe('a cleared cookie repeats its attributes', () => {
  const cookie = { secure: true, partitioned: true, domain: 'example.test', path: '/app', sameSite: 'none' as const };
  const expectSame = (cleared: string) => {
    const a = attrs(cleared);
    assert.match(cleared, /Expires=Thu, 01 Jan 1970/);
    for (const want of ['secure', 'partitioned', 'domain=example.test', 'path=/app', 'samesite=none', 'httponly']) assert.ok(a.includes(want), `${want} missing in ${cleared}`);
  };

  it('web (and so hono, http, next, sveltekit): destroy clears a __Host-/partitioned cookie with Secure, Partitioned, Domain and Path', async () => {
    const web = webSessions({ store, secret: SECRET, name: '__Host-sid', cookie });
    const res = await web.handle(new Request('https://example.test/app/login', { method: 'POST' }), (s) => {
      s.set('user', 'ada');
      return new Response('ok');
    });
    const set = res.headers.getSetCookie().find((c) => c.startsWith('__Host-sid='))!;
    const out = await web.handle(new Request('https://example.test/app/logout', { method: 'POST', headers: { cookie: set.split(';')[0]! } }), async (s) => {
      await s.destroy();
      return new Response('bye');
    });
    expectSame(out.headers.getSetCookie().find((c) => c.startsWith('__Host-sid='))!);
  });

  it('react-router: destroySession clears with the same attributes', async () => {
    const storage = createDynamoSessionStorage({ store, secret: SECRET, cookie });
    const session = await storage.getSession(null);
    session.set('user', 'ada');
    const set = await storage.commitSession(session);
    expectSame(await storage.destroySession(await storage.getSession(set.split(';')[0]!)));
  });
});

describe('a request racing a login', () => {
  it("does not clear the new login's cookie: its save finds the old session gone and sends no Set-Cookie", async () => {
    const web = webSessions({ store, secret: SECRET });
    const first = await web.handle(new Request('http://example.test/start', { method: 'POST' }), (s) => {
      s.set('cart', ['tea']);
      return new Response('ok');
    });
    const cookie = first.headers.getSetCookie().find((c) => c.startsWith('sid='))!.split(';')[0]!;
    // A slow request loaded the session; meanwhile the login regenerates its id.
    const slow = await web.getSession(new Request('http://example.test/slow', { headers: { cookie } }));
    const login = await web.getSession(new Request('http://example.test/login', { method: 'POST', headers: { cookie } }));
    await login.regenerate();
    login.set('user', 'ada');
    const loginCookies = (await web.commitSession(login)).getSetCookie();
    assert.ok(loginCookies.some((c) => c.startsWith('sid=s%3A') || c.startsWith('sid=s:')), JSON.stringify(loginCookies));
    slow.set('seen', true);
    const slowCookies = (await web.commitSession(slow)).getSetCookie().filter((c) => c.startsWith('sid='));
    assert.deepEqual(slowCookies, [], 'the racing response must not clear (or set) the session cookie');
  });
});
