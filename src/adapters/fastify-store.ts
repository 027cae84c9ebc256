/**
 * The Fastify entry's @fastify/session store: `FastifySessionStore` maps its
 * callback-style get / set / destroy onto core's SessionStore, and keeps, for
 * the request whose hooks are running, what it loaded so its save builds on it.
 * The plugin (fastify.ts) registers @fastify/session with it.
 */
import { storeMigratingFrom, type OldSessionStore } from './migrate-from.js';
import { settle, type Callback } from './callbacks.js';
import { loadForRequest, versionFloor } from './request-load.js';
import { AsyncLocalStorage } from 'node:async_hooks';
import { inspect } from 'node:util';
import type { FastifyRequest, Session as FastifySession } from 'fastify';
import type { SessionStore as FastifySessionStoreContract } from '@fastify/session';
import { contextOf, SessionStore, type SessionData, type SessionHandle } from '../store/session-store.js';
import { takeFlash } from '../core/flash.js';
import type { SessionStoreOptions } from '../config/options.js';
import type { LockRule } from './lock-rule.js';
import { RequestRules, type RequestReader } from './request-rules.js';
import { destroyPending, takeReplaced, type RequestLoads } from './request-loads.js';
import { unavailableHeaders, unavailableStatus } from './unavailable.js';
import { cookieExpiry, fromStored, toStored } from './cookie-shape.js';
import type { SessionCookieOptions } from './signed-cookie.js';

export interface FastifyStoreOptions extends SessionStoreOptions {
  /** Share one core store between adapters instead of making one from the options (then give none of them). */
  store?: SessionStore;
  /** Which requests take a pessimistic lease: a predicate of the request, a RegExp on the URL, or a path prefix. */
  lock?: LockRule<FastifyRequest>;
  /**
   * Which requests extend the session (its stored expiry and its cookie's), in the form of `lock`;
   * others (a background poll) read and write it under the expiry it has. Default: every request.
   */
  keepAlive?: LockRule<FastifyRequest>;
  /**
   * The session cookie's name and flags (@fastify/session's `cookieName`,
   * default `sessionId`). Unless `consistentRead: true` (so by default) the
   * plugin sets a companion cookie `<name>.v` with the same flags, so that a
   * client's reads never miss its own last write; `fastifyDynamoSession` fills this in.
   */
  sessionCookie?: { name: string } & SessionCookieOptions;
  /**
   * Read-through migration: the @fastify/session store this app used until now (connect-redis,
   * connect-dynamodb, a MemoryStore, …). A session missing here is read from it once and copied here
   * under the same id and expiry; a logout or a regenerated id deletes it there too. See docs/migration.md.
   */
  migrateFrom?: OldSessionStore;
}

/** What a request loaded of one session: its handle, and the version floor the request's version cookie gave. */
export interface FastifyLoad {
  handle: SessionHandle;
  minVersion?: number | undefined;
}

interface RequestContext {
  request: FastifyRequest;
  /** What the request loaded, by session id, and the end of its destroy (request-loads.ts). */
  loads: RequestLoads<FastifyLoad>;
  /** A save of this request that failed and became its response's error (see the plugin's onError hook). */
  failedSave?: unknown;
  /** request.session, hidden from @fastify/session while the error's response passes the onSend hooks. */
  hiddenSession?: FastifyRequest['session'];
}

/** Outages and lock time-outs carry the status and header Fastify's error handler answers with. */
function forFastify(err: unknown): unknown {
  const status = unavailableStatus(err);
  if (status && err && typeof err === 'object') {
    // Fastify's error handler writes its own body (and its type): only the status and the cache headers are ours.
    const { 'Retry-After': retryAfter, 'Cache-Control': cacheControl } = unavailableHeaders(status.retryAfterSeconds);
    Object.assign(err, { statusCode: 503, headers: { 'retry-after': retryAfter, 'cache-control': cacheControl } });
  }
  return err;
}

const fastifyReader: RequestReader<FastifyRequest> = {
  method: (req) => req.method,
  url: (req) => req.url,
  userAgent: (req) => req.headers['user-agent'],
  // Fastify's request.ip follows its trustProxy setting.
  clientAddress: (req) => req.ip,
};

/** A @fastify/session store backed by DynamoDB. */
export class FastifySessionStore implements FastifySessionStoreContract {
  readonly store: SessionStore;

  /** JSON and util.inspect: the store's summary (SessionStore.toJSON), never a secret. */
  toJSON(): { store: ReturnType<SessionStore['toJSON']> } {
    return { store: this.store.toJSON() };
  }

  [inspect.custom](_depth: number, options: object): string {
    return `FastifySessionStore ${inspect(this.toJSON(), { ...options, depth: 4 })}`;
  }
  /** @internal The request whose hooks are running: @fastify/session gives the store only the id. */
  readonly context = new AsyncLocalStorage<RequestContext>();
  /** @internal The lock, keepAlive and device rules (request-rules.ts), read by the plugin's hooks too. */
  readonly rules: RequestRules<FastifyRequest>;
  /** @internal */
  readonly sessionCookie: { name: string } & SessionCookieOptions;
  /** @internal Errors of failed saves and expiry refreshes, told apart from the route's own errors. */
  readonly saveFailures = new WeakSet<object>();

  constructor(options: FastifyStoreOptions = {}) {
    const { store, lock, keepAlive, sessionCookie, migrateFrom, ...storeOptions } = options;
    this.store = storeMigratingFrom(migrateFrom, store, storeOptions);
    this.sessionCookie = sessionCookie ?? { name: 'sessionId' };
    this.rules = new RequestRules(fastifyReader, lock, keepAlive);
  }

  get(sid: string, cb: Parameters<FastifySessionStoreContract['get']>[1]): void {
    const ctx = this.context.getStore();
    // A reload() by the request that holds the session: read it again without a lease and keep the one it holds.
    const held = ctx?.loads.get(sid);
    const holder = held?.handle;
    const reload = holder !== undefined && !holder.settled;
    // Outside a request nothing would give a lease back.
    const lock = ctx && !reload ? this.rules.lock(ctx.request) : false;
    const minVersion = ctx ? versionFloor(this.store, (name) => ctx.request.cookies?.[name], this.sessionCookie.name, sid) : undefined;
    if (held && minVersion !== undefined) held.minVersion = minVersion;
    const loading = loadForRequest(this.store, sid, lock, ctx?.request.method, minVersion).then((loaded) => {
      if (!loaded) return null;
      if (reload) this.store.rebase(holder, loaded.handle);
      else ctx?.loads.set(sid, { handle: loaded.handle, minVersion });
      // No `expires` back for a cookie with a max age: @fastify/session derives it from originalMaxAge, and one
      // given would come back as originalExpires and make every save look like a change. An absolute expiry
      // with no max age is kept in the data (toStored) and comes back as it was.
      return (loaded.data.cookie ? loaded.data : fromStored(loaded.data, loaded.handle.expiresAtMs)) as unknown as FastifySession;
    });
    void settle(loading, cb, forFastify);
  }

  set(sid: string, session: Parameters<FastifySessionStoreContract['set']>[1], cb: Callback): void {
    const handle = this.context.getStore()?.loads.get(sid)?.handle;
    const expires = cookieExpiry(session);
    const ctx = this.context.getStore();
    // In a request, a session with no handle is one this request creates (after a regenerate, it replaces the old one).
    const own = handle ?? (ctx ? this.store.newHandle(sid) : undefined);
    if (own && !handle) ctx!.loads.set(sid, { handle: own });
    const replaces = own && !handle ? takeReplaced(ctx?.loads) : undefined;
    const device = own?.version === 0 && ctx ? this.rules.device(ctx.request) : undefined;
    const options = { ...(expires ? { expires } : {}), ...(replaces ? { replaces } : {}), ...(device ? { device } : {}) };
    // The callback hears no outcome, as from @fastify/session's own stores.
    void settle(this.store.commit(own, sid, toStored(session), options).then(() => undefined), cb, (err) => this.saveFailed(err));
  }

  /** @internal Takes flash `name` out of the request's session, once across requests (core/flash.ts). */
  takeFlash(request: FastifyRequest, name: string): Promise<unknown> {
    const session = request.session as unknown as (SessionData & { sessionId?: string }) | undefined;
    if (!session) return Promise.resolve(undefined);
    const ctx = this.context.getStore();
    const handle = ctx?.request === request && session.sessionId ? ctx.loads.get(session.sessionId)?.handle : undefined;
    return takeFlash(contextOf(this.store), handle, session, name);
  }

  /** @internal */
  saveFailed(err: unknown): unknown {
    if (err && typeof err === 'object') this.saveFailures.add(err);
    return forFastify(err);
  }

  destroy(sid: string, cb: Callback): void {
    const ctx = this.context.getStore();
    void settle(destroyPending(this.store, ctx?.loads, sid, ctx?.loads.get(sid)?.handle), cb, forFastify);
  }
}
