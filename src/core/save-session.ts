/**
 * The end of a request: its save, from the session's JSON to the conditional
 * write (the skipped write of an unchanged session, the size guard, the item
 * write and the locking mode's save loop (save-loop.ts), or the user limit's
 * (save-user-limit.ts)); the expiry refresh of an unchanged one;
 * and the conditional create of a session copied from another store.
 */
import type { KeyedMutex } from './local-queue.js';
import type { RequestLocks } from './request-locks.js';
import { saveWithUserLimit } from './save-user-limit.js';
import { stopRenewal } from './lease-lock.js';
import { SessionIdTakenError, SessionStoreError } from '../errors.js';
import type { CreatedEvent, RegeneratedEvent } from './events.js';
import { itemBytesBesideData } from './item.js';
import { guardSize, ItemWrite } from './item-write.js';
import { clampExpiry } from './lifecycle.js';
import { refreshDue, refreshExpiry, writeExpiry } from './refresh.js';
import type { CommitOptions, TouchOptions } from './request-options.js';
import { saveLoaded, type SaveResult } from './save-loop.js';
import type { CommitOutcome, SessionData, SessionHandle } from './session-handle.js';
import { idTag } from './session-id.js';
import type { RequestContext } from './store-context.js';
import { describeCommit, noteItem, traced } from './telemetry.js';

/** What a save needs beside the context: the leases it may hold, and this process's queue of saves per session. */
export interface SaveParts {
  ctx: RequestContext;
  locks: RequestLocks;
  writeQueue: KeyedMutex;
}

/** The session's owner for the user index: a field name (dots for nesting) or a function. */
export function userIdOf(data: SessionData, rule: string | ((data: SessionData) => unknown)): string | null {
  const value =
    typeof rule === 'function'
      ? rule(data)
      : rule.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), data);
  if (typeof value === 'number') return String(value);
  return typeof value === 'string' && value !== '' ? value : null;
}

export async function saveSession(
  { ctx, locks, writeQueue }: SaveParts,
  handle: SessionHandle | undefined,
  id: string,
  data: SessionData,
  options: CommitOptions,
  expiresAtMs: number,
): Promise<CommitOutcome> {
  const key = ctx.keyOf(id);
  const json = jsonOf(ctx, data, options.json);
  const userIdGiven = options.userId !== undefined ? options.userId : ctx.config.userId ? userIdOf(data, ctx.config.userId) : undefined;
  if (handle && json === handle.json && (userIdGiven === undefined || (userIdGiven ?? undefined) === handle.userId)) {
    ctx.statsData.writesSkipped += 1;
    return refreshExpiry(ctx, locks, handle, expiresAtMs);
  }
  const userId = userIdGiven ?? handle?.userId ?? undefined;
  const bytes = ctx.codec.frame(json, itemBytesBesideData(key, userId), key);
  guardSize(ctx, id, key, bytes.length, userId);
  await ctx.ready();
  const creating = handle !== undefined && handle.version === 0;
  // A regenerated id keeps the first session's creation time: maxLifetime counts from the first login.
  const replaced = options.replaces && !options.freshStart && options.replaces.createdAt > 0 ? options.replaces.createdAt : undefined;
  const createdAt = handle && handle.createdAt > 0 ? undefined : (replaced ?? Date.now());
  if (creating && createdAt !== undefined) handle!.createdAt = createdAt;
  const write = new ItemWrite(
    ctx,
    id,
    key,
    json,
    bytes,
    handle ? clampExpiry(ctx.config, expiresAtMs, handle.createdAt) : expiresAtMs,
    userIdGiven,
    createdAt,
    ctx.config.trackDevices && (creating || !handle) ? options.device : undefined,
  );
  if (handle) write.knowStored(handle.version, creating ? 0 : handle.chunks, handle.userId, creating ? [] : handle.writeIds);
  const turn = await writeQueue.acquire(key);
  try {
    // Nothing loaded to build on (a tool or a job calling set()): created or replaced whole, as a Put would.
    if (!handle) return await write.upsert().then(() => 'written' as const);
    const lease = handle.lease && !handle.lease.lost ? handle.lease : undefined;
    const base = { version: handle.version, json: handle.json, ...(handle.userId !== undefined ? { userId: handle.userId } : {}) };
    // A login (the session gets an owner it did not have) under maxSessionsPerUser counts the user's sessions in the same transaction.
    const login = ctx.config.maxSessionsPerUser !== undefined && typeof userIdGiven === 'string' && userIdGiven !== handle.userId;
    const result: SaveResult = login
      ? await saveWithUserLimit(ctx, write, base, lease, userIdGiven)
      : await saveLoaded(ctx, write, base, handle.lease, ctx.config.locking === 'none' ? 'last-writer' : 'merge');
    noteItem(ctx.config.table, bytes.length, write.chunksAt(result.version) ?? 0);
    if (result.outcome === 'destroyed') return 'destroyed';
    if (creating) announceNew(ctx, handle, key, userId, options.replaces);
    // Keeps the handle in step, so a later save of the same request builds on this one. After a
    // merge the app's copy lacks what was merged in: its base is what it saved, and a version that
    // matches nothing makes its next change merge with the stored state instead of overwriting it.
    handle.storedVersion = result.version;
    handle.version = result.outcome === 'merged' ? -1 : result.version;
    handle.json = result.outcome === 'merged' ? json : result.json;
    handle.chunks = write.chunksAt(handle.version);
    handle.writeIds = write.idsAt(handle.version);
    if (typeof userIdGiven === 'string') handle.userId = userIdGiven;
    else if (userIdGiven === null) delete handle.userId;
    return result.outcome;
  } finally {
    turn();
    if (writeQueue.idle(key)) ctx.latest.delete(key);
  }
}

/** `created`, or `regenerated` for a session that replaces another (a new id on login). */
function announceNew(ctx: RequestContext, handle: SessionHandle, key: string, userId: string | undefined, replaces: SessionHandle | null | undefined): void {
  const base = { key, session: idTag(handle.id), ...(userId !== undefined ? { userId } : {}) };
  if (replaces) ctx.emit('regenerated', { ...base, previousKey: replaces.key } satisfies RegeneratedEvent);
  else ctx.emit('created', base satisfies CreatedEvent);
}

/**
 * The session's JSON, serialized once, every value vetted: a value JSON
 * cannot carry (a function, a symbol, a BigInt, a cycle) is a
 * SessionSerializationError naming its path, even when the text is what was
 * loaded (JSON.stringify skips a function or a symbol, so an unchanged text
 * can hide one). The walk costs about a fifth of the stringify (1.2 against
 * 5.3 µs for a 2 KB session).
 */
export function jsonOf(ctx: RequestContext, data: SessionData, known: string | undefined): string {
  let plain: string | undefined = known;
  try {
    plain ??= JSON.stringify(data);
  } catch {
    // A cycle, a BigInt, a throwing getter: the checked serializer says which and where.
    return ctx.codec.stringify(data);
  }
  if (plain === undefined) return ctx.codec.stringify(data);
  ctx.codec.check(data);
  return plain;
}

/**
 * Writes a session copied from another store (read-through migration, `import`) under
 * its id and expiry, only if no live session has that id here: concurrent copies of one session
 * create it once, and one already here (newer, or copied before) is never overwritten.
 */
export async function createIfAbsent(ctx: RequestContext, id: string, data: SessionData, expiresAtMs: number): Promise<'created' | 'exists'> {
  const key = ctx.keyOf(id);
  const json = jsonOf(ctx, data, undefined);
  const userId = ctx.config.userId ? (userIdOf(data, ctx.config.userId) ?? undefined) : undefined;
  const bytes = ctx.codec.frame(json, itemBytesBesideData(key, userId), key);
  guardSize(ctx, id, key, bytes.length, userId);
  await ctx.ready();
  const createdAt = Date.now();
  const write = new ItemWrite(ctx, id, key, json, bytes, clampExpiry(ctx.config, expiresAtMs, createdAt), userId, createdAt);
  // An expired item not yet deleted by TTL may be replaced: it is no session any more.
  try {
    const result = await write.attempt({ on: 'absent', orExpired: true }, 0);
    return result.kind === 'stored' || result.kind === 'own' ? 'created' : 'exists';
  } catch (err) {
    if (err instanceof SessionIdTakenError) return 'exists';
    throw err;
  }
}

/**
 * Runs the end of a request on `handle`; after it the request is done with
 * the session here (no more lease renewals; this process's next request for
 * it may go). A failure a retry cannot fix gives the lease back first; after
 * one a retry may fix, the handle stays open (its renewals stopped, so the
 * lease lapses by itself after `lockLeaseMs`) for `release()`.
 */
export async function ending(locks: RequestLocks, handle: SessionHandle, run: () => Promise<CommitOutcome>): Promise<CommitOutcome> {
  let outcome: CommitOutcome;
  try {
    outcome = await run();
  } catch (err) {
    if (err instanceof SessionStoreError && err.retryable) {
      if (handle.lease) stopRenewal(handle.lease);
    } else {
      await locks.release(handle).catch(() => undefined);
    }
    throw err;
  }
  locks.settle(handle);
  return outcome;
}

/**
 * Ends a request that did not change the session: refreshes the stored expiry
 * only when due (`touchAfter`), and gives the lease back. The write is
 * conditional, so it can neither bring back a destroyed or expired session nor
 * shorten a later expiry.
 */
export async function touchSession(
  { ctx, locks }: SaveParts,
  handle: SessionHandle | null | undefined,
  id: string,
  options: TouchOptions,
  expiresAtMs: number,
): Promise<CommitOutcome> {
  const key = ctx.keyOf(id);
  const live = handle && handle.id === id && !handle.settled ? handle : undefined;
  // Most requests end here with no write due and no lease to give back: no call, so no span (half a read's tracing cost).
  if (live && !live.lease && !refreshDue(ctx, live, clampExpiry(ctx.config, expiresAtMs, live.createdAt))) {
    // The framework found nothing changed by comparing JSON text, which a function or symbol does not show up in.
    if (options.data !== undefined) {
      try {
        ctx.codec.check(options.data);
      } catch (err) {
        // As ending() ends a request whose refresh failed for a reason a retry cannot fix.
        await locks.release(live).catch(() => undefined);
        throw err;
      }
    }
    // What ending(refresh) comes to here, without its two async frames: nothing to write, the request done with the session.
    ctx.statsData.touchesSkipped += 1;
    locks.settle(live);
    return 'unchanged';
  }
  const refresh = async (): Promise<CommitOutcome> => {
    if (options.data !== undefined) ctx.codec.check(options.data);
    if (live) return refreshExpiry(ctx, locks, live, expiresAtMs);
    await ctx.ready();
    return (await writeExpiry(ctx, key, expiresAtMs, undefined)) ? 'touched' : 'destroyed';
  };
  return traced(ctx, 'session.touch', 'UpdateItem', { id }, () => (live ? ending(locks, live, refresh) : refresh()), describeCommit);
}
