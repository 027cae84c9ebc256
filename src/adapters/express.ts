/**
 * express-session adapter: `new DynamoDBStore(options)` is an express-session
 * Store; `dynamoSession({ store, ...sessionOptions })` is express-session
 * itself, plus per-route locking and 503 answers when DynamoDB is away.
 * No DynamoDB code here: everything maps onto core's SessionStore.
 */
import type { FlashMethods } from './flash-methods.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import session from 'express-session';
import type { SessionOptions } from 'express-session';
import { SessionStore } from '../store/session-store.js';
import { putFlash } from '../core/flash.js';
import type { LockRule } from './lock-rule.js';
import { checkDynamoSessionOptions } from './express-options.js';
import { sendUnavailable, unavailableStatus } from './unavailable.js';
import { replaceFailedSave } from './replace-response.js';
import { bridgeIdHeader, resolveIdHeader, type SessionIdHeader } from './id-header.js';

import { DynamoDBStore } from './express-store.js';
import type { Callback } from './callbacks.js';

export { DynamoDBStore, type DynamoDBStoreOptions } from './express-store.js';
export { fallbackFrom, type OldSessionStore } from './migrate-from.js';

export interface DynamoSessionOptions extends SessionOptions {
  store: DynamoDBStore;
  /**
   * Carry the signed id in a request header instead of the cookie, for API and
   * mobile clients: `'X-Session-Id'`, or `{ name: 'Authorization', scheme: 'Bearer' }`
   * (see id-header.ts). express-session still does the work: it finds the
   * header's value where it reads its cookie, and the cookie it sets leaves as the header.
   */
  header?: SessionIdHeader;
}

type Middleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

/**
 * express-session with this store, plus: per-route `lock` rules, and HTTP 503
 * with Retry-After (never a crash, never a silently empty session) when
 * DynamoDB is unreachable or a lock wait times out.
 */
export function dynamoSession(options: DynamoSessionOptions): Middleware {
  // By shape as well: a DynamoDBStore of the CommonJS build is another class than the ESM build's.
  checkDynamoSessionOptions(
    options,
    (store) =>
      store instanceof DynamoDBStore ||
      (typeof (store as DynamoDBStore | null)?.saveWith === 'function' && typeof (store as DynamoDBStore).changedJson === 'function'),
  );
  const { header, ...sessionOptions } = options;
  // express-session sets neither flag by default: Secure when the request came over HTTPS (req.secure, which
  // follows Express's "trust proxy"), SameSite=Lax.
  sessionOptions.cookie = { ...options.cookie };
  sessionOptions.cookie.secure ??= 'auto';
  sessionOptions.cookie.sameSite ??= 'lax';
  const idHeader = resolveIdHeader(header);
  const inner = session(sessionOptions) as unknown as Middleware;
  // `key` is express-session's older name for `name`, still read by it.
  options.store.cookieName = options.name ?? (options as { key?: string }).key ?? 'connect.sid';
  options.store.withMiddleware = true;
  options.store.stopWatching();
  const store = options.store;
  let reachable = true;
  store.on('disconnect', () => {
    reachable = false;
  });
  store.on('connect', () => {
    reachable = true;
  });
  return (req, res, next) => {
    if (!reachable) {
      sendUnavailable(res, 1);
      return;
    }
    // Before express-session's own hooks: it reads the rewritten Cookie header, and its cookie is turned into the header last.
    if (idHeader) bridgeIdHeader(req, res, idHeader, options.name ?? 'connect.sid', () => (req as SessionRequest).session === undefined);
    // res.end before express-session wraps it: once a changed session is saved, its wrapper has nothing left to do.
    const endOutsideSession = res.end;
    if ((req as { res?: unknown }).res === undefined) store.responses.set(req, res);
    store.loading = req;
    try {
      inner(req, res, (err?: unknown) => {
        store.loading = undefined;
        const status = unavailableStatus(err);
        if (status && !res.headersSent) {
          sendUnavailable(res, status.retryAfterSeconds);
          return;
        }
        if (!err) {
          withFlash(store, req as SessionRequest);
          store.holdExpiry(req, (req as SessionRequest).session);
          saveBeforeResponding(store, req as SessionRequest, res, endOutsideSession);
        }
        next(err);
      });
    } finally {
      store.loading = undefined;
    }
  };
}

type SessionRequest = IncomingMessage & { session?: session.Session & Record<string, unknown> };

/** `req.flash(name, value)` and `req.takeFlash(name)`, on the request's current session (a regenerate() replaces it). */
function withFlash(store: DynamoDBStore, req: SessionRequest): void {
  const flashing = req as SessionRequest & Pick<Express.Request, 'flash' | 'takeFlash'>;
  flashing.flash = (name: string, value: unknown) => {
    if (req.session) putFlash(req.session, name, value);
  };
  flashing.takeFlash = <T>(name: string) => (req.session ? (store.takeFlash(req.session, name) as Promise<T | undefined>) : Promise.resolve(undefined));
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    // `req.flash(name, value)` and `req.takeFlash(name)`: they need dynamoSession().
    interface Request extends FlashMethods {}
  }
}

/**
 * express-session sends the response headers before its save completes, so a
 * redirect can reach another server before the session is written, and a save
 * that fails cannot become an error status. Here a changed session is saved
 * when the app ends the response, and the response leaves after the save: a
 * save that fails (DynamoDB unreachable, lock lost) becomes a 503.
 */
function saveBeforeResponding(store: DynamoDBStore, req: SessionRequest, res: ServerResponse, endOutsideSession: ServerResponse['end']): void {
  if (!req.session) return;
  const end = res.end;
  res.end = function (this: ServerResponse, ...args: unknown[]) {
    const sess = req.session;
    // express-session refuses to save (or send a cookie for) a request whose sessionID an app
    // replaced with something other than a string: nothing of it may be stored under sess.id either.
    const bogus = typeof (req as { sessionID?: unknown }).sessionID !== 'string';
    const json = sess !== undefined && sess !== null && !bogus ? store.changedJson(sess) : undefined;
    const minVersion = (req as { dsmMinVersion?: number }).dsmMinVersion;
    if (json === undefined || !sess || res.headersSent) {
      const version = sess && !res.headersSent ? store.versionCookie(sess, minVersion) : undefined;
      if (version) res.appendHeader('Set-Cookie', version);
      return (end as (...a: unknown[]) => ServerResponse).apply(this, args);
    }
    // From here on the session is this function's to save, and express-session's end() has nothing
    // left to do (it would hash the session twice more to find it saved, then touch it, a no-op):
    // every way out below goes to the end beneath it.
    res.end = endOutsideSession;
    // As express-session does before its own save: the cookie's expiry restarts now, and the write stores it.
    sess.touch();
    store.saveWith(sess, json, (err?: unknown) => {
      if (err && !res.headersSent) {
        // The app's error-handling middleware learns of it through `req.next`, as of a route's error (router sets it on every
        // request it dispatches); the session this response did not store must not set its cookie then.
        withoutSessionCookie(req, res);
        const next = (req as { next?: unknown }).next;
        replaceFailedSave(res, err, store.store.logger, typeof next === 'function' ? (next as (err: unknown) => void) : undefined);
        return;
      }
      const version = res.headersSent ? undefined : store.versionCookie(sess, minVersion);
      if (version) res.appendHeader('Set-Cookie', version);
      (endOutsideSession as (...a: unknown[]) => ServerResponse).apply(res, args);
    });
    return res;
  } as ServerResponse['end'];
}

/**
 * express-session's on-headers hook sets the session cookie whenever `req.session` is there as
 * the headers go out; this session was not stored. It is hidden from that hook only, so the
 * app's error handler still sees the request's session.
 */
function withoutSessionCookie(req: SessionRequest, res: ServerResponse): void {
  const writeHead = res.writeHead as (...a: unknown[]) => ServerResponse;
  res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
    const sess = req.session;
    req.session = undefined;
    try {
      return writeHead.apply(this, args);
    } finally {
      req.session = sess;
    }
  } as ServerResponse['writeHead'];
}

export { SessionStore };
export type { LockRule };
export type { SessionIdHeader, SessionIdHeaderOptions } from './id-header.js';
// What the Store's callback-style methods take, and what dynamoSession() returns.
export type { Callback as StoreCallback, Middleware as DynamoSessionMiddleware };
