/**
 * Session ids in a header instead of a cookie, for API and mobile clients
 * (Spring Session's HeaderHttpSessionIdResolver): the client sends the signed
 * id in a request header (`X-Session-Id: s:<id>.<HMAC>`, or
 * `Authorization: Bearer s:<id>.<HMAC>`), and a response carries a header
 * only when the id the client must use changes: a new session stored, an id
 * regenerated (the new signed id), a session destroyed (an empty value).
 * The id is signed exactly as the cookie's is, with the same secrets.
 */
import { ConfigError } from '../errors.js';

export interface SessionIdHeaderOptions {
  /** Request header carrying the signed id, e.g. `X-Session-Id` or `Authorization`. */
  name: string;
  /** Authentication scheme before the id, e.g. `Bearer` for `Authorization: Bearer <signed id>`. */
  scheme?: string;
  /**
   * Response header carrying a new id. Default: `name`, or `X-Session-Id`
   * when `name` is `Authorization` (a request-only header).
   */
  response?: string;
}

/** The option as adapters take it: a header name, or the details. */
export type SessionIdHeader = string | SessionIdHeaderOptions;

export interface ResolvedIdHeader {
  /** Lower-case, as Node and fetch Headers look names up. */
  readonly name: string;
  readonly scheme: string | undefined;
  readonly response: string;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function resolveIdHeader(option: SessionIdHeader | undefined): ResolvedIdHeader | undefined {
  if (option === undefined) return undefined;
  const given = typeof option === 'string' ? { name: option } : option;
  if (!given || typeof given.name !== 'string' || !TOKEN.test(given.name)) {
    throw new ConfigError(`option "header" must be a header name such as "X-Session-Id", or { name, scheme?, response? } (got ${JSON.stringify(option)})`);
  }
  if (given.scheme !== undefined && (typeof given.scheme !== 'string' || !TOKEN.test(given.scheme))) {
    throw new ConfigError(`option "header.scheme" must be an authentication scheme such as "Bearer" (got ${JSON.stringify(given.scheme)})`);
  }
  if (given.response !== undefined && (typeof given.response !== 'string' || !TOKEN.test(given.response))) {
    throw new ConfigError(`option "header.response" must be a header name such as "X-Session-Id" (got ${JSON.stringify(given.response)})`);
  }
  const name = given.name.toLowerCase();
  return { name, scheme: given.scheme, response: given.response ?? (name === 'authorization' ? 'X-Session-Id' : given.name) };
}

/** The signed id a request header value carries (the scheme stripped), or undefined. */
export function idFromHeader(value: string | null | undefined, header: ResolvedIdHeader): string | undefined {
  if (!value) return undefined;
  let token = value.trim();
  if (header.scheme) {
    const space = token.indexOf(' ');
    if (space < 0 || token.slice(0, space).toLowerCase() !== header.scheme.toLowerCase()) return undefined;
    token = token.slice(space + 1).trim();
  }
  return token === '' ? undefined : token;
}
