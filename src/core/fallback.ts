import { StoreUnavailableError } from '../errors.js';
import type { SessionData } from './session-handle.js';
import { idTag } from './session-id.js';

/** A session as the old store holds it: its data and when it expires (a Date or epoch ms). */
export interface FallbackSession {
  data: SessionData;
  expiresAt: Date | number;
}

/**
 * The store a site is leaving (read-through migration): `get` answers a session this
 * table lacks, by its raw id; `destroy`, when given, deletes it there too, so a logout
 * or a regenerated id during the migration window cannot be read through again.
 */
export interface SessionFallback {
  get(id: string): Promise<FallbackSession | null | undefined>;
  destroy?(id: string): Promise<void>;
}

/** The `fallback` option: a SessionFallback, or its `get` alone. */
export type FallbackOption = SessionFallback | ((id: string) => Promise<FallbackSession | null | undefined>);

export function toFallback(option: FallbackOption | undefined): SessionFallback | undefined {
  if (option === undefined) return undefined;
  return typeof option === 'function' ? { get: option } : option;
}

/** The old store's answer: a live session with its expiry in epoch ms, or null. A failure is an outage (503), never an empty session. */
export async function readFallback(fallback: SessionFallback, id: string, table: string): Promise<{ data: SessionData; expiresAtMs: number } | null> {
  let found: FallbackSession | null | undefined;
  try {
    found = await fallback.get(id);
  } catch (err) {
    throw unreachable('read', id, table, err);
  }
  if (!found || typeof found !== 'object' || !found.data || typeof found.data !== 'object') return null;
  const expiresAtMs = found.expiresAt instanceof Date ? found.expiresAt.getTime() : Number(found.expiresAt);
  if (!Number.isFinite(expiresAtMs) || expiresAtMs <= Date.now()) return null;
  return { data: found.data, expiresAtMs };
}

/** Deletes the session from the old store; a failure leaves this table untouched and is an outage (503), so the logout can be retried. */
export async function destroyInFallback(fallback: SessionFallback, id: string, table: string): Promise<void> {
  if (!fallback.destroy) return;
  try {
    await fallback.destroy(id);
  } catch (err) {
    throw unreachable('delete', id, table, err);
  }
}

function unreachable(what: 'read' | 'delete', id: string, table: string, cause: unknown): StoreUnavailableError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new StoreUnavailableError(
    `the old session store (migrateFrom / fallback of table "${table}") failed to ${what} session ${idTag(id)}: ${reason}; ` +
      'the request was not served from a new empty session: retry when the old store answers',
    { cause },
  );
}
