/**
 * A server-side session for frameworks with no session middleware of their
 * own that fits a store (Hono, plain node:http, the Web-standard ones): a
 * signed cookie (or, with `header`, a request header) carries the id, the
 * data lives in DynamoDB. One request: `open` → the app reads and changes
 * `session` → `finish` (the response headers to send) or `abandon`.
 *
 * Stored data keeps express-session's shape (a `cookie` object beside the
 * app's keys), so a session written here reads in Express, and back.
 */
import { storeFrom } from './shared-store.js';
import { loadForRequest, versionFloor } from './request-load.js';
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import type { SessionStore } from '../store/session-store.js';
import { type SessionStoreOptions } from '../config/options.js';
import { ConfigError, SessionIdTakenError } from '../errors.js';
import {
  clearSetCookie,
  forRequest,
  readCookie,
  secretList,
  sessionSetCookie,
  signSessionId,
  unsignSessionId,
  type SessionCookieOptions,
} from './signed-cookie.js';
import { versionCookieAfter } from './version-cookie.js';
import { idFromHeader, resolveIdHeader, type ResolvedIdHeader, type SessionIdHeader } from './id-header.js';
import { homeRegionIds } from '../regions/home-region.js';
import { RequestSession } from './request-session.js';

export { RequestSession };

/** A request's headers by name (any case): `(name) => req.headers[name]`, or a fetch Request's `headers.get`. */
export type HeaderLookup = (name: string) => string | string[] | null | undefined;

/** Response headers to add, in order: `[name, value]`; Set-Cookie may come more than once. */
export type ResponseHeaders = Array<[string, string]>;

export interface ServerSessionOptions extends SessionStoreOptions {
  /** Share one core store instead of making one from the options (then give none of them). */
  store?: SessionStore;
  /**
   * Signs the session cookie: a string, or several to rotate (the first signs, all verify). Required, but
   * checked at the first request: a build (`next build`) evaluates the module without runtime secrets.
   */
  secret: string | string[] | undefined;
  /** Cookie name. Default `sid`; use `connect.sid` to share sessions with an express-session app. */
  name?: string;
  /** Cookie attributes. Defaults: `Secure` when the request came over HTTPS (`secure: 'auto'`), `SameSite=Lax`, `HttpOnly`, `Path=/`. */
  cookie?: SessionCookieOptions;
  /**
   * Believe the first `X-Forwarded-Proto` of a request about its protocol (for
   * the cookie's `Secure`): set it when a proxy you run terminates TLS and sets
   * that header. Default false: the entry's own view of the request decides.
   */
  trustProxy?: boolean;
  /** Send the cookie (and refresh its expiry) on every response, not only when the session changed. Default false. */
  rolling?: boolean;
  /** Store sessions nobody wrote to. Default false: no cookie and no item until the app sets something. */
  saveUninitialized?: boolean;
  /** New session ids; default 24 random bytes, base64url. */
  genid?: () => string;
  /**
   * Carry the signed id in a request header instead of a cookie, for API and
   * mobile clients: `'X-Session-Id'`, or `{ name: 'Authorization', scheme: 'Bearer' }`.
   * A new id goes back in a response header (see id-header.ts); no cookie is read or set.
   */
  header?: SessionIdHeader;
}

/** Opens and finishes the sessions of requests; one per app (or per cookie name). */
export class ServerSessions {
  readonly store: SessionStore;
  readonly name: string;
  /** @internal Set when ids travel in a header instead of a cookie. */
  readonly idHeader: ResolvedIdHeader | undefined;
  /** The cookie secrets: in private fields, so no inspect, JSON or property walk reaches them. */
  readonly #secret: string | string[] | undefined;
  #secrets: string[] | undefined;
  private readonly cookie: SessionCookieOptions;
  private readonly trustProxy: boolean;
  private readonly rolling: boolean;
  private readonly saveUninitialized: boolean;
  private readonly genid: () => string;
  /** The ids are this library's: a taken one is drawn again. A caller's generator that repeats itself is an error it must see. */
  private readonly ownGenid: boolean;

  constructor(options: ServerSessionOptions) {
    const { store, secret, name, cookie, rolling, saveUninitialized, genid, header, trustProxy, ...storeOptions } = options ?? ({} as ServerSessionOptions);
    this.#secret = secret;
    // A secret given is checked now; a missing one (an unset or empty variable) at the first request: a build has no runtime secrets.
    if (secret !== undefined && secret !== '') this.#secrets = secretList(secret);
    this.idHeader = resolveIdHeader(header);
    this.store = storeFrom(store, storeOptions);
    this.name = name ?? 'sid';
    this.cookie = cookie ?? {};
    if (this.cookie.maxAge !== undefined && this.cookie.maxAge !== null && !(Number.isFinite(this.cookie.maxAge) && this.cookie.maxAge > 0)) {
      throw new ConfigError(
        `option "cookie.maxAge" must be a positive number of milliseconds, or null for a browser-session cookie (got ${String(this.cookie.maxAge)})`,
      );
    }
    this.trustProxy = trustProxy ?? false;
    this.rolling = rolling ?? false;
    this.saveUninitialized = saveUninitialized ?? false;
    // A global table (regions): new sessions are homed in this server's Region (regions/home-region.ts).
    this.genid = genid ?? (this.store.config.regions ? homeRegionIds(this.store.config.region!) : () => randomBytes(24).toString('base64url'));
    this.ownGenid = genid === undefined;
  }

  private get secrets(): string[] {
    if (this.#secrets) return this.#secrets;
    if (this.#secret === undefined || this.#secret === '') {
      throw new ConfigError(
        'option "secret" is required: set it where the app serves requests (it is checked at the first request, so that a build needs none)',
      );
    }
    return (this.#secrets = secretList(this.#secret));
  }

  /** JSON and util.inspect: the cookie's name and flags and the store's summary, never the secrets. */
  toJSON(): { name: string; cookie: SessionCookieOptions; store: ReturnType<SessionStore['toJSON']> } {
    return { name: this.name, cookie: this.cookie, store: this.store.toJSON() };
  }

  [inspect.custom](_depth: number, options: object): string {
    return `ServerSessions ${inspect(this.toJSON(), { ...options, depth: 4 })}`;
  }

  /** @internal */
  newId(): string {
    return this.genid();
  }

  /**
   * The request's session: loaded when its cookie (or id header) is validly
   * signed and the session is live, else a new empty one. `source` is the
   * request's Cookie header, or a lookup of its headers (needed for `header`).
   * `https`: the request came over HTTPS as the entry sees it (with
   * `trustProxy`, X-Forwarded-Proto has the last word).
   * Throws StoreUnavailableError or LockTimeoutError (adapters answer 503).
   */
  async open(
    source: string | null | undefined | HeaderLookup,
    options: { lock?: boolean; method?: string; device?: { userAgent?: string; ip?: string }; https?: boolean; as?: typeof RequestSession } = {},
  ): Promise<RequestSession> {
    const Session = options.as ?? RequestSession;
    const lookup: HeaderLookup = typeof source === 'function' ? source : (name) => (name === 'cookie' ? source : undefined);
    const https = this.isHttps(lookup, options.https ?? false);
    const cookieHeader = this.idHeader ? undefined : single(lookup('cookie'));
    const raw = this.idHeader ? idFromHeader(single(lookup(this.idHeader.name)), this.idHeader) : readCookie(cookieHeader, this.name);
    const id = unsignSessionId(raw, this.secrets);
    if (id !== undefined) {
      // A header client has no version cookie, so its reads stay strong.
      const minVersion = versionFloor(this.store, cookieHeader, this.name, id);
      const loaded = await loadForRequest(this.store, id, options.lock, options.method, minVersion);
      if (loaded) {
        const session = new Session(this, id, loaded, true);
        session.minVersion = minVersion;
        session.device = options.device;
        session.https = https;
        return session;
      }
    }
    const created = new Session(this, this.newId(), undefined, raw !== undefined);
    created.device = options.device;
    created.https = https;
    return created;
  }

  private isHttps(lookup: HeaderLookup, seen: boolean): boolean {
    if (!this.trustProxy) return seen;
    const forwarded = single(lookup('x-forwarded-proto'))?.split(',')[0]?.trim().toLowerCase();
    return forwarded ? forwarded === 'https' : seen;
  }

  /**
   * Saves what the request changed (nothing, or a throttled expiry refresh, when
   * it changed nothing) and returns the response headers to send: Set-Cookie,
   * or with `header` the id header when the client's id changed.
   */
  async finish(session: RequestSession): Promise<ResponseHeaders> {
    const state = session.state;
    if (state === 'destroyed') return session.hadCookie ? this.cleared(session) : [];
    const empty = Object.keys(session.data).length === 0;
    if (state === 'new' && empty && !this.saveUninitialized) {
      await this.store.release(session.handle);
      return [];
    }
    const maxAge = this.cookie.maxAge === undefined ? this.store.config.ttl * 1000 : this.cookie.maxAge;
    // keepAlive: a request its rule leaves out (a background poll) stores the expiry it loaded, whatever it writes, and sends no cookie.
    const held = state === 'loaded' && !session.keepAlive ? session.handle?.expiresAtMs : undefined;
    const expires = new Date(held ?? Date.now() + (maxAge ?? this.store.config.ttl * 1000));
    // A new session is created, not upserted: its first write is conditional on the id being free, and is announced.
    let handle = session.handle ?? this.store.newHandle(session.id);
    let outcome;
    for (let tries = 1; ; tries++) {
      try {
        outcome = await this.store.commit(handle, session.id, session.stored(() => this.cookieMeta(maxAge)), {
          expires,
          ...(session.replaces ? { replaces: session.replaces, freshStart: session.freshStart } : {}),
          ...(session.device ? { device: session.device } : {}),
        });
        break;
      } catch (err) {
        // A new session never joins the one whose id it drew: it draws another (issue 36.6).
        if (!(err instanceof SessionIdTakenError) || !this.ownGenid || session.handle || tries >= 3) throw err;
        session.drawNewId();
        handle = this.store.newHandle(session.id);
      }
    }
    // Destroyed by another request (a logout, or a login's regenerate): no Set-Cookie at all. Clearing it
    // here could arrive after that login's response and clear the new session's cookie.
    if (outcome === 'destroyed') return [];
    if (this.idHeader) return state === 'loaded' ? [] : [[this.idHeader.response, signSessionId(session.id, this.secrets)]];
    const send = held === undefined && (state !== 'loaded' || this.rolling || (maxAge !== null && outcome !== 'unchanged'));
    const headers: ResponseHeaders = send ? [['Set-Cookie', this.sessionCookie(session, maxAge === null ? undefined : expires)]] : [];
    // Eventually consistent reads: tell the client which version its next read must not be older than.
    // A new session's handle is the one made above: its first write sets the cookie too, so its next read is eventual and sets none.
    const flags = forRequest(this.cookie, session.https);
    const version = versionCookieAfter(this.store, this.name, session.handle ?? handle, session.minVersion, flags, maxAge === null ? undefined : expires);
    if (version) headers.push(['Set-Cookie', version]);
    return headers;
  }

  /**
   * The headers `finish` will most likely return, known before the save: for
   * apps that send their headers before the session is saved.
   */
  previewHeaders(session: RequestSession): ResponseHeaders {
    if (session.state === 'destroyed') return session.hadCookie ? this.cleared(session) : [];
    if (session.state === 'new' && Object.keys(session.data).length === 0 && !this.saveUninitialized) return [];
    if (this.idHeader) return session.state === 'loaded' ? [] : [[this.idHeader.response, signSessionId(session.id, this.secrets)]];
    const maxAge = this.cookie.maxAge === undefined ? this.store.config.ttl * 1000 : this.cookie.maxAge;
    if (session.state === 'loaded' && ((!this.rolling && maxAge === null) || !session.keepAlive)) return [];
    return [['Set-Cookie', this.sessionCookie(session, maxAge === null ? undefined : new Date(Date.now() + maxAge))]];
  }

  /** @internal The session cookie naming this session, expiring at `expires` (none: a browser-session cookie). */
  sessionCookie(session: RequestSession, expires: Date | undefined): string {
    return sessionSetCookie(this.name, signSessionId(session.id, this.secrets), forRequest(this.cookie, session.https), expires);
  }

  /** @internal The session cookie as a fresh save sets it now (its expiry from `cookie.maxAge` or `ttl`). */
  currentCookie(session: RequestSession): string {
    const maxAge = this.cookie.maxAge === undefined ? this.store.config.ttl * 1000 : this.cookie.maxAge;
    return this.sessionCookie(session, maxAge === null ? undefined : new Date(Date.now() + maxAge));
  }

  /** @internal A Set-Cookie value that makes the browser drop the session cookie, with the attributes it was set with. */
  clearCookie(session: RequestSession): string {
    return clearSetCookie(this.name, forRequest(this.cookie, session.https));
  }

  /** @internal The cookie options, for adapters that set cookies through their framework's own API. */
  get cookieOptions(): SessionCookieOptions {
    return this.cookie;
  }

  /** What tells the client its session is gone: a cookie that expires now, or an empty id header (as Spring Session sends). */
  private cleared(session: RequestSession): ResponseHeaders {
    return this.idHeader ? [[this.idHeader.response, '']] : [['Set-Cookie', this.clearCookie(session)]];
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
      ...(this.cookie.secure === true ? { secure: true } : {}),
      ...(this.cookie.domain ? { domain: this.cookie.domain } : {}),
      sameSite: this.cookie.sameSite ?? 'lax',
    };
  }
}

/** One value of a header (Node gives an array for a repeated one; a session id header is not). */
/** An entry that speaks Cookie and Set-Cookie only: option `header` is a ConfigError that says where ids in a header work. */
export function refuseIdHeader(options: unknown, entry: string, where: string): void {
  if ((options as { header?: unknown } | null | undefined)?.header === undefined) return;
  throw new ConfigError(`option "header" does not fit ${entry}: use webSessions({ header }) from dynamodb-session-manager/web ${where}`);
}

function single(value: string | string[] | null | undefined): string | undefined {
  if (Array.isArray(value)) return value.length === 1 ? value[0] : undefined;
  return value ?? undefined;
}
