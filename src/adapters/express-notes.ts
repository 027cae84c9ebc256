/**
 * What the Express entry's store tells beside the session: the version cookie
 * a response carries (`consistentRead` other than true), and the warnings,
 * each given once, of plain express-session use that cannot have what
 * dynamoSession() gives.
 */
import type { SessionHandle, SessionStore } from '../store/session-store.js';
import { versionCookieAfter } from './version-cookie.js';

type CookieFields = { path?: string; domain?: string; secure?: boolean | 'auto'; sameSite?: boolean | 'lax' | 'strict' | 'none'; expires?: Date | null };

/** The Set-Cookie of the version cookie for a session whose stored version is not the one the request came with; else undefined. */
export function versionCookieFor(
  store: SessionStore,
  cookieName: string,
  handle: SessionHandle | undefined,
  sess: object,
  minVersion: number | undefined,
): string | undefined {
  const cookie = (sess as { cookie?: CookieFields }).cookie ?? {};
  const flags = {
    ...(cookie.path ? { path: cookie.path } : {}),
    ...(cookie.domain ? { domain: cookie.domain } : {}),
    ...(cookie.secure === true ? { secure: true } : {}),
    ...(cookie.sameSite !== undefined ? { sameSite: cookie.sameSite } : {}),
  };
  return versionCookieAfter(store, cookieName, handle, minVersion, flags, cookie.expires instanceof Date ? cookie.expires : undefined);
}

/**
 * Plain express-session (no dynamoSession()) never says which request is loading, nor its
 * method: unless node:http announced the request (`served`), `locking: 'auto'` cannot lock the
 * unsafe ones there. Said once (`noticed` remembers).
 */
export function noticePlainUse(store: SessionStore, noticed: Set<'consistentRead' | 'locking'>, served: boolean): void {
  if (!noticed.has('consistentRead') && store.config.consistentRead === false) {
    noticed.add('consistentRead');
    store.logger.warn(
      { table: store.config.table },
      'consistentRead: false needs dynamoSession(): its version cookie is what makes an eventually consistent read safe, ' +
        'and plain express-session cannot set it, so every read here is strongly consistent',
    );
  }
  if (served || noticed.has('locking') || store.config.locking === 'optimistic' || store.config.locking === 'none') return;
  noticed.add('locking');
  store.logger.warn(
    { table: store.config.table },
    'DynamoDBStore is used with plain express-session outside a request node:http announced, ' +
      "which does not tell the store a request's method: no lease is taken (locking 'auto' and lock rules need the request), " +
      'so saves are versioned and merged; concurrent read-modify-writes of one value (a counter) can lose updates. ' +
      "Use dynamoSession(), or locking: 'pessimistic' to lock every request",
  );
}
