/**
 * Fastify adapter. `FastifySessionStore` is a @fastify/session store;
 * `fastifyDynamoSession` is a plugin that registers @fastify/cookie (when
 * absent) and @fastify/session with it, and adds what @fastify/session lacks:
 * it never calls a store's touch, so unchanged sessions get their throttled
 * expiry refresh here; per-route locking; leases given back by requests that
 * save nothing; and 503 + Retry-After on outages and lock time-outs.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import fastifyCookie from '@fastify/cookie';
import fastifySession, { type FastifySessionOptions } from '@fastify/session';
import { SessionStore, type SessionHandle } from '../core/session-store.js';
import type { SessionStoreOptions } from '../config/options.js';
import { InvalidSessionIdError } from '../errors.js';
import { lockRule, type LockRule } from './lock-rule.js';
import { unavailableStatus } from './unavailable.js';
import { cookieExpiry, fromStored, toStored } from './cookie-shape.js';

type Callback<T = void> = (err?: unknown, value?: T) => void;

export interface FastifyStoreOptions extends SessionStoreOptions {
  /** Share one core store between adapters instead of making one from the options. */
  store?: SessionStore;
  /** Which requests take a pessimistic lease: a predicate of the request, a RegExp on the URL, or a path prefix. */
  lock?: LockRule<FastifyRequest>;
}

interface RequestContext {
  request: FastifyRequest;
  handles: Map<string, SessionHandle>;
}

/** Outages and lock time-outs carry the status and header Fastify's error handler answers with. */
function forFastify(err: unknown): unknown {
  const status = unavailableStatus(err);
  if (status && err && typeof err === 'object') {
    Object.assign(err, { statusCode: 503, headers: { 'retry-after': String(Math.max(1, Math.ceil(status.retryAfterSeconds))), 'cache-control': 'no-store' } });
  }
  return err;
}

/** A @fastify/session store backed by DynamoDB. */
export class FastifySessionStore {
  readonly store: SessionStore;
  /** @internal The request whose hooks are running: @fastify/session gives the store only the id. */
  readonly context = new AsyncLocalStorage<RequestContext>();
  private readonly lockFor: (req: FastifyRequest) => boolean | undefined;

  constructor(options: FastifyStoreOptions = {}) {
    const { store, lock, ...storeOptions } = options;
    this.store = store ?? new SessionStore(storeOptions);
    this.lockFor = lockRule<FastifyRequest>(lock, (req) => req.url);
  }

  get(sid: string, cb: Callback<Record<string, unknown> | null>): void {
    const ctx = this.context.getStore();
    const lock = ctx ? this.lockFor(ctx.request) : undefined;
    this.store.load(sid, lock === undefined ? {} : { lock }).then(
      (loaded) => {
        if (!loaded) return cb(null, null);
        ctx?.handles.set(sid, loaded.handle);
        // No `expires` back: @fastify/session derives it from originalMaxAge, and one given would come back as originalExpires and make every save look like a change.
        cb(null, loaded.data.cookie ? loaded.data : fromStored(loaded.data, loaded.handle.expiresAt));
      },
      (err) => (err instanceof InvalidSessionIdError ? cb(null, null) : cb(forFastify(err))),
    );
  }

  set(sid: string, session: object, cb: Callback): void {
    const handle = this.context.getStore()?.handles.get(sid);
    const expires = cookieExpiry(session);
    this.store.commit(handle, sid, toStored(session), expires ? { expires } : {}).then(
      () => cb(),
      (err) => cb(forFastify(err)),
    );
  }

  destroy(sid: string, cb: Callback): void {
    const handle = this.context.getStore()?.handles.get(sid);
    this.store.destroy(sid, handle).then(
      () => cb(),
      (err) => cb(forFastify(err)),
    );
  }
}

export interface FastifyDynamoSessionOptions extends FastifyStoreOptions, Omit<FastifySessionOptions, 'store'> {}

const plugin: FastifyPluginAsync<FastifyDynamoSessionOptions> = async (fastify, options) => {
  const { store, lock, secret, cookieName, cookie, cookiePrefix, saveUninitialized, rolling, idGenerator, ...storeOptions } = options;
  const sessionStore = new FastifySessionStore({ ...storeOptions, ...(store ? { store } : {}), ...(lock !== undefined ? { lock } : {}) });
  fastify.decorate('dynamoSessionStore', sessionStore);

  // Before @fastify/session's own hook, so that its store calls run inside this request's context.
  fastify.addHook('onRequest', (request, _reply, done) => {
    sessionStore.context.run({ request, handles: new Map() }, done);
  });
  if (!fastify.hasDecorator('parseCookie')) await fastify.register(fastifyCookie);
  await fastify.register(fastifySession, {
    secret,
    store: sessionStore,
    ...(cookieName !== undefined ? { cookieName } : {}),
    cookie: { maxAge: sessionStore.store.config.ttl * 1000, ...cookie },
    ...(cookiePrefix !== undefined ? { cookiePrefix } : {}),
    ...(saveUninitialized !== undefined ? { saveUninitialized } : {}),
    ...(rolling !== undefined ? { rolling } : {}),
    ...(idGenerator !== undefined ? { idGenerator } : {}),
  } as FastifySessionOptions);

  // After @fastify/session's save: a session it did not save still gets its expiry refresh (when due) and gives back its lease.
  fastify.addHook('onSend', async (request) => {
    const ctx = sessionStore.context.getStore();
    if (!ctx) return;
    for (const [sid, handle] of ctx.handles) {
      if (handle.settled) continue;
      const expires = request.session && typeof request.session === 'object' ? cookieExpiry(request.session) : undefined;
      try {
        await sessionStore.store.touch(handle, sid, expires ? { expires } : {});
      } catch (err) {
        throw forFastify(err);
      }
    }
  });
  fastify.addHook('onResponse', async () => {
    const ctx = sessionStore.context.getStore();
    if (!ctx) return;
    for (const handle of ctx.handles.values()) if (!handle.settled) await sessionStore.store.release(handle).catch(() => undefined);
  });
  fastify.addHook('onClose', async () => {
    if (!store) await sessionStore.store.close();
  });
};

/**
 * `fastify.register(fastifyDynamoSession, { secret, table, … })`: @fastify/session
 * on DynamoDB. Give `cookieName: 'connect.sid', cookiePrefix: 's:'` and the
 * same secret to share sessions with an express-session app.
 */
export const fastifyDynamoSession = fp(plugin, { fastify: '5.x', name: 'dynamodb-session-manager' });

declare module 'fastify' {
  interface FastifyInstance {
    dynamoSessionStore: FastifySessionStore;
  }
}

export { SessionStore };
