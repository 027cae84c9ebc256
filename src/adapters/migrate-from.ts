/**
 * Read-through migration for the entries whose framework takes callback-style
 * stores (express-session's, and @fastify/session's, which takes the same
 * ones): `migrateFrom: oldStore` (connect-redis, connect-dynamodb,
 * dynamodb-store, a MemoryStore) becomes the core store's `fallback`. A
 * session missing here is read from the old store once and copied here; a
 * logout or a regenerated id deletes it there too. See docs/migration.md.
 */
import type { SessionFallback } from '../core/fallback.js';
import type { SessionStoreOptions } from '../config/options.js';
import type { SessionStore } from '../store/session-store.js';
import { ConfigError } from '../errors.js';
import { cookieExpiry, toStored, withPlainCookie } from './cookie-shape.js';
import { storeFrom } from './shared-store.js';

/** A session store of express-session's or @fastify/session's kind, as far as migration uses it. */
export interface OldSessionStore {
  get(sid: string, callback: (err: unknown, session?: unknown) => void): void;
  destroy(sid: string, callback?: (err?: unknown) => void): void;
}

/**
 * The core store's `fallback` over a callback-style store: its get and destroy, the session's
 * expiry from its cookie (else `ttl` seconds from now).
 */
export function fallbackFrom(old: OldSessionStore, ttlSeconds = 86_400): SessionFallback {
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
      const sess = await call<Record<string, unknown> | null | undefined>('get', id);
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

/**
 * The entry's core store (storeFrom), reading through to `migrateFrom` when it is given: a store with
 * get and destroy, the only old store named (the shared `store` and the `fallback` option name their own).
 */
export function storeMigratingFrom(migrateFrom: OldSessionStore | undefined, store: SessionStore | undefined, options: SessionStoreOptions): SessionStore {
  if (migrateFrom === undefined) return storeFrom(store, options);
  if (
    !migrateFrom ||
    typeof (migrateFrom as { get?: unknown }).get !== 'function' ||
    typeof (migrateFrom as { destroy?: unknown }).destroy !== 'function'
  ) {
    throw new ConfigError(
      'option "migrateFrom" must be a session store with get and destroy (an express-session or @fastify/session store), ' +
        'such as the connect-redis or connect-dynamodb store the app used until now',
    );
  }
  if (store) {
    throw new ConfigError('option "migrateFrom" cannot go with "store": give the shared SessionStore the option fallback: fallbackFrom(oldStore) instead');
  }
  if (options.fallback) throw new ConfigError('options "migrateFrom" and "fallback" both name an old store: keep one');
  return storeFrom(undefined, { ...options, fallback: fallbackFrom(migrateFrom, options.ttl) });
}
