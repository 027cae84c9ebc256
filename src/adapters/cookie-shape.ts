/**
 * express-session and @fastify/session keep a `cookie` object in the session
 * (max age, path, flags). Stored, it loses its `expires`: that changes on every
 * request and is the item's `expiresAt` already, so keeping it would make every
 * request look like a change and cost a write.
 */
import type { SessionData } from '../store/session-store.js';

interface CookieJson {
  expires?: unknown;
  originalMaxAge?: number | null;
  [k: string]: unknown;
}

/** The session's expiry as its cookie says, if it says. */
export function cookieExpiry(sess: object): Date | undefined {
  const expires = (sess as { cookie?: { expires?: unknown } }).cookie?.expires;
  if (expires instanceof Date) return expires;
  if (typeof expires === 'string' && !Number.isNaN(Date.parse(expires))) return new Date(expires);
  return undefined;
}

export function toStored(sess: object): SessionData {
  // Own enumerable string keys only (@fastify/session's Session keeps its store and request under
  // symbols), the cookie first: the order the JSON that change detection compares was written in.
  // An own "__proto__" key (only JSON.parse or defineProperty make one) is left out: assigned here
  // it would set the copy's prototype, and a load drops it anyway.
  const source = sess as Record<string, unknown>;
  const keys = Object.keys(source);
  const out: SessionData = {};
  const cookie = source.cookie as (CookieJson & { toJSON?: () => CookieJson }) | undefined;
  if (cookie && typeof cookie === 'object') {
    const json = typeof cookie.toJSON === 'function' ? cookie.toJSON() : cookie;
    const kept: Record<string, unknown> = {};
    // An expiry derived from a max age moves on every request (the item's expiry holds it); an absolute one
    // with no max age is the cookie's own setting, stable, and kept (@fastify/session would lose it).
    const derived = typeof json.originalMaxAge === 'number' || json.expires === null || json.expires === undefined;
    for (const k of Object.keys(json)) if ((k !== 'expires' || !derived) && k !== '__proto__') kept[k] = json[k];
    // express-session's own field, NaN after an invalid `expires`: stored as JSON would store it, not refused.
    if (typeof kept.originalMaxAge === 'number' && !Number.isFinite(kept.originalMaxAge)) kept.originalMaxAge = null;
    out.cookie = kept;
  }
  for (const k of keys) if (k !== 'cookie' && k !== '__proto__') out[k] = source[k];
  return out;
}

/**
 * The session data a framework gets from a load, with the cookie's `expires` put back from the
 * item's expiry. `data` is the load's own freshly parsed object: changed in place, not copied.
 */
export function fromStored(data: SessionData, expiresAtMs: number): SessionData {
  const cookie = data.cookie as CookieJson | undefined;
  if (cookie && typeof cookie === 'object') {
    // A Date, as the frameworks keep it (express-session would parse a string back into one).
    cookie.expires =
      typeof cookie.originalMaxAge === 'number' ? new Date(expiresAtMs) : typeof cookie.expires === 'string' ? new Date(cookie.expires) : null;
    return data;
  }
  // The frameworks need a cookie on every stored session; one written by another tool may lack it.
  data.cookie = { originalMaxAge: null, expires: null, httpOnly: true, path: '/' };
  return data;
}

/** express-session's cookie settings, as Cookie#toJSON gives them. */
const COOKIE_FIELDS = ['originalMaxAge', 'partitioned', 'priority', 'expires', 'secure', 'httpOnly', 'domain', 'path', 'sameSite'] as const;

/**
 * A session whose cookie another store kept as the Cookie object's own fields (`_expires`, `data`,
 * a Date turned into {}) gets the plain settings back; any other is returned as it is.
 */
export function withPlainCookie(sess: object): object {
  const cookie = (sess as { cookie?: unknown }).cookie as Record<string, unknown> | undefined;
  if (!cookie || typeof cookie !== 'object' || !('_expires' in cookie || 'data' in cookie)) return sess;
  const source = cookie.data && typeof cookie.data === 'object' ? (cookie.data as Record<string, unknown>) : cookie;
  const plain: Record<string, unknown> = {};
  for (const k of COOKIE_FIELDS) if (source[k] !== undefined) plain[k] = source[k];
  if (!(typeof plain.expires === 'string' || plain.expires instanceof Date)) delete plain.expires;
  return { ...sess, cookie: plain };
}
