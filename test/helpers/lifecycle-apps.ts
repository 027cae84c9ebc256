/**
 * One small app per adapter, in this process, for the lifecycle tests (flash
 * messages, keepAlive). Routes, the same on each:
 *
 * POST /app/flash?msg=  flash('notice', msg)                         → {ok}
 * GET  /app/show?wait=n takeFlash('notice'), once n requests have
 *                       loaded their session and reached the route   → {notice}
 * GET  /app/count       views + 1                                    → {views}
 * GET  /poll            reads views, writes nothing                  → {views}
 * POST /poll/mark       sets polled = true (a write on a poll route) → {ok}
 * POST /app/append?n=   list.push(n)                                 → {list}
 * POST /app/incr        n + 1                                        → {n}
 *
 * `keepAlive: '/app'` in the tests: /poll never extends the session.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SessionStore } from '../../src/store/session-store.js';
import type { SessionStoreOptions } from '../../src/config/options.js';
import { localOptions } from './dynamo.js';

export const FRAMEWORKS = ['express', 'fastify', 'koa', 'hono', 'http'] as const;
export type Framework = (typeof FRAMEWORKS)[number];

export const SECRET = 'a test secret that is at least thirty-two characters long';
export const COOKIE: Record<Framework, string> = { express: 'connect.sid', fastify: 'sessionId', koa: 'koa.sess', hono: 'sid', http: 'sid' };

export interface LifecycleApp {
  url: string;
  store: SessionStore;
  close(): Promise<void>;
}

export interface AppOptions {
  /** The adapter's keepAlive rule; absent: the default (every request). */
  keepAlive?: string | RegExp | ((req: never) => boolean);
  /** The cookie's lifetime and the store's ttl, ms. Default one hour. */
  lifetimeMs?: number;
  store?: SessionStoreOptions;
}

/** Waits until `n` requests have called it (n = 1: at once). */
function barrier() {
  const waiting = new Map<number, Array<() => void>>();
  return (n: number): Promise<void> => {
    if (n <= 1) return Promise.resolve();
    const list = waiting.get(n) ?? [];
    waiting.set(n, list);
    return new Promise<void>((resolve) => {
      list.push(resolve);
      if (list.length >= n) {
        waiting.delete(n);
        for (const go of list) go();
      }
    });
  };
}

const listen = async (server: Server): Promise<string> => {
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};
const closing = (server: Server) => () => new Promise<void>((r) => server.close(() => r()));

type Data = Record<string, unknown> & { views?: number; list?: number[]; n?: number };

/** What /app/append and /app/incr do to a session's data, the same in every app. */
function append(data: Data, url: string): { list: number[] } {
  data.list = [...(data.list ?? []), Number(new URL(url, 'http://x').searchParams.get('n'))];
  return { list: data.list };
}
function incr(data: Data): { n: number } {
  data.n = (data.n ?? 0) + 1;
  return { n: data.n };
}

export async function startApp(framework: Framework, options: AppOptions = {}): Promise<LifecycleApp> {
  const lifetimeMs = options.lifetimeMs ?? 3_600_000;
  const store = new SessionStore(localOptions({ ttl: Math.ceil(lifetimeMs / 1000), ...options.store }));
  await store.ready();
  const arrive = barrier();
  const keepAlive = options.keepAlive === undefined ? {} : { keepAlive: options.keepAlive as never };
  const wait = (url: string) => Number(new URL(url, 'http://x').searchParams.get('wait') ?? '1');
  const msg = (url: string) => new URL(url, 'http://x').searchParams.get('msg');

  if (framework === 'express') {
    const { default: express } = await import('express');
    const { DynamoDBStore, dynamoSession } = await import('../../src/adapters/express.js');
    const app = express();
    app.use(dynamoSession({ store: new DynamoDBStore({ store, ...keepAlive }), secret: SECRET, resave: false, saveUninitialized: false, cookie: { maxAge: lifetimeMs } }));
    const data = (req: { session: unknown }) => req.session as unknown as Data;
    app.post('/app/flash', (req, res) => {
      req.flash('notice', msg(req.url));
      res.json({ ok: true });
    });
    app.get('/app/show', async (req, res) => {
      await arrive(wait(req.url));
      res.json({ notice: (await req.takeFlash('notice')) ?? null });
    });
    app.get('/app/count', (req, res) => {
      data(req).views = (data(req).views ?? 0) + 1;
      res.json({ views: data(req).views });
    });
    app.get('/poll', (req, res) => res.json({ views: data(req).views ?? null }));
    app.post('/poll/mark', (req, res) => {
      data(req).polled = true;
      res.json({ ok: true });
    });
    app.post('/app/append', (req, res) => res.json(append(data(req), req.url)));
    app.post('/app/incr', (req, res) => res.json(incr(data(req))));
    const server = createServer(app);
    return { url: await listen(server), store, close: closing(server) };
  }

  if (framework === 'fastify') {
    const { default: Fastify } = await import('fastify');
    const { fastifyDynamoSession } = await import('../../src/adapters/fastify.js');
    const app = Fastify();
    await app.register(fastifyDynamoSession, { store, ...keepAlive, secret: SECRET, saveUninitialized: false, cookie: { secure: false, maxAge: lifetimeMs } });
    const data = (req: { session: unknown }) => req.session as Data;
    app.post('/app/flash', async (req) => {
      req.flash('notice', msg(req.url));
      return { ok: true };
    });
    app.get('/app/show', async (req) => {
      await arrive(wait(req.url));
      return { notice: (await req.takeFlash('notice')) ?? null };
    });
    app.get('/app/count', async (req) => {
      data(req).views = (data(req).views ?? 0) + 1;
      return { views: data(req).views };
    });
    app.get('/poll', async (req) => ({ views: data(req).views ?? null }));
    app.post('/poll/mark', async (req) => {
      data(req).polled = true;
      return { ok: true };
    });
    app.post('/app/append', async (req) => append(data(req), req.url));
    app.post('/app/incr', async (req) => incr(data(req)));
    await app.listen({ port: 0, host: '127.0.0.1' });
    return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, store, close: () => app.close() };
  }

  if (framework === 'koa') {
    const { default: Koa } = await import('koa');
    const { dynamoSession } = await import('../../src/adapters/koa.js');
    const app = new Koa();
    app.keys = [SECRET];
    app.use(dynamoSession(app, { store, ...keepAlive, maxAge: lifetimeMs }));
    app.use(async (ctx) => {
      const session = ctx.session as unknown as Data;
      if (ctx.path === '/app/flash' && ctx.method === 'POST') {
        ctx.flash('notice', msg(ctx.url));
        ctx.body = { ok: true };
      } else if (ctx.path === '/app/show') {
        await arrive(wait(ctx.url));
        ctx.body = { notice: (await ctx.takeFlash('notice')) ?? null };
      } else if (ctx.path === '/app/count') {
        session.views = (session.views ?? 0) + 1;
        ctx.body = { views: session.views };
      } else if (ctx.path === '/poll') {
        ctx.body = { views: session.views ?? null };
      } else if (ctx.path === '/poll/mark' && ctx.method === 'POST') {
        session.polled = true;
        ctx.body = { ok: true };
      } else if (ctx.path === '/app/append' && ctx.method === 'POST') {
        ctx.body = append(session, ctx.url);
      } else if (ctx.path === '/app/incr' && ctx.method === 'POST') {
        ctx.body = incr(session);
      }
    });
    const server = createServer(app.callback());
    return { url: await listen(server), store, close: closing(server) };
  }

  if (framework === 'hono') {
    const { Hono } = await import('hono');
    const { serve } = await import('@hono/node-server');
    const { dynamoSession } = await import('../../src/adapters/hono.js');
    const app = new Hono<import('../../src/adapters/hono.js').SessionEnv>();
    app.use(dynamoSession({ store, ...keepAlive, secret: SECRET, cookie: { maxAge: lifetimeMs } }));
    app.post('/app/flash', (c) => {
      c.get('session').flash('notice', msg(c.req.url));
      return c.json({ ok: true });
    });
    app.get('/app/show', async (c) => {
      await arrive(wait(c.req.url));
      return c.json({ notice: (await c.get('session').takeFlash('notice')) ?? null });
    });
    app.get('/app/count', (c) => {
      const s = c.get('session');
      s.set('views', (s.get<number>('views') ?? 0) + 1);
      return c.json({ views: s.get('views') });
    });
    app.get('/poll', (c) => c.json({ views: c.get('session').get('views') ?? null }));
    app.post('/poll/mark', (c) => {
      c.get('session').set('polled', true);
      return c.json({ ok: true });
    });
    app.post('/app/append', (c) => {
      const s = c.get('session');
      const data: Data = { list: s.get<number[]>('list') ?? [] };
      const out = append(data, c.req.url);
      s.set('list', out.list);
      return c.json(out);
    });
    app.post('/app/incr', (c) => {
      const s = c.get('session');
      s.set('n', (s.get<number>('n') ?? 0) + 1);
      return c.json({ n: s.get('n') });
    });
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
    await new Promise((r) => server.once('listening', r));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, store, close: closing(server) };
  }

  const { sessionHandler } = await import('../../src/adapters/http.js');
  const withSession = sessionHandler({ store, ...keepAlive, secret: SECRET, cookie: { maxAge: lifetimeMs } });
  const json = (res: ServerResponse, body: unknown) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(body));
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void withSession(req, res, async (session) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path === '/app/flash' && req.method === 'POST') {
        session.flash('notice', msg(req.url ?? ''));
        json(res, { ok: true });
      } else if (path === '/app/show') {
        await arrive(wait(req.url ?? ''));
        json(res, { notice: (await session.takeFlash('notice')) ?? null });
      } else if (path === '/app/count') {
        session.set('views', (session.get<number>('views') ?? 0) + 1);
        json(res, { views: session.get('views') });
      } else if (path === '/poll') {
        json(res, { views: session.get('views') ?? null });
      } else if (path === '/poll/mark' && req.method === 'POST') {
        session.set('polled', true);
        json(res, { ok: true });
      } else if (path === '/app/append' && req.method === 'POST') {
        const out = append({ list: session.get<number[]>('list') ?? [] }, req.url ?? '');
        session.set('list', out.list);
        json(res, out);
      } else if (path === '/app/incr' && req.method === 'POST') {
        session.set('n', (session.get<number>('n') ?? 0) + 1);
        json(res, { n: session.get('n') });
      } else {
        res.statusCode = 404;
        res.end();
      }
    }).catch((err: unknown) => {
      res.statusCode = 500;
      res.end(String(err));
    });
  });
  return { url: await listen(server), store, close: closing(server) };
}
