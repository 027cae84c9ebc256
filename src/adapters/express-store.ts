/**
 * The Express entry's express-session Store: `new DynamoDBStore(options)`
 * maps express-session's Store contract (get, set, touch, destroy, regenerate,
 * createSession, all, ids, length, clear) onto core's SessionStore, and keeps
 * what each request loaded so that its save builds on it. dynamoSession()
 * (express.ts) adds the request's rules, the save before the response and the 503s.
 */
import { storeFrom } from './shared-store.js';
import { loadForRequest, versionFloor } from './request-load.js';
import { allSessions, clearTable, liveKeys } from '../core/table-scan.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { inspect } from 'node:util';
import session from 'express-session';
import type { SessionData as ExpressSessionData } from 'express-session';
import { contextOf, SessionStore, type SessionData, type SessionHandle, type TouchOptions } from '../core/session-store.js';
import { eventualReads, type SessionStoreOptions } from '../config/options.js';
import { takeFlash } from '../core/flash.js';
import { lockRule, type LockRule } from './lock-rule.js';
import { cookieExpiry, fromStored, toStored } from './cookie-shape.js';
import { servedRequest, watchServedRequests } from './served-request.js';

import { checkMigrateFrom, fallbackFrom, reloadWithoutLease, requestDevice, returnThis, settle, type Callback } from './express-helpers.js';
import { noticePlainUse, versionCookieFor } from './express-notes.js';

export interface DynamoDBStoreOptions extends SessionStoreOptions {
  /** Share one core store between adapters instead of making one from the options (then give none of them). */
  store?: SessionStore;
  /**
   * Which requests take a pessimistic lease: a predicate, a URL RegExp, or a
   * path prefix. Others use the store's `locking` mode.
   */
  lock?: LockRule;
  /**
   * Which requests extend the session (its stored expiry and its cookie's), in the form of
   * `lock`; others (a background poll) read and write it under the
   * expiry it has. Default: every request.
   */
  keepAlive?: LockRule;
  /**
   * Read-through migration: the express-session Store this app used until now (connect-redis,
   * connect-dynamodb, dynamodb-store, MemoryStore, …). A session missing here is read from it once
   * and copied here under the same id and expiry; a logout or a regenerated id deletes it there
   * too. Remove the option once `stats().servedByFallback` stays 0. See docs/migration.md.
   */
  migrateFrom?: session.Store;
}

/** An express-session Store backed by DynamoDB; callbacks and promises both work. */
export class DynamoDBStore extends session.Store {
  readonly store: SessionStore;

  /** JSON and util.inspect: the store's summary (SessionStore.toJSON), never a secret. */
  toJSON(): { store: ReturnType<SessionStore['toJSON']> } {
    return { store: this.store.toJSON() };
  }

  [inspect.custom](_depth: number, options: object): string {
    return `DynamoDBStore ${inspect(this.toJSON(), { ...options, depth: 4 })}`;
  }
  /**
   * The handle each Session was loaded or first saved with, on the Session itself: a non-enumerable property
   * under a symbol of this store's, which neither JSON, a spread, Object.keys nor for-in sees. (An entry in a
   * WeakMap that lives as long as the store kept the handle, and the loaded JSON in it, alive through the young
   * generation's collections: every request's JSON was promoted, and the collector's time was a fifth of a read's.)
   * A Session that takes no property (frozen) is kept in `handles` instead.
   */
  private readonly handleKey = Symbol('dynamodb-session-manager handle');
  private readonly handles = new WeakMap<object, SessionHandle>();
  /**
   * The handle of data get() handed to express-session, until it makes a Session of it in
   * createSession(). (A hidden property on the data would do too, but it turns the object into a
   * slow dictionary just before express-session copies every member out of it.)
   */
  private readonly loadedHandles = new WeakMap<object, SessionHandle>();
  /**
   * The last load's data and handle, kept here rather than in loadedHandles: express-session makes
   * its Session in the callback of the load, before any other load ends, so nearly every handle
   * is found here and the WeakMap gets no entry (an entry costs a cold read more than a tenth of
   * its CPU in GC). A load that ends while the previous one is not claimed moves that one there.
   */
  private lastLoad: { data: object; handle: SessionHandle; claimed: boolean } | undefined;
  /** @internal express-session's cookie name, set by dynamoSession(): the version cookie is named after it. */
  cookieName = 'connect.sid';
  private readonly lockFor: (req: IncomingMessage) => boolean | undefined;
  private readonly keepAliveFor: (req: IncomingMessage) => boolean | undefined;
  /**
   * @internal The request whose session express-session is fetching: dynamoSession() sets it
   * around the middleware call, inside which express-session calls get() synchronously. (An
   * AsyncLocalStorage would do the same at the price of promise hooks on every await of the process.)
   */
  loading: IncomingMessage | undefined;
  /** JSON of sessions being saved by saveBeforeResponding, computed by its change check: set() needs not serialize again. */
  private readonly saving = new WeakMap<object, string>();
  /**
   * The key of the property holding the handle each request's session was loaded with: a reload() in that
   * request builds on it and keeps its lease. A symbol of this store's, on the request itself (not a WeakMap entry).
   */
  private readonly requestHandle = Symbol('dynamodb-session-manager request handle');
  /** Which plain-use notices were given (each once). */
  private readonly noticed = new Set<'consistentRead' | 'locking'>();
  /** A session express-session generated by regenerate(), and the one it replaces. */
  private readonly replacing = new WeakMap<object, SessionHandle>();
  /**
   * Handles of plain express-session's loads (loadForPlainRequest) that no request took for its own yet (createSession
   * with a response takes it, and gives its lease back when it ends): released when the load's callback returns.
   */
  private readonly unclaimed = new WeakSet<SessionHandle>();
  /**
   * The session the change check last found unchanged and walked for values JSON skips: the touch that follows (at once,
   * in the same turn) need not walk it again. One slot: a touch of any other session walks it.
   */
  private vetted: object | undefined;
  /** Sessions whose request keepAlive leaves out: written under the expiry they were loaded with, a browser-session cookie's too. */
  private readonly held = new WeakSet<object>();
  /** @internal Set by dynamoSession(): every request load is announced through `loading`. */
  withMiddleware = false;
  /**
   * @internal Each request's response, from dynamoSession(), for servers where `req.res` is not set (plain node:http,
   * connect). Under Express (`req.res` set) nothing is put here: an entry a request would keep the request and its
   * response alive through the young generation's collections, as the handles did.
   */
  readonly responses = new WeakMap<object, ServerResponse>();
  /** @internal Stops following node:http's requests (served-request.ts); dynamoSession() announces its own. */
  readonly stopWatching: () => void;

  constructor(options: DynamoDBStoreOptions = {}) {
    super();
    const { store, lock, keepAlive, migrateFrom, ...storeOptions } = options;
    checkMigrateFrom(migrateFrom, store, storeOptions.fallback);
    this.store = storeFrom(store, migrateFrom ? { ...storeOptions, fallback: fallbackFrom(migrateFrom, storeOptions.ttl) } : storeOptions);
    this.lockFor = lockRule(lock);
    this.keepAliveFor = lockRule(keepAlive);
    this.stopWatching = watchServedRequests();
    this.store.on('disconnect', (err) => this.emit('disconnect', err));
    this.store.on('connect', () => this.emit('connect'));
  }

  /** Checks or creates the table; call it before listening to fail fast on a bad set-up. */
  ready() {
    return this.store.ready();
  }

  override get(sid: string, cb?: Callback<ExpressSessionData | null>): Promise<ExpressSessionData | null> {
    // Plain express-session: the load of a request node:http announced is leased by that request's
    // method and rules, as under dynamoSession(), and the request gives the lease back.
    const served = cb && !this.loading && !this.withMiddleware ? servedRequest() : undefined;
    if (served) {
      if ((served.request as { res?: unknown }).res === undefined) this.responses.set(served.request, served.response);
      this.noticePlainUse(true);
      return this.loadForPlainRequest(sid, cb!, served.request);
    }
    if (!cb || this.loading || this.withMiddleware || this.store.config.locking !== 'pessimistic') {
      // Only a load dynamoSession() announces has a request whose end gives a lease back. Any other
      // (an admin page or a job calling get(), a reload() inside a request) reads without one: a
      // lease nothing releases would lock the session until the process exits.
      if (!this.loading && !this.withMiddleware && cb) this.noticePlainUse();
      return settle(this.loadSession(sid, this.loading, this.loading ? undefined : false), cb);
    }
    return this.loadForPlainRequest(sid, cb);
  }

  /**
   * Plain express-session: its loads come through get(id, callback). The request they serve, when
   * node:http announced one, decides the lease; else (`locking: 'pessimistic'`) it is taken. The
   * request claims it in createSession(), which express-session calls inside the callback; a load
   * nobody claims (a callback-style call outside any request, an app's own get() in a route,
   * express-session's Store#load) gives it back as soon as the callback returns.
   */
  private loadForPlainRequest(sid: string, cb: Callback<ExpressSessionData | null>, req?: IncomingMessage): Promise<ExpressSessionData | null> {
    const loading = this.loadSession(sid, req, req ? undefined : true, false);
    loading.then(
      (data) =>
        process.nextTick(() => {
          const handle = data ? this.loadedHandle(data) : undefined;
          if (handle) this.unclaimed.add(handle);
          try {
            cb(null, data);
          } finally {
            if (handle && this.unclaimed.delete(handle)) void this.store.release(handle).catch(() => undefined);
          }
        }),
      (err: unknown) => process.nextTick(cb, err),
    );
    return loading;
  }

  /** `versioned`: the request's version cookie may allow an eventually consistent read (only dynamoSession() sets it). */
  private async loadSession(sid: string, req: IncomingMessage | undefined, lock: boolean | undefined, versioned = true): Promise<ExpressSessionData | null> {
    lock ??= req ? this.lockFor(req) : false;
    const minVersion = req && versioned ? versionFloor(this.store, req.headers.cookie, this.cookieName, sid) : undefined;
    const loaded = await loadForRequest(this.store, sid, lock, req?.method, minVersion);
    if (req) (req as { dsmMinVersion?: number }).dsmMinVersion = minVersion;
    if (!loaded) return null;
    const data = fromStored(loaded.data, loaded.handle.expiresAtMs);
    const last = this.lastLoad;
    if (last !== undefined && !last.claimed) this.loadedHandles.set(last.data, last.handle);
    this.lastLoad = { data, handle: loaded.handle, claimed: false };
    return data as unknown as ExpressSessionData;
  }

  /** The handle of a Session (see handleKey). */
  private handleOf(sess: object): SessionHandle | undefined {
    return (sess as Record<symbol, SessionHandle | undefined>)[this.handleKey] ?? this.handles.get(sess);
  }

  private setHandle(sess: object, handle: SessionHandle): void {
    if (Object.isExtensible(sess)) Object.defineProperty(sess, this.handleKey, { value: handle, writable: true, configurable: true });
    else this.handles.set(sess, handle);
  }

  /** The handle `data` was loaded with, if a load of this store's returned it. */
  private loadedHandle(data: object): SessionHandle | undefined {
    const last = this.lastLoad;
    return last !== undefined && last.data === data ? last.handle : this.loadedHandles.get(data);
  }

  /** express-session turns loaded data into a Session here: remember which load it came from. */
  override createSession(req: Parameters<session.Store['createSession']>[0], sess: ExpressSessionData): session.Session & ExpressSessionData {
    let handle = this.loadedHandle(sess);
    const created = super.createSession(req, sess);
    if (handle) {
      const last = this.lastLoad;
      if (last !== undefined && last.data === sess) last.claimed = true;
      const holder = (req as unknown as Record<symbol, SessionHandle | undefined>)[this.requestHandle];
      const res = (req as { res?: ServerResponse }).res ?? this.responses.get(req);
      if (holder && holder.id === handle.id && !holder.settled) {
        // req.session.reload(): the fresh read becomes the base of the request's own handle, which keeps its lease.
        handle = this.store.rebase(holder, handle);
      } else if (res) {
        (req as unknown as Record<symbol, SessionHandle | undefined>)[this.requestHandle] = handle;
        this.unclaimed.delete(handle);
        const loadedWith = handle;
        // A request that ends without saving (an error, a client gone) gives its lease back.
        res.once('close', () => void this.store.release(loadedWith).catch(() => undefined));
      }
      // Plain express-session's reload() would ask get() for a lease its own request holds: read without one instead.
      if (handle.lease && !this.withMiddleware) reloadWithoutLease(this, req, created);
      this.setHandle(created, handle);
      if (res && !this.withMiddleware) this.holdExpiry(req as IncomingMessage, created);
    }
    return created;
  }

  private noticePlainUse(served = false): void {
    noticePlainUse(this.store, this.noticed, served);
  }

  override set(sid: string, sess: ExpressSessionData, cb?: Callback): Promise<void> {
    const json = this.saving.get(sess);
    const save = async () => {
      let handle = this.handleOf(sess);
      if (!handle && sess instanceof session.Session) {
        // A session express-session generated in this request: its handle makes a second save of it (an
        // app's save(), then the one at the end) find nothing new, instead of writing it twice.
        handle = this.store.newHandle(sid);
        this.setHandle(sess, handle);
      }
      const replaces = this.replacing.get(sess);
      await this.store.commit(handle, sid, toStored(sess), {
        expires: this.expiryOf(sess, handle),
        ...(json === undefined ? {} : { json }),
        ...(replaces ? { replaces } : {}),
        ...(handle?.version === 0 ? { device: requestDevice((sess as { req?: IncomingMessage }).req) } : {}),
      });
    };
    return settle(save(), cb);
  }

  /**
   * req.session.regenerate() (a login): the old id is deleted, and the new
   * session keeps its creation time (so `maxLifetime` counts from the first)
   * and is announced as `regenerated`, not `created`.
   */
  override regenerate(req: Parameters<session.Store['regenerate']>[0], fn: (err?: unknown) => void): void {
    const previous = req.session ? this.handleOf(req.session) : undefined;
    const sid = req.sessionID;
    const done = (err?: unknown) => {
      (this as unknown as { generate(r: typeof req): void }).generate(req);
      if (previous && req.session) this.replacing.set(req.session, previous);
      fn(err);
    };
    this.store.destroy(sid, previous, 'regenerate').then(() => process.nextTick(done), (err: unknown) => process.nextTick(done, err));
  }

  override touch(sid: string, sess: ExpressSessionData, cb?: Callback): Promise<void> {
    const handle = this.handleOf(sess);
    // Saved earlier in this request (dynamoSession saves before the response): the write set the expiry already.
    if (handle?.settled) return settle(Promise.resolve(), cb);
    const touch = async () => {
      // The touch of plain express-session, which compares JSON text only, vets the values here; after dynamoSession()'s change check it has been done.
      const options: TouchOptions = { expires: this.expiryOf(sess, handle) };
      if (this.vetted === sess) this.vetted = undefined;
      else options.data = toStored(sess);
      await this.store.touch(handle, sid, options);
    };
    return settle(touch(), cb);
  }

  private expiryOf(sess: ExpressSessionData, handle: SessionHandle | undefined): Date | undefined {
    return handle && this.held.has(sess) ? new Date(handle.expiresAtMs) : cookieExpiry(sess);
  }

  override destroy(sid: string, cb?: Callback): Promise<void> {
    return settle(this.store.destroy(sid), cb);
  }

  override all(cb?: Callback<ExpressSessionData[] | { [sid: string]: ExpressSessionData } | null>): Promise<{ [sid: string]: ExpressSessionData }> {
    return settle(allSessions(contextOf(this.store)) as Promise<unknown> as Promise<{ [sid: string]: ExpressSessionData }>, cb);
  }

  override length(cb?: Callback<number>): Promise<number> {
    return settle(liveKeys(contextOf(this.store)).then((keys) => keys.length), cb);
  }

  override clear(cb?: Callback): Promise<void> {
    return settle(clearTable(contextOf(this.store)), cb);
  }

  /**
   * @internal Unless `consistentRead: true`: the version cookie the response should carry so the
   * client's next read may be eventually consistent, when it changed.
   */
  versionCookie(sess: object, minVersion: number | undefined): string | undefined {
    return eventualReads(this.store.config) ? versionCookieFor(this.cookieName, this.handleOf(sess), sess, minVersion) : undefined;
  }

  /**
   * @internal Whether a session differs from what its request loaded, as the JSON to store when
   * it does, else undefined; '' when it changed but cannot be serialized (the save will say why,
   * as a SessionSerializationError) or is new and holds anything (there is no loaded JSON to
   * compare with).
   */
  changedJson(sess: object): string | undefined {
    const handle = this.handleOf(sess);
    if (!handle) return Object.keys(sess).some((k) => k !== 'cookie') ? '' : undefined;
    let json: string;
    const stored = toStored(sess);
    try {
      json = JSON.stringify(stored);
      // The same text can hide a function or symbol the request set (JSON.stringify skips them): the save then says which.
      if (json === handle.json) contextOf(this.store).codec.check(stored);
    } catch {
      return '';
    }
    if (json !== handle.json) return json;
    this.vetted = sess;
    return undefined;
  }

  /**
   * @internal Saves `sess` with the JSON its change check computed. Straight to set(), not through
   * sess.save(): express-session's wrapper of save() only hashes the session for its own end(),
   * which a response saved here never reaches.
   */
  saveWith(sess: session.Session, json: string, done: (err?: unknown) => void): void {
    if (json !== '') this.saving.set(sess, json);
    try {
      void this.set(sess.id, sess as unknown as ExpressSessionData, done);
    } finally {
      this.saving.delete(sess);
    }
  }

  /**
   * @internal keepAlive: a request its rule leaves out (a background poll) keeps the expiry its session was
   * loaded with. That session's touch(), which express-session and the save before the response call to
   * restart the cookie's max age, does nothing: its write, its expiry refresh and any Set-Cookie all carry
   * the stored expiry. A session the request creates or regenerates gets its full lifetime, as always.
   */
  holdExpiry(req: IncomingMessage, sess: object | undefined): void {
    if (!sess || this.keepAliveFor(req) !== false || this.handleOf(sess) === undefined) return;
    Object.defineProperty(sess, 'touch', { configurable: true, enumerable: false, writable: true, value: returnThis });
    this.held.add(sess);
  }

  /** @internal Takes flash `name` out of a request's session, once across requests (core/flash.ts). */
  takeFlash(sess: object, name: string): Promise<unknown> {
    return takeFlash(contextOf(this.store), this.handleOf(sess), sess as SessionData, name);
  }

  /** Table keys of live sessions (a paginated Scan). */
  ids(cb?: Callback<string[]>): Promise<string[]> {
    return settle(liveKeys(contextOf(this.store)), cb);
  }
}

