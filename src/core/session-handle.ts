import type { Lease } from './lease-lock.js';

export type SessionData = Record<string, unknown>;

/**
 * What one request loaded: the base of its save. Adapters keep it beside the
 * request and hand it back to `commit`, `touch` or `release`.
 */
export interface SessionHandle {
  readonly id: string;
  readonly key: string;
  /** Version loaded (the condition of the save); 0 for a session this request creates. */
  version: number;
  /** The JSON loaded: the merge base, and what "unchanged" is measured against. */
  json: string;
  /** Stored expiry, epoch ms, exact (the TTL attribute holds its second, rounded up). */
  expiresAtMs: number;
  createdAt: number;
  userId?: string;
  lease?: Lease;
  releaseLocal?: () => void;
  settled: boolean;
  /** The version stored after this request's last write (or its load): what the client may require next time. */
  storedVersion: number;
  /** Chunk items of the version loaded (a session past 400 KB: core/chunks.ts); undefined when not known. */
  chunks?: number;
  /** The write ids the version loaded vouches for (write-history.ts); undefined when not known. */
  writeIds?: string[];
}

export interface LoadedSession {
  data: SessionData;
  handle: SessionHandle;
}

export type CommitOutcome = 'written' | 'merged' | 'unchanged' | 'touched' | 'destroyed';

/**
 * The handle of a session a request is creating, not stored yet: its first
 * save is conditional on no item existing, and a later save in the same
 * request (an app's explicit save(), then the adapter's at the end) builds on
 * it instead of writing the same data twice.
 */
export function newHandle(id: string, key: string): SessionHandle {
  // Version 0 never exists in the table: stored versions start at 1.
  return { id, key, version: 0, json: '', expiresAtMs: 0, createdAt: 0, settled: false, storedVersion: 0, writeIds: [] };
}

/**
 * A reload by the request that holds the session: `fresh` (read without a
 * lease) becomes the holder's base, and the holder keeps its lease, so a
 * reload never waits for the request's own lock.
 */
export function rebase(holder: SessionHandle, fresh: SessionHandle): SessionHandle {
  holder.version = fresh.version;
  holder.storedVersion = fresh.storedVersion;
  holder.json = fresh.json;
  holder.expiresAtMs = fresh.expiresAtMs;
  holder.createdAt = fresh.createdAt;
  holder.chunks = fresh.chunks;
  holder.writeIds = fresh.writeIds;
  if (fresh.userId === undefined) delete holder.userId;
  else holder.userId = fresh.userId;
  return holder;
}
