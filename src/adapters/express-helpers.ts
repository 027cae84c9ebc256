/**
 * What the Express entry's store leans on: callbacks beside promises
 * (`settle`), the read-through migration over an express-session Store
 * (`fallbackFrom`), a session's device, and the reload() of a session its own
 * request holds under a lease.
 */
import type session from 'express-session';
import type { SessionData as ExpressSessionData } from 'express-session';
import type { SessionFallback } from '../core/fallback.js';
import { ConfigError } from '../errors.js';
import { cookieExpiry, toStored, withPlainCookie } from './cookie-shape.js';

export type Callback<T = void> = (err?: unknown, value?: T) => void;

/**
 * Promise first, with an optional Node callback. The callback runs on a tick of
 * its own, outside the promise chain: an exception it throws is an uncaught
 * exception, as with express-session's MemoryStore, not a rejection nobody handles.
 */
export function settle<T>(promise: Promise<T>, cb: Callback<T> | undefined): Promise<T> {
  if (cb) promise.then((v) => process.nextTick(cb, null, v), (err: unknown) => process.nextTick(cb, err));
  return promise;
}

/**
 * The core store's `fallback` over an express-session Store: its get and destroy (callback
 * style, which every Store has), the session's expiry from its cookie (else `ttl` seconds from now).
 */
export function fallbackFrom(old: session.Store, ttlSeconds = 86_400): SessionFallback {
  const call = <T>(method: 'get' | 'destroy', id: string) =>
    new Promise<T>((resolve, reject) => {
      try {
        (old[method] as (sid: string, cb: (err?: unknown, value?: T) => void) => void).call(old, id, (err, value) => (err ? reject(err) : resolve(value as T)));
      } catch (err) {
        reject(err);
      }
    });
  return {
    async get(id) {
      const sess = await call<ExpressSessionData | null | undefined>('get', id);
      if (!sess || typeof sess !== 'object') return null;
      const data = toStored(withPlainCookie(sess));
      const maxAge = (data.cookie as { originalMaxAge?: unknown } | undefined)?.originalMaxAge;
      // A cookie without its expiry (dynamodb-store's marshalling loses the Date) restarts its max age, as the old app's next request would.
      return { data, expiresAt: cookieExpiry(sess) ?? Date.now() + (typeof maxAge === 'number' ? maxAge : ttlSeconds * 1000) };
    },
    async destroy(id) {
      await call<void>('destroy', id);
    },
  };
}


export function returnThis<T>(this: T): T {
  return this;
}

/** Gives one Session a reload() that reads without a lease and keeps the one its request holds. */
export function reloadWithoutLease(
  store: { get(sid: string): Promise<ExpressSessionData | null>; createSession: session.Store['createSession'] },
  req: Parameters<session.Store['createSession']>[0], sess: session.Session): void {
  Object.defineProperty(sess, 'reload', {
    configurable: true,
    writable: true,
    enumerable: false,
    value(fn: (err?: unknown) => void) {
      store.get(sess.id).then(
        (data) => {
          if (!data) return fn(new Error('failed to load session'));
          store.createSession(req, data);
          fn();
        },
        (err: unknown) => fn(err),
      );
      return sess;
    },
  });
}

/** `migrateFrom` must be an express-session Store, and the only old store named. */
export function checkMigrateFrom(migrateFrom: session.Store | undefined, store: unknown, fallback: unknown): void {
  if (migrateFrom === undefined) return;
  if (
    !migrateFrom ||
    typeof (migrateFrom as { get?: unknown }).get !== 'function' ||
    typeof (migrateFrom as { destroy?: unknown }).destroy !== 'function'
  ) {
    throw new ConfigError(
      'option "migrateFrom" must be an express-session Store (with get and destroy), ' +
        'such as the connect-redis or connect-dynamodb store the app used until now',
    );
  }
  if (store) {
    throw new ConfigError('option "migrateFrom" cannot go with "store": give the shared SessionStore the option fallback: fallbackFrom(oldStore) instead');
  }
  if (fallback) throw new ConfigError('options "migrateFrom" and "fallback" both name an old store: keep one');
}
