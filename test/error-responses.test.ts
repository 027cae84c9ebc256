/**
 * A save that fails after the route has answered replaces the whole
 * response: a 500 (the session too large, or not serializable) or a 503 with
 * Retry-After (DynamoDB unreachable), with its own status, body, length and
 * type, none of the route's ETag, Content-Type or Content-Length, and no
 * cookie for a session that was not stored. Read as raw bytes: two pipelined
 * requests on one keep-alive connection, the second answered intact right
 * after the first, nothing left over. Errors that are not outages reach the
 * app's own error handling.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ErrorRequestHandler } from 'express';
import { SessionStore } from '../src/store/session-store.js';
import { SessionSerializationError, SessionTooLargeError } from '../src/errors.js';
import { ENDPOINT, localOptions, quietLogger, type CapturedLogger } from './helpers/dynamo.js';
import { startFaultProxy, type FaultProxy } from './helpers/fault-proxy.js';
import { get, header, pipelined, type RawResponse } from './helpers/raw-http.js';

const SECRET = 'a test secret that is at least thirty-two characters long';
const ORIGIN = 'https://app.example';

/** A value JSON.stringify would silently drop: a function, or a symbol. */
const unstorable = (key: string): unknown => (key === 'fn' ? () => 1 : Symbol('not storable'));

/** Random bytes in base64: ~600 KB that no codec squeezes under DynamoDB's 400 KB item limit. */
// Past the 4 MB a session's JSON may be (sessions past 400 KB are stored in chunks, up to maxSessionBytes).
const tooLarge = () => randomBytes(3.2 * 1024 * 1024).toString('base64');

type Framework = 'express' | 'fastify' | 'koa' | 'hono' | 'http';

interface App {
  port: number;
  /** What the app's own error handling received. */
  errors: unknown[];
  close(): Promise<void>;
}

/**
 * Routes, the same on each framework:
 *   GET /plain   'plain', text/plain; no session
 *   GET /setup   stores a session {n: 1}
 *   GET /big     puts ~600 KB in the session, answers JSON (with routeHeaders)
 *   GET /outage  cuts DynamoDB off, changes the session, answers JSON (with routeHeaders)
 *   GET /unstorable?key=fn|sym  sets only a function or a symbol in the session, answers JSON (with routeHeaders)
 * and an error handler that records the error and answers 500 'handled: <code>'
 * (none for node:http, which has no error handling of its own).
 */
type Build = (store: SessionStore, proxy: FaultProxy, errors: unknown[]) => Promise<{ server: Server }>;

/** What the failing routes set besides their body: CORS and Vary (to be kept), an ETag (to be dropped). */
function routeHeaders(set: (name: string, value: string) => void): void {
  set('Access-Control-Allow-Origin', ORIGIN);
  set('Vary', 'Origin');
  set('ETag', '"route-etag"');
}

const listen = async (server: Server) => {
  if (!server.listening) await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return server;
};

type Data = Record<string, unknown> & { n?: number };

const builders: Record<Framework, Build> = {
  async express(store, proxy, errors) {
    const { default: express } = await import('express');
    const { DynamoDBStore, dynamoSession } = await import('../src/adapters/express.js');
    const app = express();
    app.get('/plain', (_req, res) => {
      res.type('text/plain').send('plain');
    });
    app.use(dynamoSession({ store: new DynamoDBStore({ store }), secret: SECRET, resave: false, saveUninitialized: false }));
    const data = (req: { session: unknown }) => req.session as Data;
    app.get('/setup', (req, res) => {
      data(req).n = 1;
      res.json({ n: 1 });
    });
    app.get('/big', (req, res) => {
      routeHeaders((k, v) => res.setHeader(k, v));
      data(req).blob = tooLarge();
      res.json({ stored: true });
    });
    app.get('/outage', (req, res) => {
      routeHeaders((k, v) => res.setHeader(k, v));
      proxy.down();
      data(req).n = (data(req).n ?? 0) + 1;
      res.json({ n: data(req).n });
    });
    app.get('/unstorable', (req, res) => {
      routeHeaders((k, v) => res.setHeader(k, v));
      data(req)[String(req.query.key)] = unstorable(String(req.query.key));
      res.json({ set: true });
    });
    app.get('/etag', (req, res) => {
      routeHeaders((k, v) => res.setHeader(k, v));
      res.type('application/xml');
      data(req).blob = tooLarge();
      res.end('<stored/>');
    });
    const handler: ErrorRequestHandler = (err: { code?: string }, _req, res, _next) => {
      errors.push(err);
      res.status(500).type('text/plain').send(`handled: ${err.code}`);
    };
    app.use(handler);
    return { server: await listen(app.listen(0, '127.0.0.1')) };
  },

  async fastify(store, proxy, errors) {
    const { default: Fastify } = await import('fastify');
    const { fastifyDynamoSession } = await import('../src/adapters/fastify.js');
    const app = Fastify();
    await app.register(fastifyDynamoSession, { store, secret: SECRET, saveUninitialized: false, cookie: { secure: false } });
    const data = (req: { session: unknown }) => req.session as Data;
    app.get('/plain', async (_req, reply) => reply.type('text/plain').send('plain'));
    app.get('/setup', async (req) => {
      data(req).n = 1;
      return { n: 1 };
    });
    app.get('/big', async (req, reply) => {
      routeHeaders((k, v) => reply.header(k, v));
      data(req).blob = tooLarge();
      return { stored: true };
    });
    app.get('/outage', async (req, reply) => {
      routeHeaders((k, v) => reply.header(k, v));
      proxy.down();
      data(req).n = (data(req).n ?? 0) + 1;
      return { n: data(req).n };
    });
    app.get('/unstorable', async (req, reply) => {
      routeHeaders((k, v) => reply.header(k, v));
      const key = String((req.query as { key: string }).key);
      data(req)[key] = unstorable(key);
      return { set: true };
    });
    // As Fastify's own handler does, the status an error carries is honoured.
    app.setErrorHandler((err: Error & { code?: string; statusCode?: number }, _req, reply) => {
      errors.push(err);
      return reply
        .code(err.statusCode ?? 500)
        .type('text/plain')
        .send(`handled: ${err.code}`);
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    return { server: app.server };
  },

  async koa(store, proxy, errors) {
    const { default: Koa } = await import('koa');
    const { dynamoSession } = await import('../src/adapters/koa.js');
    const app = new Koa();
    app.keys = [SECRET];
    app.use(async (ctx, next) => {
      try {
        await next();
      } catch (err) {
        errors.push(err);
        ctx.status = 500;
        ctx.body = `handled: ${(err as { code?: string }).code}`;
      }
    });
    app.use(async (ctx, next) => {
      if (ctx.path !== '/plain') return next();
      ctx.type = 'text/plain';
      ctx.body = 'plain';
    });
    app.use(dynamoSession(app, { store }));
    app.use(async (ctx) => {
      const session = ctx.session as unknown as Data;
      if (ctx.path === '/setup') {
        session.n = 1;
        ctx.body = { n: 1 };
      } else if (ctx.path === '/big') {
        routeHeaders((k, v) => ctx.set(k, v));
        session.blob = tooLarge();
        ctx.body = { stored: true };
      } else if (ctx.path === '/outage') {
        routeHeaders((k, v) => ctx.set(k, v));
        proxy.down();
        session.n = (session.n ?? 0) + 1;
        ctx.body = { n: session.n };
      } else if (ctx.path === '/unstorable') {
        routeHeaders((k, v) => ctx.set(k, v));
        const key = String(ctx.query.key);
        session[key] = unstorable(key);
        ctx.body = { set: true };
      }
    });
    return { server: await listen(createServer(app.callback())) };
  },

  async hono(store, proxy, errors) {
    const { Hono } = await import('hono');
    const { serve } = await import('@hono/node-server');
    const { dynamoSession } = await import('../src/adapters/hono.js');
    type Env = import('../src/adapters/hono.js').SessionEnv;
    const app = new Hono<Env>();
    app.get('/plain', (c) => c.text('plain'));
    app.use(dynamoSession({ store, secret: SECRET }));
    app.get('/setup', (c) => {
      c.get('session').set('n', 1);
      return c.json({ n: 1 });
    });
    app.get('/big', (c) => {
      routeHeaders((k, v) => c.header(k, v));
      c.get('session').set('blob', tooLarge());
      return c.json({ stored: true });
    });
    app.get('/outage', (c) => {
      routeHeaders((k, v) => c.header(k, v));
      proxy.down();
      const session = c.get('session');
      session.set('n', (session.get<number>('n') ?? 0) + 1);
      return c.json({ n: session.get('n') });
    });
    app.get('/unstorable', (c) => {
      routeHeaders((k, v) => c.header(k, v));
      const key = c.req.query('key')!;
      c.get('session').set(key, unstorable(key));
      return c.json({ set: true });
    });
    app.onError((err, c) => {
      errors.push(err);
      return c.text(`handled: ${(err as { code?: string }).code}`, 500);
    });
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
    return { server: await listen(server) };
  },

  async http(store, proxy) {
    const { sessionHandler } = await import('../src/adapters/http.js');
    const withSession = sessionHandler({ store, secret: SECRET });
    const json = (res: ServerResponse, body: unknown) => {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify(body));
    };
    const server = createServer((req, res) => {
      if (req.url === '/plain') {
        res.setHeader('Content-Type', 'text/plain');
        res.end('plain');
        return;
      }
      void withSession(req, res, (session) => {
        if (req.url === '/setup') {
          session.set('n', 1);
          json(res, { n: 1 });
        } else if (req.url === '/big') {
          routeHeaders((k, v) => res.setHeader(k, v));
          session.set('blob', tooLarge());
          json(res, { stored: true });
        } else if (req.url === '/outage') {
          routeHeaders((k, v) => res.setHeader(k, v));
          proxy.down();
          session.set('n', (session.get<number>('n') ?? 0) + 1);
          json(res, { n: session.get('n') });
        } else if (req.url?.startsWith('/unstorable')) {
          routeHeaders((k, v) => res.setHeader(k, v));
          const key = new URL(req.url, 'http://x').searchParams.get('key')!;
          session.set(key, unstorable(key));
          json(res, { set: true });
        }
      });
    });
    return { server: await listen(server) };
  },
};

interface Harness extends App {
  proxy: FaultProxy;
  logger: CapturedLogger;
}

/** One app on a store that reaches DynamoDB Local through a proxy the routes can cut. */
async function start(framework: Framework): Promise<Harness> {
  const proxy = await startFaultProxy(Number(new URL(ENDPOINT).port));
  const logger = quietLogger();
  const store = new SessionStore(localOptions({ endpoint: proxy.endpoint, maxAttempts: 1, requestTimeoutMs: 2000, logger }));
  await store.ready();
  const errors: unknown[] = [];
  const { server } = await builders[framework](store, proxy, errors);
  return {
    port: (server.address() as AddressInfo).port,
    errors,
    proxy,
    logger,
    async close() {
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      proxy.up();
      await store.close();
      await proxy.close();
    },
  };
}

/** The Cookie header a browser would send after /setup. */
async function sessionCookie(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/setup`);
  assert.equal(res.status, 200, await res.text());
  const pairs = res.headers.getSetCookie().map((line) => line.split(';')[0]!);
  assert.ok(pairs.length > 0, 'the setup request stores a session');
  return pairs.join('; ');
}

/** The weak ETag Express's res.send computes for a body (the `etag` package's form). */
function weakEtag(body: Buffer): string {
  return `W/"${body.length.toString(16)}-${createHash('sha1').update(body).digest('base64').slice(0, 27)}"`;
}

/**
 * What every replaced response must be: a status of its own, a body its
 * declared length describes, nothing of the route's representation (its
 * Content-Type, its ETag), no cookie; CORS and Vary kept so a browser can
 * read the error.
 */
function assertReplaced(res: RawResponse, status: 500 | 503, routeType: RegExp): void {
  const shown = `\n${res.raw.slice(0, 800)}`;
  assert.equal(res.status, status, shown);
  if (status === 503) assert.match(header(res, 'retry-after') ?? '', /^\d+$/, shown);
  assert.equal(res.framing, 'content-length', shown);
  assert.equal(Number(header(res, 'content-length')), res.body.length, shown);
  assert.doesNotMatch(header(res, 'content-type') ?? '', routeType, `the route's Content-Type${shown}`);
  // An ETag can only be one the error handler computed for the error's own body (Express's res.send does).
  const tag = header(res, 'etag');
  if (tag !== undefined) assert.equal(tag, weakEtag(res.body), `a stale ETag${shown}`);
  assert.equal(header(res, 'set-cookie'), undefined, `a cookie for a session that was not stored${shown}`);
  assert.equal(header(res, 'access-control-allow-origin'), ORIGIN, `CORS kept${shown}`);
  assert.match(header(res, 'vary') ?? '', /Origin/, `Vary kept${shown}`);
}

function assertPlain(res: RawResponse): void {
  assert.equal(res.status, 200, res.raw.slice(0, 800));
  assert.equal(res.body.toString(), 'plain', res.raw.slice(0, 800));
}

const isTooLarge = (err: unknown) => err instanceof SessionTooLargeError;

for (const framework of ['express', 'fastify', 'koa', 'hono', 'http'] as const) {
  describe(`${framework}: a save that fails after the route answered`, { timeout: 60_000 }, () => {
    let app: Harness;
    before(async () => {
      app = await start(framework);
    });
    after(async () => {
      await app?.close();
    });

    it(
      framework === 'http'
        ? 'a session too large for DynamoDB becomes a clean 500, logged, and the next pipelined response is intact'
        : "a session too large for DynamoDB goes to the app's error handler, whose 500 replaces the route's response; the next pipelined response is intact",
      async () => {
        const { responses, leftover } = await pipelined(app.port, [get('/big'), get('/plain')]);
        assertReplaced(responses[0]!, 500, /json/);
        assertPlain(responses[1]!);
        assert.equal(leftover.length, 0, `left over on the connection: ${JSON.stringify(leftover.toString('latin1').slice(0, 200))}`);
        if (framework === 'http') {
          assert.ok(
            app.logger.lines.some((l) => l.level === 'error' && (l.obj as { code?: string }).code === 'DSM_SESSION_TOO_LARGE'),
            `the store's logger was told:\n${app.logger.text()}`,
          );
        } else {
          assert.equal(responses[0]!.body.toString(), 'handled: DSM_SESSION_TOO_LARGE');
          assert.ok(app.errors.some(isTooLarge), `the app's error handler received ${app.errors.map(String).join(', ')}`);
        }
      },
    );

    for (const key of ['fn', 'sym'] as const) {
      it(`a ${key === 'fn' ? 'function' : 'symbol'} set alone on a loaded session is not dropped silently: SessionSerializationError and a clean 500`, async () => {
        const cookie = await sessionCookie(app.port);
        const { responses, leftover } = await pipelined(app.port, [get(`/unstorable?key=${key}`, { Cookie: cookie }), get('/plain')]);
        assertReplaced(responses[0]!, 500, /json/);
        assertPlain(responses[1]!);
        assert.equal(leftover.length, 0);
        if (framework === 'http') {
          assert.ok(
            app.logger.lines.some((l) => l.level === 'error' && (l.obj as { code?: string }).code === 'DSM_SESSION_SERIALIZATION'),
            `the store's logger was told:\n${app.logger.text()}`,
          );
        } else {
          assert.equal(responses[0]!.body.toString(), 'handled: DSM_SESSION_SERIALIZATION');
          assert.ok(app.errors.some((e) => e instanceof SessionSerializationError && new RegExp(key).test(e.message)), `the app's error handler received ${app.errors.map(String).join(', ')}`);
        }
      });
    }

    it('DynamoDB unreachable at save time becomes a clean 503 with Retry-After, and the next pipelined response is intact', async () => {
      const cookie = await sessionCookie(app.port);
      const errorsBefore = app.errors.length;
      try {
        const { responses, leftover } = await pipelined(app.port, [get('/outage', { Cookie: cookie }), get('/plain')]);
        assertReplaced(responses[0]!, 503, /json/);
        assertPlain(responses[1]!);
        assert.equal(leftover.length, 0, `left over on the connection: ${JSON.stringify(leftover.toString('latin1').slice(0, 200))}`);
      } finally {
        app.proxy.up();
      }
      // Outages are answered by the adapter; only Fastify hands every error to its error handler (with the 503 on it).
      if (framework !== 'fastify') assert.equal(app.errors.length, errorsBefore, 'an outage is not an error for the app to handle');
    });
  });
}

describe('express: the route sets its own ETag and Content-Type', { timeout: 60_000 }, () => {
  let app: Harness;
  before(async () => {
    app = await start('express');
  });
  after(async () => {
    await app?.close();
  });

  it("a failed save leaves none of the route's ETag, Content-Type or length on the 500", async () => {
    const { responses, leftover } = await pipelined(app.port, [get('/etag'), get('/plain')]);
    assertReplaced(responses[0]!, 500, /xml/);
    assert.notEqual(header(responses[0]!, 'etag'), '"route-etag"');
    assertPlain(responses[1]!);
    assert.equal(leftover.length, 0);
    assert.ok(app.errors.some(isTooLarge));
  });
});

describe('express: without an error handler of the app', { timeout: 60_000 }, () => {
  it("Express's final handler answers the SessionTooLargeError with a clean 500", async () => {
    const { default: express } = await import('express');
    const { DynamoDBStore, dynamoSession } = await import('../src/adapters/express.js');
    const store = new DynamoDBStore(localOptions());
    await store.ready();
    const app = express();
    app.set('env', 'test'); // the final handler logs nothing in 'test'
    app.get('/plain', (_req, res) => {
      res.type('text/plain').send('plain');
    });
    app.use(dynamoSession({ store, secret: SECRET, resave: false, saveUninitialized: false }));
    app.get('/big', (req, res) => {
      routeHeaders((k, v) => res.setHeader(k, v));
      (req.session as unknown as Data).blob = tooLarge();
      res.json({ stored: true });
    });
    const server = await listen(app.listen(0, '127.0.0.1'));
    try {
      const { responses, leftover } = await pipelined((server.address() as AddressInfo).port, [get('/big'), get('/plain')]);
      assertReplaced(responses[0]!, 500, /json/);
      assertPlain(responses[1]!);
      assert.equal(leftover.length, 0);
    } finally {
      server.closeAllConnections();
      server.close();
      await store.store.close();
    }
  });

  it('dynamoSession() outside Express (no req.next) answers a clean 500 itself and logs the error', async () => {
    const { DynamoDBStore, dynamoSession } = await import('../src/adapters/express.js');
    const logger = quietLogger();
    const store = new DynamoDBStore(localOptions({ logger }));
    await store.ready();
    const middleware = dynamoSession({ store, secret: SECRET, resave: false, saveUninitialized: false });
    const server = createServer((req, res) => {
      if (req.url === '/plain') {
        res.setHeader('Content-Type', 'text/plain');
        res.end('plain');
        return;
      }
      middleware(req, res, () => {
        routeHeaders((k, v) => res.setHeader(k, v));
        ((req as unknown as { session: Data }).session).blob = tooLarge();
        res.setHeader('Content-Type', 'application/json');
        res.end('{"stored":true}');
      });
    });
    await listen(server);
    try {
      const { responses, leftover } = await pipelined((server.address() as AddressInfo).port, [get('/big'), get('/plain')]);
      assertReplaced(responses[0]!, 500, /json/);
      assertPlain(responses[1]!);
      assert.equal(leftover.length, 0);
      assert.ok(logger.lines.some((l) => l.level === 'error' && (l.obj as { code?: string }).code === 'DSM_SESSION_TOO_LARGE'), logger.text());
    } finally {
      server.closeAllConnections();
      server.close();
      await store.store.close();
    }
  });
});

describe("fastify: without an error handler of the app", { timeout: 60_000 }, () => {
  it("Fastify's own error handler answers a failed save: 500 for a session too large, 503 with Retry-After for an outage", async () => {
    const { default: Fastify } = await import('fastify');
    const { fastifyDynamoSession } = await import('../src/adapters/fastify.js');
    const proxy = await startFaultProxy(Number(new URL(ENDPOINT).port));
    const store = new SessionStore(localOptions({ endpoint: proxy.endpoint, maxAttempts: 1, requestTimeoutMs: 2000 }));
    await store.ready();
    const app = Fastify();
    await app.register(fastifyDynamoSession, { store, secret: SECRET, saveUninitialized: false, cookie: { secure: false } });
    const data = (req: { session: unknown }) => req.session as Data;
    app.get('/plain', async (_req, reply) => reply.type('text/plain').send('plain'));
    app.get('/setup', async (req) => {
      data(req).n = 1;
      return { n: 1 };
    });
    app.get('/big', async (req, reply) => {
      routeHeaders((k, v) => reply.header(k, v));
      data(req).blob = tooLarge();
      return reply.type('text/html').send('<p>stored</p>');
    });
    app.get('/outage', async (req, reply) => {
      routeHeaders((k, v) => reply.header(k, v));
      proxy.down();
      data(req).n = (data(req).n ?? 0) + 1;
      return reply.type('text/html').send('<p>stored</p>');
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as AddressInfo).port;
    try {
      const big = await pipelined(port, [get('/big'), get('/plain')]);
      assertReplaced(big.responses[0]!, 500, /html/);
      assert.equal(JSON.parse(big.responses[0]!.body.toString()).code, 'DSM_SESSION_TOO_LARGE');
      assertPlain(big.responses[1]!);
      assert.equal(big.leftover.length, 0);

      const cookie = await sessionCookie(port);
      const outage = await pipelined(port, [get('/outage', { Cookie: cookie }), get('/plain')]);
      assertReplaced(outage.responses[0]!, 503, /html/);
      assert.equal(header(outage.responses[0]!, 'cache-control'), 'no-store');
      assertPlain(outage.responses[1]!);
      assert.equal(outage.leftover.length, 0);
    } finally {
      proxy.up();
      await app.close();
      await store.close();
      await proxy.close();
    }
  });
});
