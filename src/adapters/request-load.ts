/**
 * A request's load, as every entry does it: the lease its rules decide (or,
 * left undefined, the store's `locking` mode by the method), the version floor
 * of its version cookie (which alone makes an eventually consistent read
 * safe), and an id the store refuses (hostile, mangled, over-long) taken as
 * no session rather than a server error.
 */
import { eventualReads } from '../config/options.js';
import type { LoadedSession, LoadOptions, SessionStore } from '../store/session-store.js';
import { InvalidSessionIdError } from '../errors.js';
import { minVersionFrom, versionCookieName } from './version-cookie.js';
import { readCookie } from './signed-cookie.js';

/**
 * The version floor of session `id` the request's cookies give, under `consistentRead` other than true:
 * `cookies` is the Cookie header, or a lookup of parsed cookies by name.
 */
export function versionFloor(
  store: SessionStore,
  cookies: string | ((name: string) => string | undefined) | undefined,
  sessionCookieName: string,
  id: string,
): number | undefined {
  if (cookies === undefined || !eventualReads(store.config)) return undefined;
  const name = versionCookieName(sessionCookieName);
  return minVersionFrom(typeof cookies === 'function' ? cookies(name) : readCookie(cookies, name), id);
}

/** Loads session `id` for a request; null when there is none, or its id is not one the store takes. */
export async function loadForRequest(
  store: SessionStore,
  id: string,
  lock: boolean | undefined,
  method: string | undefined,
  minVersion: number | undefined,
): Promise<LoadedSession | null> {
  // Filled field by field: a spread of a conditional object literal allocates one per field.
  const options: LoadOptions = {};
  if (lock !== undefined) options.lock = lock;
  if (method) options.method = method;
  if (minVersion !== undefined) options.minVersion = minVersion;
  try {
    return await store.load(id, options);
  } catch (err) {
    if (err instanceof InvalidSessionIdError) return null;
    throw err;
  }
}
