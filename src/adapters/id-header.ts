/**
 * Session ids in a header instead of a cookie, for API and mobile clients
 * (Spring Session's HeaderHttpSessionIdResolver): the client sends the signed
 * id in a request header (`X-Session-Id: s:<id>.<HMAC>`, or
 * `Authorization: Bearer s:<id>.<HMAC>`), and a response carries a header
 * only when the id the client must use changes: a new session stored, an id
 * regenerated (the new signed id), a session destroyed (an empty value).
 * The id is signed exactly as the cookie's is, with the same secrets.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
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

/**
 * For session middleware that reads its id from the Cookie header
 * (express-session, @fastify/cookie before @fastify/session): the Cookie
 * header as it would be had the client sent the id header's value as the
 * session cookie. Any cookie of that name the client did send is left out,
 * and so is its version cookie: with `header` the id travels in the header only.
 */
export function cookieHeaderWithId(cookieHeader: string | undefined, idValue: string | undefined, cookieName: string): string | undefined {
  const others = (cookieHeader ?? '')
    .split(';')
    .map((pair) => pair.trim())
    .filter((pair) => {
      if (pair === '') return false;
      const name = pair.slice(0, pair.indexOf('=') < 0 ? pair.length : pair.indexOf('=')).trim();
      return name !== cookieName && name !== `${cookieName}.v` && name !== `${cookieName}.sig`;
    });
  const pairs = idValue === undefined ? others : [`${cookieName}=${encodeURIComponent(idValue)}`, ...others];
  return pairs.length === 0 ? undefined : pairs.join('; ');
}

/**
 * The other way round, for the response: the Set-Cookie values a session
 * middleware produced, less its session cookie (and its companions), and the
 * id header to send instead: the cookie's value when it names another id than
 * the request sent, '' when the cookie was being cleared (a logout), else none.
 */
export function idHeaderFromSetCookies(
  setCookies: readonly string[],
  cookieName: string,
  incoming: string | undefined,
): { kept: string[]; value: string | undefined } {
  const kept: string[] = [];
  let value: string | undefined;
  for (const line of setCookies) {
    const eq = line.indexOf('=');
    const name = eq < 0 ? '' : line.slice(0, eq).trim();
    // Its companions: the version cookie, and the keygrip signature Koa clears beside it on a logout.
    if (name === `${cookieName}.v` || name === `${cookieName}.sig`) continue;
    if (name !== cookieName) {
      kept.push(line);
      continue;
    }
    const raw = line.slice(eq + 1).split(';')[0]!.trim();
    let decoded: string;
    try {
      decoded = decodeURIComponent(raw);
    } catch {
      decoded = raw;
    }
    if (decoded === '') value = incoming !== undefined ? '' : undefined;
    else value = decoded === incoming ? undefined : decoded;
  }
  return { kept, value };
}

/** Set-Cookie as a Node response holds it: absent, one string, or several. */
export function setCookieList(value: number | string | readonly string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? [...value] : [String(value)];
}

/**
 * The id header's value put where a session middleware reads its cookie: the request's Cookie header gets it as
 * the session cookie (and loses any cookie of that name the client sent). The value the header gave, if any.
 */
export function idIntoCookieHeader(headers: IncomingMessage['headers'], header: ResolvedIdHeader, cookieName: string): string | undefined {
  const given = headers[header.name];
  const incoming = idFromHeader(Array.isArray(given) ? undefined : given, header);
  const cookie = cookieHeaderWithId(headers.cookie, incoming, cookieName);
  if (cookie === undefined) delete headers.cookie;
  else headers.cookie = cookie;
  return incoming;
}

/**
 * Session middleware that reads its cookie from `req.headers.cookie` and sets
 * it on the Node response (express-session, koa-session), with the id in a
 * header instead: the request's Cookie header gets the id header's value as
 * the session cookie, and as the headers go out the session cookie becomes
 * the id header. `destroyed` says whether the request ended its session (a
 * middleware that sets no cookie on logout still tells the client then).
 */
export function bridgeIdHeader(
  req: IncomingMessage,
  res: ServerResponse,
  header: ResolvedIdHeader,
  cookieName: string,
  destroyed: () => boolean = () => false,
): void {
  const incoming = idIntoCookieHeader(req.headers, header, cookieName);
  // A cookie parser that ran before (cookie-parser) must not offer the client's cookie of that name either.
  for (const bag of [(req as { cookies?: Record<string, unknown> }).cookies, (req as { signedCookies?: Record<string, unknown> }).signedCookies]) {
    if (bag && typeof bag === 'object') delete bag[cookieName];
  }
  const writeHead = res.writeHead as (...args: unknown[]) => ServerResponse;
  res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
    if (!res.headersSent) {
      const { kept, value } = idHeaderFromSetCookies(setCookieList(res.getHeader('set-cookie')), cookieName, incoming);
      if (kept.length > 0) res.setHeader('Set-Cookie', kept);
      else res.removeHeader('Set-Cookie');
      const status = typeof args[0] === 'number' ? args[0] : res.statusCode;
      const id = value ?? (incoming !== undefined && status < 500 && destroyed() ? '' : undefined);
      if (id !== undefined) res.setHeader(header.response, id);
    }
    return writeHead.apply(this, args);
  } as ServerResponse['writeHead'];
}
