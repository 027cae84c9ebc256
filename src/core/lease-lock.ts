import { randomUUID } from 'node:crypto';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { LockTimeoutError, StoreUnavailableError } from '../errors.js';
import { isConditionalFailure } from '../aws/errors.js';
import type { Gateway } from './gateway.js';
import { isExpired, nowSeconds, type Item } from './item.js';
import type { StoreStats } from './stats.js';
import { noteLockTimeout } from './telemetry-metrics.js';

export interface Lease {
  readonly owner: string;
  /** Epoch ms until which DynamoDB holds the lease for us. */
  expiresAt: number;
  /** Set when a renewal found the lease taken: our final write must then merge instead. */
  lost: boolean;
  timer?: NodeJS.Timeout;
}

export interface LeaseOptions {
  table: string;
  leaseMs: number;
  maxWaitMs: number;
  idTag: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Takes the lease and reads the session in one UpdateItem (ALL_NEW), so a
 * locked load costs one call like an unlocked one. Waits with exponential
 * back-off and full jitter while another owner holds an unexpired lease.
 * Resolves with no item when the session does not exist or has expired: a
 * lock is never taken on, nor an empty session handed out for, a missing one.
 *
 * The owner is drawn once, before the first attempt, so a take whose answer
 * was lost is known for this request's own when the retry meets it (the
 * item's lockOwner is ours), never waited on; and when the attempts run out
 * with no answer, the item is read before giving up.
 */
export async function acquireLease(
  gateway: Gateway,
  key: string,
  options: LeaseOptions,
  stats: StoreStats,
  waitStarted = Date.now(),
): Promise<{ item?: Item; lease?: Lease; expired?: Item }> {
  const owner = randomUUID();
  let delay = 10;
  let waited = false;
  for (;;) {
    const now = Date.now();
    const until = now + options.leaseMs;
    try {
      const out = await gateway.send<{ Attributes?: Item }>(
        'UpdateItem',
        new UpdateItemCommand({
          TableName: options.table,
          Key: { sessionId: { S: key } },
          UpdateExpression: 'SET lockOwner = :owner, lockExpiresAt = :until',
          // expiresAt > :nowSec is false for a missing item too: a lease never creates one.
          ConditionExpression: 'expiresAt > :nowSec AND (attribute_not_exists(lockOwner) OR lockExpiresAt < :now)',
          ExpressionAttributeValues: {
            ':owner': { S: owner },
            ':until': { N: String(until) },
            ':now': { N: String(now) },
            ':nowSec': { N: String(nowSeconds()) },
          },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
        { expectConditionFailure: true },
      );
      if (waited) {
        stats.lockWaits += 1;
        stats.lockWaitMs += Date.now() - waitStarted;
      }
      return { item: out.Attributes, lease: { owner, expiresAt: until, lost: false } };
    } catch (err) {
      if (!isConditionalFailure(err)) {
        const taken = await takenAfter(gateway, key, owner, err, stats);
        if (taken) return taken;
        throw err;
      }
      const old = await gateway.itemAfterConditionFailure(err, key);
      // No session, an expired one, or an item with no expiry (not a session: the condition can never hold).
      if (!old || old.expiresAt?.N === undefined) return {};
      if (isExpired(old)) return { expired: old };
      // An earlier send of this very take landed, its answer lost: the lease is ours.
      if (old.lockOwner?.S === owner) {
        stats.ownWritesFound += 1;
        return { item: old, lease: { owner, expiresAt: Number(old.lockExpiresAt?.N ?? until), lost: false } };
      }
      // Released between our attempt and the read (seen where the engine returns no item, which
      // reads the item later): no reason to sleep before the next attempt.
      const free = old.lockOwner === undefined || Number(old.lockExpiresAt?.N ?? 0) < Date.now();
      waited = true;
      const elapsed = Date.now() - waitStarted;
      if (elapsed >= options.maxWaitMs) {
        stats.lockWaits += 1;
        stats.lockWaitMs += elapsed;
        stats.lockTimeouts += 1;
        noteLockTimeout(options.table);
        const retryAfter = Math.max(1, Math.ceil((Number(old.lockExpiresAt?.N ?? now) - Date.now()) / 1000));
        throw new LockTimeoutError(
          `session ${options.idTag} in table "${options.table}" stayed locked by another request for ${elapsed} ms (maxLockWaitMs ${options.maxWaitMs}): ` +
            `answer 503 and let the client retry in ${retryAfter} s; raise maxLockWaitMs if requests on one session are often this slow`,
          retryAfter,
        );
      }
      if (free) continue;
      const wait = Math.random() * Math.min(delay, options.maxWaitMs - elapsed);
      delay = Math.min(delay * 2, 500);
      await sleep(wait);
    }
  }
}

/**
 * A take whose attempts ended without an answer (time-outs, resets): read the
 * item, and if its lease is ours after all, the take landed.
 */
async function takenAfter(gateway: Gateway, key: string, owner: string, err: unknown, stats: StoreStats): Promise<{ item: Item; lease: Lease } | undefined> {
  if (!(err instanceof StoreUnavailableError)) return undefined;
  stats.outcomesSettled += 1;
  const item = await gateway.readStrong(key).catch(() => undefined);
  if (!item || item.lockOwner?.S !== owner || isExpired(item)) return undefined;
  stats.ownWritesFound += 1;
  return { item, lease: { owner, expiresAt: Number(item.lockExpiresAt?.N ?? 0), lost: false } };
}

/**
 * Keeps a lease alive while a slow request runs: renews at a third of the
 * lease, for `maxHoldMs` at most from the first renewal's start. A request
 * still running then lets it lapse (`onLapse` is told): the session's other
 * requests go on, and its own save, no longer fenced, merges instead of
 * overwriting. Without the cap, one request stuck in a loop would lock its
 * user's session out for as long as its process lives.
 */
export function startRenewal(
  gateway: Gateway,
  key: string,
  lease: Lease,
  options: Pick<LeaseOptions, 'table' | 'leaseMs'> & { maxHoldMs: number; onLapse?: () => void },
): void {
  const started = Date.now();
  const renew = async () => {
    const until = Date.now() + options.leaseMs;
    if (until - started > options.maxHoldMs) {
      stopRenewal(lease);
      options.onLapse?.();
      return;
    }
    try {
      await gateway.send(
        'UpdateItem',
        new UpdateItemCommand({
          TableName: options.table,
          Key: { sessionId: { S: key } },
          UpdateExpression: 'SET lockExpiresAt = :until',
          ConditionExpression: 'lockOwner = :owner',
          ExpressionAttributeValues: { ':owner': { S: lease.owner }, ':until': { N: String(until) } },
        }),
        { expectConditionFailure: true },
      );
      lease.expiresAt = until;
    } catch (err) {
      if (isConditionalFailure(err)) {
        lease.lost = true;
        stopRenewal(lease);
      }
      // An outage: the next tick tries again; if the lease runs out meanwhile,
      // the final write's fence notices and merges instead of overwriting.
    }
  };
  lease.timer = setInterval(() => void renew(), Math.max(50, Math.floor(options.leaseMs / 3)));
  lease.timer.unref();
}

export function stopRenewal(lease: Lease): void {
  if (lease.timer) clearInterval(lease.timer);
  lease.timer = undefined;
}
