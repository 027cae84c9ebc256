/**
 * A server-side session for frameworks with no session middleware of their
 * own that fits a store (Hono, plain node:http): a signed cookie carries the
 * id, the data lives in DynamoDB. One request: `open` → the app reads and
 * changes `session` → `finish` (the Set-Cookie headers to send) or `abandon`.
 *
 * Stored data keeps express-session's shape (a `cookie` object beside the
 * app's keys), so a session written here reads in Express, and back.
 */
import { randomBytes } from 'node:crypto';
import { SessionStore, type SessionData, type SessionHandle } from '../core/session-store.js';
import type { SessionStoreOptions } from '../config/options.js';
import { ConfigError, InvalidSessionIdError } from '../errors.js';
import { clearSetCookie, readCookie, secretList, sessionSetCookie, signSessionId, unsignSessionId, type SessionCookieOptions } from './signed-cookie.js';
import { minVersionFrom, versionCookieName, versionSetCookie } from './version-cookie.js';

export interface ServerSessionOptions extends SessionStoreOptions {
  /** Share one core store instead of making one from the options. */
  store?: SessionStore;
  /** Signs the session cookie: a string, or several to rotate (the first signs, all verify). Required. */
  secret: string | string[];
  /** Cookie name. Default `sid`; use `connect.sid` to share sessions with an express-session app. */
  name?: string;
  cookie?: SessionCookieOptions;
  /** Send the cookie (and refresh its expiry) on every response, not only when the session changed. Default false. */
  rolling?: boolean;
  /** Store sessions nobody wrote to. Default false: no cookie and no item until the app sets something. */
  saveUninitialized?: boolean;
  /** New session ids; default 24 random bytes, base64url. */
  genid?: () => string;
}

type State = 'new' | 'loaded' | 'regenerated' | 'destroyed';

/** The session of one request: a plain data object plus the operations that need the store. */
export class RequestSession {
  #id: string;
  #data: SessionData;
  #state: State;
  #handle: SessionHandle | undefined;
  /** express-session's cookie metadata from the stored item, carried through unchanged. */
  readonly #cookieMeta: unknown;
  readonly #manager: ServerSessions;
  /** The request came with a session cookie (so a destroy must clear it). */
  readonly hadCookie: boolean;
  /** @internal The version floor the request's version cookie gave, if any. */
  minVersion: number | undefined;

  /** @internal */
  constructor(manager: ServerSessions, id: string, loaded: { data: SessionData; handle: SessionHandle } | undefined, hadCookie: boolean) {
    this.#manager = manager;
    this.#id = id;
    this.hadCookie = hadCookie;
    if (loaded) {
      const { cookie, ...data } = loaded.data;
      this.#cookieMeta = cookie;
      this.#data = data;
      this.#handle = loaded.handle;
      this.#state = 'loaded';
    } else {
      this.#data = {};
      this.#state = 'new';
    }
  }

  get id(): string {
    return this.#id;
  }

  /** True until the session has been stored once. */
  get isNew(): boolean {
    return this.#state !== 'loaded';
  }

  get destroyed(): boolean {
    return this.#state === 'destroyed';
  }

  /** The session's data: read it, change it in place, or use get/set/delete. */
  get data(): SessionData {
    return this.#data;
  }

  get<T = unknown>(key: string): T | undefined {
    return this.#data[key] as T | undefined;
  }

  set(key: string, value: unknown): this {
    if (key === 'cookie') throw new ConfigError('session key "cookie" is reserved for the cookie metadata express-session keeps beside the data: use another name');
    this.#data[key] = value;
    return this;
  }

  delete(key: string): boolean {
    const had = key in this.#data;
    delete this.#data[key];
    return had;
  }

  /** Empties the data, keeping the id. */
  clear(): void {
    this.#data = {};
  }

  /**
   * A new id for the same data (do it on login, against session fixation): the
   * old item is deleted now, the new one written when the request ends.
   */
  async regenerate(): Promise<void> {
    if (this.#state === 'loaded') await this.#manager.store.destroy(this.#id, this.#handle);
    this.#handle = undefined;
    this.#id = this.#manager.newId();
    this.#state = 'regenerated';
  }

  /** Deletes the session now; the response clears the cookie. Another request holding it cannot bring it back. */
  async destroy(): Promise<void> {
    if (this.#state === 'loaded') await this.#manager.store.destroy(this.#id, this.#handle);
    this.#handle = undefined;
    this.#data = {};
    this.#state = 'destroyed';
  }

  /** @internal */
  get handle(): SessionHandle | undefined {
    return this.#handle;
  }

  /** @internal */
  get state(): State {
    return this.#state;
  }

  /** @internal What is stored: the data with express-session's cookie metadata beside it. */
  stored(cookieMeta: () => unknown): SessionData {
    return { cookie: this.#cookieMeta ?? cookieMeta(), ...this.#data };
  }
}

/** Opens and finishes the sessions of requests; one per app (or per cookie name). */
export class ServerSessions {
  readonly store: SessionStore;
  readonly name: string;
  private readonly secrets: string[];
  private readonly cookie: SessionCookieOptions;
  private readonly rolling: boolean;
  private readonly saveUninitialized: boolean;
  private readonly genid: () => string;

  constructor(options: ServerSessionOptions) {
    const { store, secret, name, cookie, rolling, saveUninitialized, genid, ...storeOptions } = options ?? ({} as ServerSessionOptions);
    this.secrets = secretList(secret);
    this.store = store ?? new SessionStore(storeOptions);
    this.name = name ?? 'sid';
    this.cookie = cookie ?? {};
    if (this.cookie.maxAge !== undefined && this.cookie.maxAge !== null && !(Number.isFinite(this.cookie.maxAge) && this.cookie.maxAge > 0)) {
      throw new ConfigError(`option "cookie.maxAge" must be a positive number of milliseconds, or null for a browser-session cookie (got ${String(this.cookie.maxAge)})`);
    }
    this.rolling = rolling ?? false;
    this.saveUninitialized = saveUninitialized ?? false;
    this.genid = genid ?? (() => randomBytes(24).toString('base64url'));
  }

  /** @internal */
  newId(): string {
    return this.genid();
  }

  /**
   * The request's session: loaded when its cookie is validly signed and the
   * session is live, else a new empty one. Throws StoreUnavailableError or
   * LockTimeoutError (adapters answer 503).
   */
  async open(cookieHeader: string | null | undefined, options: { lock?: boolean; method?: string } = {}): Promise<RequestSession> {
    const raw = readCookie(cookieHeader, this.name);
    const id = unsignSessionId(raw, this.secrets);
    if (id !== undefined) {
      let loaded;
      const minVersion = this.store.config.consistentRead ? undefined : minVersionFrom(readCookie(cookieHeader, versionCookieName(this.name)), id);
      try {
        loaded = await this.store.load(id, { ...(options.lock === undefined ? {} : { lock: options.lock }), ...(options.method ? { method: options.method } : {}), ...(minVersion === undefined ? {} : { minVersion }) });
      } catch (err) {
        // A validly signed but unusable id (e.g. over-long) is no session, not a server error.
        if (!(err instanceof InvalidSessionIdError)) throw err;
      }
      if (loaded) {
        const session = new RequestSession(this, id, loaded, true);
        session.minVersion = minVersion;
        return session;
      }
    }
    return new RequestSession(this, this.genid(), undefined, raw !== undefined);
  }

  /**
   * Saves what the request changed (nothing, or a throttled expiry refresh, when
   * it changed nothing) and returns the Set-Cookie header values to send.
   */
  async finish(session: RequestSession): Promise<string[]> {
    const state = session.state;
    if (state === 'destroyed') return session.hadCookie ? [clearSetCookie(this.name, this.cookie)] : [];
    const empty = Object.keys(session.data).length === 0;
    if (state === 'new' && empty && !this.saveUninitialized) {
      await this.store.release(session.handle);
      return [];
    }
    const maxAge = this.cookie.maxAge === undefined ? this.store.config.ttl * 1000 : this.cookie.maxAge;
    const expires = new Date(Date.now() + (maxAge ?? this.store.config.ttl * 1000));
    const outcome = await this.store.commit(session.handle, session.id, session.stored(() => this.cookieMeta(maxAge)), { expires });
    if (outcome === 'destroyed') return [clearSetCookie(this.name, this.cookie)];
    const send = state !== 'loaded' || this.rolling || (maxAge !== null && outcome !== 'unchanged');
    const cookies = send ? [sessionSetCookie(this.name, signSessionId(session.id, this.secrets), this.cookie, maxAge === null ? undefined : expires)] : [];
    // Eventually consistent reads: tell the client which version its next read must not be older than.
    const version = session.handle?.storedVersion;
    if (!this.store.config.consistentRead && version !== undefined && version !== session.minVersion) {
      cookies.push(versionSetCookie(this.name, session.id, version, this.cookie, maxAge === null ? undefined : expires));
    }
    return cookies;
  }

  /**
   * The Set-Cookie values `finish` will most likely return, known before the
   * save: for apps that send their headers before the session is saved.
   */
  previewCookies(session: RequestSession): string[] {
    if (session.state === 'destroyed') return session.hadCookie ? [clearSetCookie(this.name, this.cookie)] : [];
    if (session.state === 'new' && Object.keys(session.data).length === 0 && !this.saveUninitialized) return [];
    const maxAge = this.cookie.maxAge === undefined ? this.store.config.ttl * 1000 : this.cookie.maxAge;
    if (session.state === 'loaded' && !this.rolling && maxAge === null) return [];
    return [sessionSetCookie(this.name, signSessionId(session.id, this.secrets), this.cookie, maxAge === null ? undefined : new Date(Date.now() + maxAge))];
  }

  /** Ends a request that failed: gives back its lease, writes nothing. */
  async abandon(session: RequestSession): Promise<void> {
    await this.store.release(session.handle);
  }

  /** The cookie object express-session would store for these options. */
  private cookieMeta(maxAge: number | null): Record<string, unknown> {
    return {
      originalMaxAge: maxAge,
      path: this.cookie.path ?? '/',
      httpOnly: this.cookie.httpOnly ?? true,
      ...(this.cookie.secure ? { secure: true } : {}),
      ...(this.cookie.domain ? { domain: this.cookie.domain } : {}),
      sameSite: this.cookie.sameSite ?? 'lax',
    };
  }
}
