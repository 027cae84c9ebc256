/**
 * Read-through migration's side of a load and a logout: the old store asked, its
 * answer checked, and its failure an outage (503), never an empty session.
 */
import { StoreUnavailableError } from '../errors.js';
import type { SessionData } from './session-handle.js';
import { idTag } from './session-id.js';
import type { FallbackSession, SessionFallback } from '../config/fallback-option.js';

export type { FallbackOption, FallbackSession, SessionFallback } from '../config/fallback-option.js';

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
