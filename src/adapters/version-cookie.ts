/**
 * The companion cookie that makes eventually consistent reads safe
 * (unless `consistentRead: true`): `<cookie name>.v` = `<version>.<id tag>`, the
 * version of the session's last write this client saw. The next load may
 * then read eventually consistently and read again strongly only when the
 * answer is older. It carries no secret: forging it can only make the
 * client's own reads strong (a higher number) or let it see its own session
 * as it was a moment ago (a lower one), never reach another session.
 */
import { idTag } from '../core/session-id.js';
import { stringifySetCookie } from 'cookie';
import type { SessionCookieOptions } from './signed-cookie.js';
import type { SessionHandle, SessionStore } from '../store/session-store.js';
import { eventualReads } from '../config/options.js';

export function versionCookieName(sessionCookieName: string): string {
  return `${sessionCookieName}.v`;
}

/** The version floor a cookie value gives for this session id, if it is about this id. */
export function minVersionFrom(value: string | undefined, id: string): number | undefined {
  if (!value) return undefined;
  const dot = value.indexOf('.');
  if (dot <= 0 || value.slice(dot + 1) !== idTag(id)) return undefined;
  const version = Number(value.slice(0, dot));
  return Number.isSafeInteger(version) && version >= 0 ? version : undefined;
}

export function versionSetCookie(sessionCookieName: string, id: string, version: number, options: SessionCookieOptions, expires: Date | undefined): string {
  return stringifySetCookie({
    name: versionCookieName(sessionCookieName),
    value: `${version}.${idTag(id)}`,
    path: options.path ?? '/',
    httpOnly: true,
    ...(options.domain ? { domain: options.domain } : {}),
    ...(options.secure === true ? { secure: true } : {}),
    sameSite: options.sameSite ?? 'lax',
    ...(options.partitioned ? { partitioned: true } : {}),
    ...(expires ? { expires } : {}),
  });
}

/**
 * The version cookie a response carries after its request stored session
 * `handle` names: none with `consistentRead: true`, for a session never
 * stored, or when the client's cookie already gave this version. Every entry
 * decides it here.
 */
export function versionCookieAfter(
  store: SessionStore,
  sessionCookieName: string,
  handle: SessionHandle | undefined,
  minVersion: number | undefined,
  options: SessionCookieOptions,
  expires: Date | undefined,
): string | undefined {
  const version = handle?.storedVersion;
  if (version === undefined || version <= 0 || version === minVersion || !eventualReads(store.config)) return undefined;
  return versionSetCookie(sessionCookieName, handle!.id, version, options, expires);
}
