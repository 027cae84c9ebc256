/**
 * The store's lifecycle events, the same whichever adapter serves the
 * request: `store.on('created' | 'regenerated' | 'destroyed' | 'expired', …)`.
 * Sessions are named by table key (the id itself, or its HMAC with
 * `hashSessionIds`) and by `session`, the short hashed tag the store's log
 * lines use; ids are never carried in clear where they are hashed in the table.
 */
import { handleFor } from './session-id.js';

/** Why a session ended before its time. */
export type DestroyReason =
  /** The app destroyed it (a logout) or it was replaced by a new id (see `regenerated`). */
  | 'logout'
  /** An operator or the app ended it from outside its requests: `revokeSession`, `destroyUserSessions`, the CLI. */
  | 'revoked'
  /** The user passed `maxSessionsPerUser`: the oldest session was ended for a new one. */
  | 'limit'
  /** It reached `maxLifetime`, however active it was. */
  | 'lifetime';

/** Who found a session expired. */
export type ExpirySource = 'read' | 'reaper' | 'purge' | 'ttl';

export interface SessionEvent {
  /** Table key. */
  key: string;
  /** Hashed tag of the id, as in log lines. */
  session: string;
  /** The session's owner, when the item carries one. */
  userId?: string;
}

export interface CreatedEvent extends SessionEvent {}
export interface RegeneratedEvent extends SessionEvent {
  /** Table key of the id it replaced. */
  previousKey: string;
}
export interface DestroyedEvent extends SessionEvent {
  reason: DestroyReason;
}
export interface ExpiredEvent extends SessionEvent {
  source: ExpirySource;
  /** Epoch ms the session expired at, when known. */
  expiredAt?: number;
}

export interface SessionEvents {
  created: [CreatedEvent];
  regenerated: [RegeneratedEvent];
  destroyed: [DestroyedEvent];
  expired: [ExpiredEvent];
}

/**
 * Lifecycle events name sessions by handle, never by a raw id (`created`, `regenerated` and
 * `destroyed`; an `expired` one's id opens nothing any more): the arguments of such an event with
 * its keys as handles. (With `hashSessionIds` the keys are HMACs already, and stay as they are.)
 */
export function namedByHandle(event: string | symbol, args: unknown[]): unknown[] {
  if ((event !== 'created' && event !== 'regenerated' && event !== 'destroyed') || !args[0] || typeof args[0] !== 'object') return args;
  const e = args[0] as { key?: unknown; previousKey?: unknown };
  const named: Record<string, unknown> = { ...e };
  if (typeof e.key === 'string') named.key = handleFor(e.key, undefined);
  if (typeof e.previousKey === 'string') named.previousKey = handleFor(e.previousKey, undefined);
  return [named, ...args.slice(1)];
}
