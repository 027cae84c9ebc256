import type { Lease } from './lease-lock.js';
import type { RequestLocks } from './request-locks.js';
import { StoreUnavailableError } from '../errors.js';
import { isConditionalFailure } from '../aws/errors.js';
import { chunkCount, extendChunks } from './chunks.js';
import { expiryMs, isExpired, nowSeconds } from './item.js';
import { clampExpiry } from './lifecycle.js';
import type { CommitOutcome, SessionHandle } from './session-handle.js';
import type { RequestContext } from './store-context.js';
import { updateItem } from './update-item.js';

/**
 * The end of a request that changed nothing. The stored expiry moves only once
 * the move is worth a write (`touchAfter`, a tenth of the lifetime by default),
 * so most such requests write nothing; a lease is given back, in the refresh's
 * own write or alone.
 */
export async function refreshExpiry(ctx: RequestContext, locks: RequestLocks, handle: SessionHandle, expiresAtMs: number): Promise<CommitOutcome> {
  expiresAtMs = clampExpiry(ctx.config, expiresAtMs, handle.createdAt);
  const due = refreshDue(ctx, handle, expiresAtMs);
  const lease = handle.lease && !handle.lease.lost ? handle.lease : undefined;
  if (!due) {
    ctx.statsData.touchesSkipped += 1;
    if (lease) await locks.releaseLease(handle.key, lease);
    return 'unchanged';
  }
  const ok = await writeExpiry(ctx, handle.key, expiresAtMs, lease);
  if (ok) handle.expiresAtMs = expiresAtMs;
  return ok ? 'touched' : 'destroyed';
}

/** Whether moving the stored expiry to `expiresAtMs` (clamped) is worth a write now. */
export function refreshDue(ctx: RequestContext, handle: SessionHandle, expiresAtMs: number): boolean {
  const lifetimeSec = (expiresAtMs - Date.now()) / 1000;
  // 'auto': a tenth of the lifetime, a second at least; 0: every later expiry is written (express-session's MemoryStore does so, at a write per request).
  const threshold = ctx.config.touchAfter === 'auto' ? Math.max(1, Math.floor(lifetimeSec / 10)) * 1000 : ctx.config.touchAfter * 1000;
  return expiresAtMs - handle.expiresAtMs >= Math.max(1, threshold);
}

/**
 * Moves a session's expiry later (and gives back `lease`). Conditional, so it
 * can bring back neither a destroyed nor an expired session, nor shorten a
 * later expiry. False when the session was gone. A session past 400 KB is
 * refreshed on its head alone, unless the new expiry passes its chunks' (a
 * lifetime after the head's): then theirs moves first (core/chunks.ts).
 */
export async function writeExpiry(ctx: RequestContext, key: string, expiresAtMs: number, lease: Lease | undefined): Promise<boolean> {
  const expSec = Math.ceil(expiresAtMs / 1000);
  for (let attempt = 1; ; attempt++) {
    try {
      await updateItem(
        ctx,
        key,
        `SET expiresAt = :exp, expiresAtMs = :expMs, updatedAt = :now${lease ? ' REMOVE lockOwner, lockExpiresAt' : ''}`,
        // A missing attribute compares false: neither can match a deleted session.
        // Never shorter: compared to the millisecond (an item written before expiresAtMs existed, by its second).
        // Never past the chunks' expiry: TTL would take them before the head.
        `${lease ? 'lockOwner = :owner' : 'expiresAt > :nowSec AND (expiresAtMs < :expMs OR (attribute_not_exists(expiresAtMs) AND expiresAt < :exp))'} ` +
          'AND (attribute_not_exists(chunksExpireAt) OR chunksExpireAt >= :exp)',
        {
          ':exp': { N: String(expSec) },
          ':expMs': { N: String(expiresAtMs) },
          ':now': { N: String(Date.now()) },
          ':nowSec': { N: String(nowSeconds()) },
          ...(lease ? { ':owner': { S: lease.owner } } : {}),
        },
      );
      return true;
    } catch (err) {
      if (!isConditionalFailure(err)) return settleExpiry(ctx, key, expiresAtMs, lease, err);
      const old = await ctx.gateway.itemAfterConditionFailure(err, key);
      if (!old || isExpired(old)) {
        ctx.statsData.destroyedWhileInUse += 1;
        return false;
      }
      const wanted = lease ? old.lockOwner?.S === lease.owner : expiryMs(old) < expiresAtMs;
      const chunksFirst = chunkCount(old) > 0 && !(Number(old.chunksExpireAt?.N) >= expSec);
      // A later expiry is stored already, or the lease was taken over: nothing to do.
      if (!wanted || !chunksFirst || attempt >= 5) return true;
      await extendChunks(ctx, old, expSec);
    }
  }
}

/**
 * A refresh whose attempts ended without an answer: the item is read before
 * the request is answered. The expiry there (and, with a lease, the lease
 * gone) means it landed; a session gone means there was nothing to refresh.
 */
async function settleExpiry(ctx: RequestContext, key: string, expiresAtMs: number, lease: Lease | undefined, err: unknown): Promise<boolean> {
  if (!(err instanceof StoreUnavailableError)) throw err;
  ctx.statsData.outcomesSettled += 1;
  const now = await ctx.gateway.readStrong(key).catch(() => Promise.reject(err));
  if (!now || isExpired(now)) return false;
  if (expiryMs(now) >= expiresAtMs && (!lease || now.lockOwner?.S !== lease.owner)) {
    ctx.statsData.ownWritesFound += 1;
    return true;
  }
  throw err;
}
