/**
 * Session ids in a header, for API and mobile clients (Spring Session's
 * HeaderHttpSessionIdResolver): every adapter, against its real framework,
 * reads the signed id from a request header and sends a new one back in a
 * response header, never a cookie.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import signature from 'cookie-signature';
import { SessionStore } from '../src/store/session-store.js';
import { localOptions } from './helpers/dynamo.js';
import { SECRET } from './helpers/web-app.js';
import type { SessionIdHeader } from '../src/adapters/id-header.js';

type App = { url: string; close(): Promise<void> };
type Data = { views?: number; user?: string };

const listen = async (server: Server): Promise<App> => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((r) => server.close(() => r())) };
};

/** Each framework's app with the three routes: GET /count, POST /login?user=, POST /logout, GET /peek. */
const apps: Record<string, (store: SessionStore, header: SessionIdHeader) => Promise<App>> = {
  async express(store, header) {
    const { default: express } = await import('express');
    const { DynamoDBStore, dynamoSession } = await import('../src/adapters/express.js');
    const app = express();
    app.use(dynamoSession({ store: new DynamoDBStore({ store }), secret: SECRET, resave: false, saveUninitialized: false, header }));
    const data = (req: { session: unknown }) => req.session as Data;
    app.get('/count', (req, res) => {
      data(req).views = (data(req).views ?? 0) + 1;
      res.json({ views: data(req).views });
    });
    app.get('/peek', (req, res) => res.json({ views: data(req).views ?? null, user: data(req).user ?? null }));
    app.post('/login', (req, res, next) => req.session.regenerate((err) => (err ? next(err) : ((data(req).user = String(req.query.user)), res.json({ user: data(req).user })))));
    app.post('/logout', (req, res, next) => req.session.destroy((err) => (err ? next(err) : res.json({ ok: true }))));
    return listen(createServer(app));
  },
  async fastify(store, header) {
    const { default: Fastify } = await import('fastify');
    const { fastifyDynamoSession } = await import('../src/adapters/fastify.js');
    const app = Fastify();
    await app.register(fastifyDynamoSession, { store, secret: SECRET, saveUninitialized: false, cookie: { secure: false }, header });
    const data = (req: { session: unknown }) => req.session as Data;
    app.get('/count', async (req) => ({ views: (data(req).views = (data(req).views ?? 0) + 1) }));
    app.get('/peek', async (req) => ({ views: data(req).views ?? null, user: data(req).user ?? null }));
    app.post<{ Querystring: { user: string } }>('/login', async (req) => {
      await req.session.regenerate();
      return { user: (data(req).user = req.query.user) };
    });
    app.post('/logout', async (req) => {
      await req.session.destroy();
      return { ok: true };
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, close: () => app.close() };
  },
  async koa(store, header) {
    const { default: Koa } = await import('koa');
    const { dynamoSession } = await import('../src/adapters/koa.js');
    const app = new Koa();
    app.keys = [SECRET];
    app.use(dynamoSession(app, { store, secret: SECRET, header }));
    app.use(async (ctx) => {
      const session = ctx.session as unknown as Data;
      if (ctx.path === '/count') ctx.body = { views: (session.views = (session.views ?? 0) + 1) };
      else if (ctx.path === '/peek') ctx.body = { views: session.views ?? null, user: session.user ?? null };
      else if (ctx.path === '/login') {
        await ctx.session!.regenerate();
        ctx.body = { user: ((ctx.session as unknown as Data).user = String(ctx.query.user)) };
      } else if (ctx.path === '/logout') {
        ctx.session = null;
        ctx.body = { ok: true };
      }
    });
    return listen(createServer(app.callback()));
  },
  async hono(store, header) {
    const { Hono } = await import('hono');
    const { dynamoSession } = await import('../src/adapters/hono.js');
    type Env = import('../src/adapters/hono.js').SessionEnv;
    const app = new Hono<Env>();
    app.use(dynamoSession({ store, secret: SECRET, header }));
    app.get('/count', (c) => {
      const s = c.get('session');
      s.set('views', (s.get<number>('views') ?? 0) + 1);
      return c.json({ views: s.get('views') });
    });
    app.get('/peek', (c) => c.json({ views: c.get('session').get('views') ?? null, user: c.get('session').get('user') ?? null }));
    app.post('/login', async (c) => {
      await c.get('session').regenerate();
      c.get('session').set('user', c.req.query('user'));
      return c.json({ user: c.req.query('user') });
    });
    app.post('/logout', async (c) => {
      await c.get('session').destroy();
      return c.json({ ok: true });
    });
    const { serve } = await import('@hono/node-server');
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise((r) => server.once('listening', r));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((r) => server.close(() => r())) };
  },
  async http(store, header) {
    const { sessionHandler } = await import('../src/adapters/http.js');
    const withSession = sessionHandler({ store, secret: SECRET, header });
    return listen(
      createServer((req, res) => {
        void withSession(req, res, async (session) => {
          const url = new URL(req.url ?? '/', 'http://x');
          let body: unknown = {};
          if (url.pathname === '/count') body = { views: session.set('views', (session.get<number>('views') ?? 0) + 1).get('views') };
          else if (url.pathname === '/peek') body = { views: session.get('views') ?? null, user: session.get('user') ?? null };
          else if (url.pathname === '/login') {
            await session.regenerate();
            body = { user: session.set('user', url.searchParams.get('user')).get('user') };
          } else if (url.pathname === '/logout') {
            await session.destroy();
            body = { ok: true };
          }
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify(body));
        });
      }),
    );
  },
  async web(store, header) {
    const { webSessions } = await import('../src/adapters/web.js');
    const { serve } = await import('@hono/node-server');
    const web = webSessions({ store, secret: SECRET, header });
    const server = serve({
      fetch: (request) =>
        web.handle(request, async (session) => {
          const url = new URL(request.url);
          if (url.pathname === '/count') return Response.json({ views: session.set('views', (session.get<number>('views') ?? 0) + 1).get('views') });
          if (url.pathname === '/peek') return Response.json({ views: session.get('views') ?? null, user: session.get('user') ?? null });
          if (url.pathname === '/login') {
            await session.regenerate();
            return Response.json({ user: session.set('user', url.searchParams.get('user')).get('user') });
          }
          await session.destroy();
          return Response.json({ ok: true });
        }),
      port: 0,
      hostname: '127.0.0.1',
    });
    await new Promise((r) => server.once('listening', r));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((r) => server.close(() => r())) };
  },
};

/** The API client's side: it keeps the id the server last sent in a header, and sends it back. */
class HeaderClient {
  id: string | undefined;
  constructor(
    private readonly request: string,
    private readonly response: string,
    private readonly scheme?: string,
  ) {}

  async call(url: string, init: RequestInit = {}): Promise<{ res: Response; body: Record<string, unknown> }> {
    const headers = new Headers(init.headers);
    if (this.id !== undefined) headers.set(this.request, this.scheme ? `${this.scheme} ${this.id}` : this.id);
    const res = await fetch(url, { ...init, headers });
    const body = (await res.json()) as Record<string, unknown>;
    if (res.headers.has(this.response)) this.id = res.headers.get(this.response) || undefined;
    return { res, body };
  }
}

for (const framework of Object.keys(apps)) {
  describe(`${framework}: the session id in a header`, { concurrency: false }, () => {
    const store = new SessionStore(localOptions());
    let app: App;
    let bearer: App;
    before(async () => {
      await store.ready();
      app = await apps[framework]!(store, 'X-Session-Id');
      bearer = await apps[framework]!(store, { name: 'Authorization', scheme: 'Bearer' });
    });
    after(async () => {
      await Promise.all([app?.close(), bearer?.close()]);
      await store.close();
    });

    it('a new session sends its signed id in X-Session-Id and no cookie; sent back, it keeps the session, and the header is not repeated', async () => {
      const client = new HeaderClient('X-Session-Id', 'X-Session-Id');
      const first = await client.call(`${app.url}/count`);
      assert.deepEqual(first.body, { views: 1 });
      assert.ok(client.id, 'X-Session-Id sent');
      assert.deepEqual(first.res.headers.getSetCookie(), []);
      const second = await client.call(`${app.url}/count`);
      assert.deepEqual(second.body, { views: 2 });
      assert.equal(second.res.headers.get('x-session-id'), null, 'the id did not change: no header');
      assert.deepEqual(second.res.headers.getSetCookie(), []);
    });

    it('login sends the new id, and the old one opens nothing; logout sends an empty id, and the last one opens nothing', async () => {
      const client = new HeaderClient('X-Session-Id', 'X-Session-Id');
      await client.call(`${app.url}/count`);
      const old = client.id!;
      await client.call(`${app.url}/login?user=ada`, { method: 'POST' });
      assert.notEqual(client.id, old);
      // (express-session, @fastify/session and koa-session start the new id empty; ours keep the data.)
      assert.equal((await client.call(`${app.url}/peek`)).body.user, 'ada');
      const replay = await fetch(`${app.url}/peek`, { headers: { 'X-Session-Id': old } });
      assert.deepEqual(await replay.json(), { views: null, user: null });
      const last = client.id!;
      const logout = await client.call(`${app.url}/logout`, { method: 'POST' });
      assert.equal(logout.res.headers.get('x-session-id'), '');
      assert.deepEqual(logout.res.headers.getSetCookie(), []);
      const after = await fetch(`${app.url}/peek`, { headers: { 'X-Session-Id': last } });
      assert.deepEqual(await after.json(), { views: null, user: null });
    });

    it('a forged id, or a session cookie, opens nothing: only a validly signed header does', async () => {
      const client = new HeaderClient('X-Session-Id', 'X-Session-Id');
      await client.call(`${app.url}/count`);
      const [value, mac] = [client.id!.slice(0, client.id!.lastIndexOf('.')), client.id!.slice(client.id!.lastIndexOf('.') + 1)];
      const forged = await fetch(`${app.url}/peek`, { headers: { 'X-Session-Id': `${value}.${mac.split('').reverse().join('')}` } });
      assert.deepEqual(await forged.json(), { views: null, user: null });
      for (const name of ['sid', 'connect.sid', 'sessionId', 'koa.sess']) {
        const asCookie = await fetch(`${app.url}/peek`, { headers: { cookie: `${name}=${encodeURIComponent(client.id!)}` } });
        assert.deepEqual(await asCookie.json(), { views: null, user: null }, name);
      }
    });

    it('Authorization: Bearer <signed id> in, X-Session-Id out', async () => {
      const client = new HeaderClient('Authorization', 'X-Session-Id', 'Bearer');
      await client.call(`${bearer.url}/count`);
      assert.ok(client.id);
      assert.deepEqual((await client.call(`${bearer.url}/count`)).body, { views: 2 });
      const other = await fetch(`${bearer.url}/peek`, { headers: { Authorization: `Basic ${client.id}` } });
      assert.deepEqual(await other.json(), { views: null, user: null }, 'another scheme is not a session id');
    });
  });
}

it('the id in the header is signed as the cookie is: express-session\'s s:<id>.<HMAC-SHA256> under the same secret', async () => {
  const store = new SessionStore(localOptions());
  const app = await apps.express!(store, 'X-Session-Id');
  try {
    const res = await fetch(`${app.url}/count`);
    const signed = res.headers.get('x-session-id')!;
    assert.match(signed, /^s:/);
    const id = signature.unsign(signed.slice(2), SECRET);
    assert.ok(id, 'verifies with the secret');
    assert.deepEqual((await store.get(id))?.views, 1);
  } finally {
    await app.close();
    await store.close();
  }
});

it('options: a header name that is not a token is a ConfigError; Koa needs a secret for it', async () => {
  const { webSessions } = await import('../src/adapters/web.js');
  assert.throws(() => webSessions({ ...localOptions(), secret: SECRET, header: 'X Session' }), { code: 'DSM_CONFIG' });
  assert.throws(() => webSessions({ ...localOptions(), secret: SECRET, header: { name: 'Authorization', scheme: 'Bearer token' } }), { code: 'DSM_CONFIG' });
  const { default: Koa } = await import('koa');
  const { dynamoSession } = await import('../src/adapters/koa.js');
  const store = new SessionStore(localOptions());
  try {
    assert.throws(() => dynamoSession(new Koa(), { store, header: 'X-Session-Id' }), /needs "secret"/);
  } finally {
    await store.close();
  }
});
