/**
 * express-session and @fastify/session keep a `cookie` object in the session
 * (max age, path, flags). Stored, it loses its `expires`: that changes on every
 * request and is the item's `expiresAt` already, so keeping it would make every
 * request look like a change and cost a write.
 */
import type { SessionData } from '../core/session-store.js';

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
  // Own string keys only: @fastify/session's Session keeps its store and request under symbols.
  const { cookie, ...rest } = Object.fromEntries(Object.entries(sess)) as { cookie?: CookieJson & { toJSON?: () => CookieJson } } & SessionData;
  if (!cookie || typeof cookie !== 'object') return rest;
  const { expires: _expires, ...cookieData } = typeof cookie.toJSON === 'function' ? cookie.toJSON() : cookie;
  return { cookie: cookieData, ...rest };
}

export function fromStored(data: SessionData, expiresAt: number): SessionData {
  const cookie = data.cookie as CookieJson | undefined;
  if (cookie && typeof cookie === 'object') {
    const expires = typeof cookie.originalMaxAge === 'number' ? new Date(expiresAt * 1000).toISOString() : null;
    return { ...data, cookie: { ...cookie, expires } };
  }
  // The frameworks need a cookie on every stored session; one written by another tool may lack it.
  return { ...data, cookie: { originalMaxAge: null, expires: null, httpOnly: true, path: '/' } };
}
