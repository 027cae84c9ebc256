/**
 * The session cookie every adapter of ours reads and writes: `s:<id>.<HMAC>`,
 * the format of express-session (and of @fastify/session with
 * `cookiePrefix: 's:'`), so that services built on different frameworks can
 * share one session under one domain and one secret.
 */
import { parseCookie, stringifySetCookie, type SetCookie } from 'cookie';
import signature from 'cookie-signature';
import { ConfigError } from '../errors.js';

const PREFIX = 's:';

/** Cookie attributes, as express-session names them; `maxAge` in milliseconds. */
export interface SessionCookieOptions {
  path?: string;
  domain?: string;
  httpOnly?: boolean;
  /**
   * `'auto'` (the default): `Secure` when the request came over HTTPS, as the
   * entry learns it (the connection, the request's URL, or X-Forwarded-Proto
   * where the framework's own proxy trust says so).
   */
  secure?: boolean | 'auto';
  /** Default `'lax'`. */
  sameSite?: boolean | 'lax' | 'strict' | 'none';
  partitioned?: boolean;
  /** Lifetime of the cookie in ms; null makes it a browser-session cookie. Default: the store's `ttl`. */
  maxAge?: number | null;
}

/** As @fastify/session requires: an HMAC key shorter than this is open to an offline guess from one cookie. */
export const MIN_SECRET_LENGTH = 32;

/** Secrets as given: the first signs, every one verifies (rotation). */
export function secretList(secret: string | string[] | undefined, option = 'secret'): string[] {
  const list = Array.isArray(secret) ? secret : secret === undefined ? [] : [secret];
  if (list.length === 0 || list.some((s) => typeof s !== 'string' || s.length === 0)) {
    throw new ConfigError(
      `option "${option}" is required: a non-empty string, or an array of them (the first signs new cookies, all verify), ` +
        'used to sign the session cookie',
    );
  }
  checkSecretLength(list, option);
  return list;
}

/** Refuses a signing secret (or any one of a rotation list) shorter than 32 characters; its value is never shown. */
export function checkSecretLength(list: readonly unknown[], option: string): void {
  list.forEach((s, i) => {
    if ((typeof s === 'string' || Buffer.isBuffer(s)) && s.length < MIN_SECRET_LENGTH) {
      const which = list.length > 1 ? `${option}[${i}]` : option;
      throw new ConfigError(
        `option "${which}" is shorter than ${MIN_SECRET_LENGTH} characters: ` +
          `a cookie-signing secret needs at least ${MIN_SECRET_LENGTH} random characters (make one with \`openssl rand -base64 32\`)`,
      );
    }
  });
}

export function signSessionId(id: string, secrets: string[]): string {
  return PREFIX + signature.sign(id, secrets[0]!);
}

/** The session id a cookie value carries, or undefined when it is absent, unsigned or forged. */
export function unsignSessionId(value: string | undefined, secrets: string[]): string | undefined {
  if (!value || !value.startsWith(PREFIX) || value.length > 4096) return undefined;
  const signed = value.slice(PREFIX.length);
  for (const secret of secrets) {
    const id = signature.unsign(signed, secret);
    if (id !== false && id !== '') return id;
  }
  return undefined;
}

/** The named cookie's value from a Cookie header; undefined when absent or undecodable. */
export function readCookie(header: string | null | undefined, name: string): string | undefined {
  if (!header) return undefined;
  try {
    return parseCookie(header)[name];
  } catch {
    return undefined;
  }
}

/** `options` with `secure` decided for one request: `'auto'` (or unset) follows whether it came over HTTPS. */
export function forRequest(options: SessionCookieOptions, https: boolean): SessionCookieOptions & { secure: boolean } {
  return { ...options, secure: options.secure === undefined || options.secure === 'auto' ? https : options.secure };
}

/** A Set-Cookie header value; `expires` absent makes a browser-session cookie. `options.secure` already decided (forRequest). */
export function sessionSetCookie(name: string, value: string, options: SessionCookieOptions, expires: Date | undefined): string {
  const cookie: SetCookie = {
    name,
    value,
    path: options.path ?? '/',
    httpOnly: options.httpOnly ?? true,
    ...(options.domain ? { domain: options.domain } : {}),
    ...(options.secure === true ? { secure: true } : {}),
    ...(options.sameSite !== undefined ? { sameSite: options.sameSite } : { sameSite: 'lax' as const }),
    ...(options.partitioned ? { partitioned: true } : {}),
    ...(expires ? { expires } : {}),
  };
  return stringifySetCookie(cookie);
}

/**
 * A Set-Cookie header value that makes the browser drop the cookie. It
 * repeats the cookie's attributes: a browser drops a `__Host-` or `Secure`
 * cookie only for a Set-Cookie that is `Secure` too, and a partitioned one
 * only for a `Partitioned` one with the same domain and path.
 */
export function clearSetCookie(name: string, options: SessionCookieOptions): string {
  return sessionSetCookie(name, '', options, new Date(0));
}
