/** What the request-scoped methods of SessionStore take (load, commit, touch), and the lock rule of `locking: 'auto'`. */
import type { ResolvedConfig } from '../config/options.js';
import type { SessionData, SessionHandle } from './session-handle.js';

export interface LoadOptions {
  /**
   * Take a pessimistic lease for this request. Default: the `locking` mode
   * decides (`pessimistic`: yes; `auto`: when `method` is not a safe one; else no).
   */
  lock?: boolean;
  /** The request's HTTP method, for `locking: 'auto'`. A load without one (no request) takes no lease in `auto`. */
  method?: string;
  /**
   * The version of this session's last write the client saw (from the
   * adapter's version cookie). With `consistentRead: false` it permits an
   * eventually consistent read, checked against it; without it reads are strong.
   */
  minVersion?: number;
}

export interface CommitOptions {
  /** When the session expires: a Date or epoch ms; default now + `ttl`. No later than `maxLifetime` allows. */
  expires?: Date | number | null;
  /** Owner of the session for the user index (`destroyUserSessions`); null removes it. */
  userId?: string | null;
  /**
   * The session this new one replaces (a regenerated id, on login; the old one
   * destroyed with reason 'regenerate'): it keeps that one's creation time, so
   * `maxLifetime` counts from the first, and `regenerated` is emitted instead of `created`.
   */
  replaces?: SessionHandle | null;
  /** With `replaces`: count `maxLifetime` from now instead (a fresh start). */
  freshStart?: boolean;
  /** Where a new session comes from, kept with `trackDevices` (first 512 / 64 characters). */
  device?: { userAgent?: string | undefined; ip?: string | undefined };
  /** @internal `JSON.stringify(data)`, when an adapter's change check computed it already. */
  json?: string;
}

export interface TouchOptions extends Pick<CommitOptions, 'expires'> {
  /**
   * The session as the request left it, when the framework judged it unchanged:
   * checked for values JSON would drop (a function, a symbol), which a text
   * comparison cannot see; such a value is a SessionSerializationError, not a
   * silent loss.
   */
  data?: SessionData;
}

/** Methods that only read (RFC 9110, 9.2.1): under `locking: 'auto'` they take no lease. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/** Whether a request of this method takes a lease when no rule says (see SessionStore.locksByDefault). */
export function locksByDefault(config: Pick<ResolvedConfig, 'locking'>, method: string | undefined): boolean {
  if (config.locking === 'pessimistic') return true;
  if (config.locking !== 'auto' || method === undefined) return false;
  return !SAFE_METHODS.has(method.toUpperCase());
}
