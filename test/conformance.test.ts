/**
 * The conformance matrix (issue 30.3): one table of scenarios, run through a
 * driver for each entry. A driver only translates: it serves the shared app
 * (`act`) through its entry, with the options a scenario asks for. A cell
 * passes, or is not applicable with the reason in its name; the summary is
 * printed at the end and kept in docs/conformance.md.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';
import { Hono } from 'hono';
import { serve } from '@hono/node-server';
import { SessionStore } from '../src/store/session-store.js';
import type { SessionStoreOptions } from '../src/config/options.js';
import { DynamoDBStore, dynamoSession as expressSession } from '../src/adapters/express.js';
import { fastifyDynamoSession } from '../src/adapters/fastify.js';
import { dynamoSession as koaSession } from '../src/adapters/koa.js';
import { dynamoSession as honoSession, type SessionEnv } from '../src/adapters/hono.js';
import { sessionHandler } from '../src/adapters/http.js';
import type { RequestSession } from '../src/adapters/server-session.js';
import { unavailableResponse, webSessions } from '../src/adapters/web.js';
import { randomBytes } from 'node:crypto';
import { dynamoSessionHandle } from '../src/adapters/sveltekit.js';
import { createDynamoSessionStorage } from '../src/adapters/react-router.js';
import { RequestPipeline, type Responder, type SessionRequestReader } from '../src/adapters/request-pipeline.js';
import { localOptions, uniqueTable } from './helpers/dynamo.js';
import { CookieClient } from './helpers/servers.js';

const SECRET = 'a conformance secret of at least thirty-two characters';
const AGENT = 'Conformance/1.0';
const ID_HEADER = 'X-Session-Id';

/** What the shared app needs of a session, whatever the entry calls it. */
interface AppSession {
  get(key: string): unknown;
  set(key: string, value: unknown): void;
  regenerate(): Promise<void>;
  destroy(): Promise<void>;
  flash(name: string, value: unknown): void;
  /** The flash message, taken out: once across requests. */
  takeFlash(name: string): Promise<unknown>;
}

/** The options a scenario gives an entry, beside its store. */
interface EntryOptions {
  /** Requests whose path starts with /poll do not extend the session. */
  keepAlivePoll?: boolean;
  /** The id travels in the X-Session-Id header, not a cookie. */
  header?: boolean;
}

interface Running {
  url: string;
  close(): Promise<void>;
}

interface Driver {
  name: string;
  start(store: SessionStore, options: EntryOptions): Promise<Running>;
  /** Scenarios that do not apply to this entry, with the reason. */
  notApplicable?: Partial<Record<Scenario, string>>;
}

const notPolled = (path: string) => !path.startsWith('/poll');

/**
 * The app every driver serves: its answer to one request, as status and JSON.
 * /data and /poll/data read; /set and /poll/set write k=v; /incr is a read-modify-write
 * across an await; /login regenerates and sets the user; /logout destroys; /hold keeps the
 * request (and any lease) for 1.2 s; /big writes more than the store's size bound.
 */
/** How many /hold requests have loaded their session (and taken its lease, if theirs is an unsafe method). */
let holdsStarted = 0;

async function act(method: string, url: URL, session: AppSession): Promise<{ status: number; body: unknown }> {
  const path = url.pathname.replace(/^\/poll/, '');
  const q = (name: string) => url.searchParams.get(name) ?? '';
  if (path === '/data') return { status: 200, body: { a: session.get('a') ?? null, n: session.get('n') ?? null, user: session.get('user') ?? null } };
  if (path === '/take') return { status: 200, body: { msg: (await session.takeFlash('msg')) ?? null } };
  if (path === '/hold') {
    holdsStarted += 1;
    await new Promise((r) => setTimeout(r, 1200));
    session.set('held', true);
    return { status: 200, body: { route: 'answered' } };
  }
  if (method !== 'POST') return { status: 404, body: {} };
  if (path === '/set') session.set(q('k'), q('v'));
  else if (path === '/flash') session.flash('msg', q('v'));
  else if (path === '/incr') {
    const n = Number(session.get('n') ?? 0);
    await new Promise((r) => setTimeout(r, 2));
    session.set('n', n + 1);
  } else if (path === '/login') {
    await session.regenerate();
    session.set('user', q('user'));
  } else if (path === '/logout') await session.destroy();
  else if (path === '/big') session.set('big', randomBytes(3072).toString('base64'));
  else return { status: 404, body: {} };
  return { status: 200, body: { route: 'answered' } };
}

async function listen(server: Server): Promise<Running> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((r) => server.close(() => r())) };
}

/** A fetch handler on node:http (through @hono/node-server), for the Web-standard entries. */
async function serveFetch(fetch: (request: Request) => Promise<Response>): Promise<Running> {
  const server = serve({ fetch, port: 0, hostname: '127.0.0.1' }) as Server;
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((r) => server.close(() => r())) };
}

const json = (answer: { status: number; body: unknown }) => Response.json(answer.body, { status: answer.status });
const fromRequestSession = (s: RequestSession): AppSession => ({
  get: (k) => s.get(k),
  set: (k, v) => void s.set(k, v),
  regenerate: () => s.regenerate(),
  destroy: () => s.destroy(),
  flash: (name, value) => void s.flash(name, value),
  takeFlash: (name) => s.takeFlash(name),
});

const drivers: Driver[] = [
  {
    name: 'express',
    async start(store, options) {
      const app = express();
      const dynamo = new DynamoDBStore({ store, ...(options.keepAlivePoll ? { keepAlive: (req: IncomingMessage) => notPolled(req.url ?? '') } : {}) });
      app.use(expressSession({ store: dynamo, secret: SECRET, resave: false, saveUninitialized: false, ...(options.header ? { header: ID_HEADER } : {}) }));
      app.use(async (req, res, next) => {
        const data = () => req.session as unknown as Record<string, unknown>;
        const session: AppSession = {
          get: (k) => data()[k],
          set: (k, v) => void (data()[k] = v),
          regenerate: () => new Promise((resolve, reject) => req.session.regenerate((err) => (err ? reject(err) : resolve()))),
          destroy: () => new Promise((resolve, reject) => req.session.destroy((err) => (err ? reject(err) : resolve()))),
          flash: (name, value) => req.flash(name, value),
          takeFlash: (name) => req.takeFlash(name),
        };
        try {
          const answer = await act(req.method, new URL(req.url, 'http://x'), session);
          res.status(answer.status).json(answer.body);
        } catch (err) {
          next(err);
        }
      });
      return listen(createServer(app));
    },
  },
  {
    name: 'fastify',
    async start(store, options) {
      const app = Fastify();
      await app.register(fastifyDynamoSession, {
        store,
        secret: SECRET,
        saveUninitialized: false,
        cookie: { secure: false },
        ...(options.keepAlivePoll ? { keepAlive: (req: { url: string }) => notPolled(req.url) } : {}),
        ...(options.header ? { header: ID_HEADER } : {}),
      });
      app.all('/*', async (req, reply) => {
        const session: AppSession = {
          get: (k) => req.session.get(k as never),
          set: (k, v) => req.session.set(k as never, v as never),
          regenerate: () => req.session.regenerate(),
          destroy: () => req.session.destroy(),
          flash: (name, value) => req.flash(name, value),
          takeFlash: (name) => req.takeFlash(name),
        };
        const answer = await act(req.method, new URL(req.url, 'http://x'), session);
        return reply.code(answer.status).send(answer.body);
      });
      await app.listen({ port: 0, host: '127.0.0.1' });
      return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, close: () => app.close() };
    },
  },
  {
    name: 'koa',
    async start(store, options) {
      const app = new Koa();
      app.keys = [SECRET];
      // The header carries the id signed with `secret`, as the other entries' cookies: koa-session's own app.keys sign no header.
      app.use(koaSession(app, { store, ...(options.keepAlivePoll ? { keepAlive: (ctx: Koa.Context) => notPolled(ctx.path) } : {}), ...(options.header ? { header: ID_HEADER, secret: SECRET } : {}) }));
      app.use(async (ctx) => {
        const data = () => ctx.session as unknown as Record<string, unknown>;
        const session: AppSession = {
          get: (k) => data()[k],
          set: (k, v) => void (data()[k] = v),
          regenerate: () => ctx.session!.regenerate(),
          destroy: async () => {
            ctx.session = null;
          },
          flash: (name, value) => ctx.flash(name, value),
          takeFlash: (name) => ctx.takeFlash(name),
        };
        const answer = await act(ctx.method, new URL(ctx.url, 'http://x'), session);
        ctx.status = answer.status;
        ctx.body = answer.body;
      });
      return listen(createServer(app.callback()));
    },
  },
  {
    name: 'hono',
    async start(store, options) {
      const app = new Hono<SessionEnv>();
      app.use(honoSession({ store, secret: SECRET, ...(options.keepAlivePoll ? { keepAlive: (c) => notPolled(c.req.path) } : {}), ...(options.header ? { header: ID_HEADER } : {}) }));
      app.all('*', async (c) => json(await act(c.req.method, new URL(c.req.url), fromRequestSession(c.get('session')))));
      return serveFetch((request) => Promise.resolve(app.fetch(request)));
    },
  },
  {
    name: 'http',
    async start(store, options) {
      const withSession = sessionHandler({ store, secret: SECRET, ...(options.keepAlivePoll ? { keepAlive: (req: IncomingMessage) => notPolled(req.url ?? '') } : {}), ...(options.header ? { header: ID_HEADER } : {}) });
      return listen(
        createServer((req: IncomingMessage, res: ServerResponse) => {
          withSession(req, res, async (session) => {
            const answer = await act(req.method ?? 'GET', new URL(req.url ?? '/', 'http://x'), fromRequestSession(session));
            res.statusCode = answer.status;
            res.setHeader('Content-Type', 'application/json');
            res.end(JSON.stringify(answer.body));
          }).catch(() => {
            if (!res.headersSent) res.statusCode = 500;
            res.end();
          });
        }),
      );
    },
  },
  {
    name: 'web',
    async start(store, options) {
      const web = webSessions({ store, secret: SECRET, ...(options.keepAlivePoll ? { keepAlive: (r: Request) => notPolled(new URL(r.url).pathname) } : {}), ...(options.header ? { header: ID_HEADER } : {}) });
      return serveFetch((request) => web.handle(request, async (session) => json(await act(request.method, new URL(request.url), fromRequestSession(session)))));
    },
  },
  {
    name: 'sveltekit',
    async start(store, options) {
      const handle = dynamoSessionHandle({ store, secret: SECRET, ...(options.keepAlivePoll ? { keepAlive: (r: Request) => notPolled(new URL(r.url).pathname) } : {}), ...(options.header ? { header: ID_HEADER } : {}) });
      return serveFetch((request) =>
        handle({
          event: { request, locals: {} as { session?: never }, getClientAddress: () => '127.0.0.1' },
          resolve: async (event) => json(await act(request.method, new URL(request.url), fromRequestSession((event.locals as { session: never }).session))),
        }),
      );
    },
  },
  {
    name: 'react-router',
    notApplicable: {
      'id in a header': "React Router's SessionStorage speaks Cookie and Set-Cookie only (option header is a ConfigError)",
      'lock rule': 'getSession(cookieHeader) gets no request and nothing would give a lease back: loads never lease, saves merge',
      keepAlive: 'getSession(cookieHeader) gets no request to apply a rule to',
      'regenerate on login': "React Router's Session has no regenerate: an app destroys one session and starts another",
      '503 on a lock time-out': 'it takes no lease (see lock rule)',
      'version cookie (consistentRead: false)': "commitSession returns one Set-Cookie value (React Router's contract), so no version cookie: its reads stay strongly consistent",
    },
    async start(store) {
      const storage = createDynamoSessionStorage<Record<string, unknown>>({ store, secret: SECRET });
      // As its docs say: a StoreUnavailableError or LockTimeoutError becomes the 503 through unavailableResponse().
      return serveFetch((request) => routerAction(storage, request).catch((err: unknown) => unavailableResponse(err) ?? Promise.reject(err)));
    },
  },
  {
    // A tenth entry, made here as docs/conformance.md says a new framework's is: a reader of its request and a
    // responder of its response over RequestPipeline, nothing else. Its "framework" is a toy one.
    name: 'a tenth entry (test-made)',
    async start(store, options) {
      const pipeline = new RequestPipeline<ToyRequest>(
        { store, secret: SECRET, ...(options.keepAlivePoll ? { keepAlive: (r: ToyRequest) => notPolled(r.target) } : {}), ...(options.header ? { header: ID_HEADER } : {}) },
        toyReader,
      );
      return listen(
        createServer((req: IncomingMessage, res: ServerResponse) => {
          const toy: ToyRequest = { verb: req.method ?? 'GET', target: req.url ?? '/', headers: req.headers, peer: req.socket.remoteAddress };
          const route = async (session: RequestSession): Promise<ToyResponse> => {
            const answer = await act(toy.verb, new URL(toy.target, 'http://x'), fromRequestSession(session));
            return { status: answer.status, headers: [['Content-Type', 'application/json']], body: JSON.stringify(answer.body) };
          };
          pipeline.serve(toy, route, toyResponder).then(
            (out) => {
              res.statusCode = out.status;
              for (const [name, value] of out.headers) res.appendHeader(name, value);
              res.end(out.body);
            },
            () => {
              res.statusCode = 500;
              res.end();
            },
          );
        }),
      );
    },
  },
];

/** The toy framework of the tenth entry: its request and response as plain objects. */
interface ToyRequest {
  verb: string;
  target: string;
  headers: IncomingMessage['headers'];
  peer: string | undefined;
}
interface ToyResponse {
  status: number;
  headers: Array<[string, string]>;
  body: string;
}
const toyReader: SessionRequestReader<ToyRequest> = {
  method: (r) => r.verb,
  url: (r) => r.target,
  userAgent: (r) => r.headers['user-agent'],
  clientAddress: (r) => r.peer,
  header: (r, name) => r.headers[name],
  https: () => false,
};
const toyResponder: Responder<ToyResponse> = {
  unavailable: (seconds, kept) => ({ status: 503, headers: [...(kept ?? []), ['Retry-After', String(Math.ceil(seconds))]], body: 'try again' }),
  send: (out, headers) => ({ ...out, headers: [...out.headers, ...headers] }),
  discard: (out) => new Headers(out.headers.filter(([name]) => name.toLowerCase() === 'vary')),
};

/** A React Router action or loader: getSession from the Cookie header, commitSession or destroySession into Set-Cookie. */
async function routerAction(storage: ReturnType<typeof createDynamoSessionStorage<Record<string, unknown>>>, request: Request): Promise<Response> {
  const session = await storage.getSession(request.headers.get('cookie'));
  let destroyed = false;
  const answer = await act(request.method, new URL(request.url), {
    get: (k) => session.get(k),
    set: (k, v) => session.set(k, v),
    regenerate: () => Promise.reject(new Error('no regenerate in React Router')),
    destroy: async () => {
      destroyed = true;
    },
    flash: (name, value) => session.flash(name, value),
    // React Router's flash is read once by get(); commitSession stores that it was read.
    takeFlash: async (name) => session.get(name),
  });
  const setCookie = destroyed ? await storage.destroySession(session) : await storage.commitSession(session);
  return Response.json(answer.body, { status: answer.status, headers: { 'Set-Cookie': setCookie } });
}

const SCENARIOS = [
  'session kept',
  'id in a header',
  'lock rule',
  'keepAlive',
  'trackDevices',
  'version cookie (consistentRead: false)',
  'flash',
  'maxLifetime',
  'regenerate on login',
  'logout sticks',
  '503 on an outage',
  '503 on a lock time-out',
  'failed save replaces the response',
] as const;
type Scenario = (typeof SCENARIOS)[number];

/** The Next.js entry's getSession() reads cookies() from next/headers, which only a running Next server sets up. */
const NEXT_NA = 'needs the request scope of a Next.js server (cookies() from next/headers): test/frameworks/next.test.ts, npm run test:frameworks';

const results = new Map<string, Map<Scenario, string>>();
const mark = (entry: string, scenario: Scenario, cell: string) => {
  if (!results.has(entry)) results.set(entry, new Map());
  results.get(entry)!.set(scenario, cell);
};

const table = uniqueTable('conformance');
let store: SessionStore;
before(async () => {
  store = new SessionStore(localOptions({ table, trackDevices: true, userId: 'user' }));
  await store.ready();
});
after(async () => {
  await store.close();
  const header = `| entry | ${SCENARIOS.join(' | ')} |`;
  const rows = [...results].map(([entry, cells]) => `| ${entry} | ${SCENARIOS.map((s) => cells.get(s) ?? '—').join(' | ')} |`);
  console.log(['', 'conformance matrix (✔ passed, ✘ failed, n/a: see the test name)', header, `|${'---|'.repeat(SCENARIOS.length + 1)}`, ...rows].join('\n'));
});

/** A server of `driver` for one test, closed after it. */
async function withServer<T>(driver: Driver, options: EntryOptions, s: SessionStore, body: (url: string) => Promise<T>): Promise<T> {
  const running = await driver.start(s, options);
  try {
    return await body(running.url);
  } finally {
    await running.close();
  }
}

const post = (client: CookieClient, url: string) => client.request(url, { method: 'POST', headers: { 'user-agent': AGENT } });

async function ok(res: Promise<Response>): Promise<Record<string, unknown>> {
  const r = await res;
  const text = await r.text();
  assert.equal(r.status, 200, text);
  return JSON.parse(text) as Record<string, unknown>;
}

const scenarios: Record<Scenario, (driver: Driver) => Promise<void>> = {
  async 'session kept'(driver) {
    await withServer(driver, {}, store, async (url) => {
      const client = new CookieClient();
      await ok(post(client, `${url}/set?k=a&v=kept`));
      assert.equal((await ok(client.request(`${url}/data`))).a, 'kept');
      assert.equal((await ok(new CookieClient().request(`${url}/data`))).a, null, 'another client has its own session');
    });
  },

  async 'id in a header'(driver) {
    await withServer(driver, { header: true }, store, async (url) => {
      const first = await fetch(`${url}/set?k=a&v=header`, { method: 'POST' });
      await first.text();
      const id = first.headers.get(ID_HEADER);
      assert.ok(id, `the new id comes back in ${ID_HEADER}`);
      assert.deepEqual(first.headers.getSetCookie().filter((c) => !/^[^=]*\.v=/.test(c)), [], 'no session cookie');
      const res = await fetch(`${url}/data`, { headers: { [ID_HEADER]: id } });
      assert.equal(((await res.json()) as { a: string }).a, 'header');
    });
  },

  async 'lock rule'(driver) {
    await withServer(driver, {}, store, async (url) => {
      const client = new CookieClient();
      await ok(post(client, `${url}/incr`));
      const statuses = await Promise.all(Array.from({ length: 9 }, async () => (await post(client, `${url}/incr`).then(async (r) => (await r.text(), r.status)))));
      assert.deepEqual(statuses.filter((s) => s !== 200), []);
      const before = store.stats().calls;
      assert.equal((await ok(client.request(`${url}/data`))).n, 10, 'an unsafe request takes the lease under auto: no increment lost');
      const after = store.stats().calls;
      assert.equal((after.UpdateItem ?? 0) - (before.UpdateItem ?? 0), 0, 'a GET takes no lease');
    });
  },

  async keepAlive(driver) {
    await withServer(driver, { keepAlivePoll: true }, store, async (url) => {
      const client = new CookieClient();
      const user = `keep-${driver.name}-${Date.now()}`;
      await ok(post(client, `${url}/set?k=user&v=${user}`));
      const expiry = async () => (await store.listUserSessions(user)).sessions[0]!.expiresAt;
      const first = await expiry();
      await new Promise((r) => setTimeout(r, 50));
      await ok(post(client, `${url}/poll/set?k=a&v=polled`));
      assert.equal(await expiry(), first, 'a request the rule leaves out keeps the expiry');
      await ok(post(client, `${url}/set?k=a&v=active`));
      assert.ok((await expiry()) > first, 'any other request extends it');
    });
  },

  async trackDevices(driver) {
    await withServer(driver, {}, store, async (url) => {
      const user = `device-${driver.name}-${Date.now()}`;
      await ok(post(new CookieClient(), `${url}/set?k=user&v=${user}`));
      const { sessions } = await store.listUserSessions(user);
      assert.equal(sessions.length, 1);
      assert.equal(sessions[0]!.userAgent, AGENT);
    });
  },

  async 'version cookie (consistentRead: false)'(driver) {
    const eventual = new SessionStore(localOptions({ table, consistentRead: false }));
    try {
      await withServer(driver, {}, eventual, async (url) => {
        const client = new CookieClient();
        const res = await post(client, `${url}/set?k=a&v=1`);
        assert.equal(res.status, 200, await res.text());
        assert.ok(
          res.headers.getSetCookie().some((c) => /^[^=]+\.v=\d+\./.test(c)),
          `a write sets the version cookie: ${JSON.stringify(res.headers.getSetCookie())}`,
        );
        await ok(post(client, `${url}/set?k=a&v=2`));
        assert.equal((await ok(client.request(`${url}/data`))).a, '2', 'the client reads its own latest write');
      });
    } finally {
      await eventual.close();
    }
  },

  async flash(driver) {
    await withServer(driver, {}, store, async (url) => {
      const client = new CookieClient();
      await ok(post(client, `${url}/flash?v=saved`));
      assert.equal((await ok(client.request(`${url}/take`))).msg, 'saved');
      assert.equal((await ok(client.request(`${url}/take`))).msg, null, 'shown once');
    });
  },

  async maxLifetime(driver) {
    const bounded = new SessionStore(localOptions({ table, maxLifetime: 1 }));
    try {
      await withServer(driver, {}, bounded, async (url) => {
        const client = new CookieClient();
        await ok(post(client, `${url}/set?k=a&v=young`));
        assert.equal((await ok(client.request(`${url}/data`))).a, 'young');
        await new Promise((r) => setTimeout(r, 1200));
        assert.equal((await ok(client.request(`${url}/data`))).a, null, 'ended by maxLifetime, however active');
      });
    } finally {
      await bounded.close();
    }
  },

  async 'regenerate on login'(driver) {
    await withServer(driver, {}, store, async (url) => {
      const client = new CookieClient();
      await ok(post(client, `${url}/set?k=a&v=before`));
      const stale = new CookieClient();
      const before = client.cookieHeader();
      stale.setCookieHeader(before);
      await ok(post(client, `${url}/login?user=ada`));
      assert.notEqual(client.cookieHeader(), before, 'a new id');
      assert.equal((await ok(client.request(`${url}/data`))).user, 'ada');
      assert.equal((await ok(stale.request(`${url}/data`))).user, null, 'the old id is no session');
    });
  },

  async 'logout sticks'(driver) {
    await withServer(driver, {}, store, async (url) => {
      const client = new CookieClient();
      await ok(post(client, `${url}/set?k=a&v=in`));
      const stale = new CookieClient();
      stale.setCookieHeader(client.cookieHeader());
      // A slow request that loaded the session before the logout saves after it.
      const started = holdsStarted;
      const slow = stale.request(`${url}/hold`, { method: 'GET' });
      while (holdsStarted === started) await new Promise((r) => setTimeout(r, 10));
      await ok(post(client, `${url}/logout`));
      await (await slow).text();
      await ok(post(stale, `${url}/set?k=b&v=late`));
      assert.equal((await ok(stale.request(`${url}/data`))).a, null, 'the logged-out session does not come back');
    });
  },

  async '503 on an outage'(driver) {
    const dead = new SessionStore({ ...localOptions({ table }), endpoint: 'http://127.0.0.1:9', skipTableCheck: true, maxAttempts: 1, requestTimeoutMs: 500 } as SessionStoreOptions);
    try {
      await withServer(driver, {}, dead, async (url) => {
        const client = new CookieClient();
        client.setCookieHeader('');
        const res = await post(client, `${url}/set?k=a&v=1`);
        await res.text();
        assert.equal(res.status, 503);
        assert.match(res.headers.get('retry-after') ?? '', /^\d+$/);
      });
    } finally {
      await dead.close();
    }
  },

  async '503 on a lock time-out'(driver) {
    const impatient = new SessionStore(localOptions({ table, maxLockWaitMs: 200 }));
    try {
      await withServer(driver, {}, store, (holder) =>
        withServer(driver, {}, impatient, async (url) => {
          const client = new CookieClient();
          await ok(post(client, `${holder}/set?k=a&v=1`));
          const started = holdsStarted;
          const held = post(client, `${holder}/hold`);
          while (holdsStarted === started) await new Promise((r) => setTimeout(r, 10));
          const res = await post(client, `${url}/incr`);
          await res.text();
          assert.equal(res.status, 503);
          assert.match(res.headers.get('retry-after') ?? '', /^\d+$/);
          await ok(held);
        }),
      );
    } finally {
      await impatient.close();
    }
  },

  async 'failed save replaces the response'(driver) {
    const small = new SessionStore(localOptions({ table, maxSessionBytes: 2048 } as SessionStoreOptions));
    try {
      await withServer(driver, {}, small, async (url) => {
        const client = new CookieClient();
        const res = await post(client, `${url}/big`);
        const body = await res.text();
        assert.ok(res.status >= 500, `status ${res.status}`);
        assert.doesNotMatch(body, /answered/, "the route's body does not go out");
      });
    } finally {
      await small.close();
    }
  },
};

describe('conformance matrix', { timeout: 300_000 }, () => {
  for (const driver of drivers) {
    describe(driver.name, () => {
      for (const scenario of SCENARIOS) {
        const na = driver.notApplicable?.[scenario];
        if (na) {
          it(`${scenario}: n/a (${na})`, () => mark(driver.name, scenario, 'n/a'));
          continue;
        }
        it(scenario, async () => {
          mark(driver.name, scenario, '✘');
          await scenarios[scenario](driver);
          mark(driver.name, scenario, '✔');
        });
      }
    });
  }
  describe('next', () => {
    for (const scenario of SCENARIOS) it(`${scenario}: n/a (${NEXT_NA})`, () => mark('next', scenario, 'n/a'));
  });
});
