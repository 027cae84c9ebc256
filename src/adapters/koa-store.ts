/**
 * The Koa entry's koa-session external store: `KoaSessionStore` maps
 * koa-session's get / set / destroy onto core's SessionStore, keeps what each
 * request loaded so its save builds on it, and ends the loads koa-session did
 * not save (`finish`, `abandon`). dynamoSession() (koa.ts) puts it under koa-session.
 */
import { storeFrom } from './shared-store.js';
import { loadForRequest, versionFloor } from './request-load.js';
import { inspect } from 'node:util';
import type Koa from 'koa';
import { contextOf, SessionStore, type SessionData, type SessionHandle } from '../store/session-store.js';
import { type SessionStoreOptions } from '../config/options.js';
import { takeFlash } from '../core/flash.js';
import type { LockRule } from './lock-rule.js';
import { RequestRules, type RequestReader } from './request-rules.js';
import { destroyPending, RequestBook, settlePending, takeReplaced } from './request-loads.js';
import type { SessionCookieOptions } from './signed-cookie.js';
import { versionCookieAfter } from './version-cookie.js';

export interface KoaStoreOptions extends SessionStoreOptions {
  /** Share one core store between adapters instead of making one from the options (then give none of them). */
  store?: SessionStore;
  /** Which requests take a pessimistic lease: a predicate of the context, a RegExp on the URL, or a path prefix. */
  lock?: LockRule<Koa.Context>;
  /**
   * Which requests extend the session (its stored expiry and its cookie's), in the form of `lock`;
   * others (a background poll) read and write it under the expiry it has. Default: every request.
   */
  keepAlive?: LockRule<Koa.Context>;
  /**
   * The session cookie's name and flags (koa-session's `key`, default
   * `koa.sess`). Unless `consistentRead: true` (so by default) the store sets
   * a companion cookie `<name>.v` with the same flags, so that a client's
   * reads never miss its own last write; `dynamoSession` fills this in.
   */
  sessionCookie?: { name: string } & SessionCookieOptions;
}

interface Loaded {
  handle: SessionHandle;
  /** express-session's cookie metadata, carried through so an Express app can read the session too. */
  cookie: unknown;
  maxAge: number | 'session';
  /** The version floor the request's version cookie gave, if any. */
  minVersion: number | undefined;
  /** keepAlive left this request out: it keeps the expiry loaded. */
  hold?: boolean;
}

/** koa-session's bookkeeping keys: they live in the item's expiry and cookie metadata, not in the data. */
const KOA_KEYS = new Set(['_expire', '_maxAge', '_session']);

/**
 * What the app put in the request's session, functions included: koa-session's
 * toJSON() leaves functions out, so a function set on the session would be
 * dropped without a word; the store refuses it (SessionSerializationError), as
 * in every other adapter.
 */
function appData(ctx: Koa.Context): SessionData | undefined {
  const session = ctx.session as unknown as Record<string, unknown> | null | undefined;
  if (!session || typeof session !== 'object') return undefined;
  const data: SessionData = {};
  for (const key of Object.keys(session)) if (key !== 'isNew' && !key.startsWith('_')) data[key] = session[key];
  return data;
}

const koaReader: RequestReader<Koa.Context> = {
  method: (ctx) => ctx.method,
  url: (ctx) => ctx.url,
  userAgent: (ctx) => ctx.get('User-Agent'),
  // Koa's ctx.ip follows its app.proxy setting.
  clientAddress: (ctx) => ctx.ip,
};

/** A koa-session external store backed by DynamoDB. */
export class KoaSessionStore {
  readonly store: SessionStore;

  /** JSON and util.inspect: the store's summary (SessionStore.toJSON), never a secret. */
  toJSON(): { store: ReturnType<SessionStore['toJSON']> } {
    return { store: this.store.toJSON() };
  }

  [inspect.custom](_depth: number, options: object): string {
    return `KoaSessionStore ${inspect(this.toJSON(), { ...options, depth: 4 })}`;
  }
  private readonly rules: RequestRules<Koa.Context>;
  /** What each request loaded, and the end of its destroy (request-loads.ts). */
  private readonly book = new RequestBook<Loaded>();
  private readonly sessionCookie: { name: string } & SessionCookieOptions;

  constructor(options: KoaStoreOptions = {}) {
    const { store, lock, keepAlive, sessionCookie, ...storeOptions } = options;
    this.store = storeFrom(store, storeOptions);
    this.sessionCookie = sessionCookie ?? { name: 'koa.sess' };
    this.rules = new RequestRules(koaReader, lock, keepAlive);
  }

  async get(key: string, maxAge: number | 'session' | undefined, options: { ctx?: Koa.Context } = {}): Promise<SessionData | null> {
    const ctx = options.ctx;
    // Without a request to end it, a lease would never be given back: only koa-session's own loads lock.
    const lock = ctx ? this.rules.lock(ctx) : false;
    const minVersion = ctx ? versionFloor(this.store, ctx.get('Cookie'), this.sessionCookie.name, key) : undefined;
    const loaded = await loadForRequest(this.store, key, lock, ctx?.method, minVersion);
    if (!loaded) return null;
    const { cookie, ...data } = loaded.data;
    const originalMaxAge = (cookie as { originalMaxAge?: unknown } | undefined)?.originalMaxAge;
    // keepAlive: a request its rule leaves out (a background poll) keeps the expiry loaded. Given what is
    // left of it as `_maxAge`, koa-session saves and sets the cookie with that expiry, not a later one.
    const hold = ctx !== undefined && !this.rules.keepAlive(ctx);
    if (ctx) this.book.of(ctx).set(key, { handle: loaded.handle, cookie, maxAge: maxAge ?? 'session', minVersion, hold });
    const lifetime = typeof originalMaxAge === 'number' ? originalMaxAge : this.store.config.ttl * 1000;
    return {
      ...data,
      ...(originalMaxAge === null
        ? { _session: true }
        : { _expire: loaded.handle.expiresAtMs, _maxAge: hold ? Math.max(1, loaded.handle.expiresAtMs - Date.now()) : lifetime }),
    };
  }

  async set(key: string, sess: SessionData, maxAge: number | 'session' | undefined, options: { changed?: boolean; ctx?: Koa.Context } = {}): Promise<void> {
    const mine = options.ctx ? this.book.peek(options.ctx)?.get(key) : undefined;
    const given = options.ctx ? appData(options.ctx) : undefined;
    if (given) contextOf(this.store).codec.check(given);
    const data: SessionData = {};
    for (const [k, v] of Object.entries(sess)) if (!KOA_KEYS.has(k)) data[k] = v;
    const sessionCookie = sess._session === true || maxAge === 'session';
    const lifetime = typeof sess._maxAge === 'number' ? sess._maxAge : typeof maxAge === 'number' ? maxAge : this.store.config.ttl * 1000;
    // koa-session stamps the expiry it will put in `_expire` on the data it saves: keep exactly that one.
    const expires = mine?.hold
      ? mine.handle.expiresAtMs
      : typeof sess._expire === 'number' && Number.isFinite(sess._expire)
        ? sess._expire
        : Date.now() + lifetime;
    if (mine && options.changed === false) {
      // Rolling or renew with no change: a throttled expiry refresh, not a data write.
      await this.store.touch(mine.handle, key, { expires });
      return;
    }
    const cookie = mine?.cookie ?? { originalMaxAge: sessionCookie ? null : lifetime, path: '/', httpOnly: true };
    // In a request, a session nothing loaded is one this request creates (after a regenerate, it replaces the old one).
    const ctx = options.ctx;
    const handle = mine?.handle ?? (ctx ? this.store.newHandle(key) : undefined);
    const replaces = ctx && !mine ? takeReplaced(this.book.of(ctx)) : undefined;
    const device = ctx && !mine ? this.rules.device(ctx) : undefined;
    await this.store.commit(handle, key, { cookie, ...data }, { expires, ...(replaces ? { replaces } : {}), ...(device ? { device } : {}) });
    // A second save of it in this request builds on the first.
    if (ctx && !mine && handle) this.book.of(ctx).set(key, { handle, cookie, maxAge: maxAge ?? 'session', minVersion: undefined });
    // A session this request created has a version too: the client's next read may already be eventually consistent.
    // Unset `secure` is Koa's own default for its cookies: the request's protocol (ctx.secure, which follows app.proxy).
    const flags = ctx ? { ...this.sessionCookie, secure: this.sessionCookie.secure ?? ctx.secure } : this.sessionCookie;
    const until = sessionCookie ? undefined : new Date(expires);
    const version = ctx ? versionCookieAfter(this.store, this.sessionCookie.name, handle, mine?.minVersion, flags, until) : undefined;
    if (version) ctx!.append('Set-Cookie', version);
  }

  async destroy(key: string, options: { ctx?: Koa.Context } = {}): Promise<void> {
    const record = options.ctx ? this.book.of(options.ctx) : undefined;
    await destroyPending(this.store, record, key, record?.get(key)?.handle);
  }

  /**
   * Ends the request's loads that koa-session did not save (it saves only
   * changed sessions unless `rolling`): refreshes the expiry when due and
   * gives back any lease.
   */
  async finish(ctx: Koa.Context): Promise<void> {
    const map = this.book.peek(ctx);
    if (!map) return;
    settlePending(this.store, map);
    for (const [key, { handle, maxAge, hold }] of map) {
      if (handle.settled) continue;
      if (ctx.status >= 500) {
        await this.store.release(handle);
        continue;
      }
      // koa-session judged the session unchanged by its JSON text, which a function or symbol does not show up in.
      const data = map.size === 1 ? appData(ctx) : undefined;
      await this.store.touch(handle, key, {
        ...(maxAge === 'session' ? {} : { expires: hold ? handle.expiresAtMs : Date.now() + maxAge }),
        ...(data ? { data } : {}),
      });
    }
  }

  /** @internal The expiry a request keepAlive leaves out keeps for session `key`, if it is one. */
  heldExpiry(ctx: Koa.Context, key: string): number | undefined {
    const mine = this.book.peek(ctx)?.get(key);
    return mine?.hold ? mine.handle.expiresAtMs : undefined;
  }

  /** @internal Takes flash `name` out of the request's session, once across requests (core/flash.ts). */
  takeFlash(ctx: Koa.Context, name: string): Promise<unknown> {
    const session = ctx.session as unknown as (SessionData & { externalKey?: string }) | null;
    if (!session) return Promise.resolve(undefined);
    const key = session.externalKey;
    return takeFlash(contextOf(this.store), key !== undefined ? this.book.peek(ctx)?.get(key)?.handle : undefined, session, name);
  }

  /** Gives back leases of a request that failed. */
  async abandon(ctx: Koa.Context): Promise<void> {
    await this.book.peek(ctx)?.end(this.store);
  }
}
