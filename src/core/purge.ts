import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { ConfigError } from '../errors.js';
import type { ExpirySource } from './events.js';
import { expiredEventOf, tellExpired } from './expired-event.js';
import { deleteIf, dropChunks, isChunkKey } from './chunks.js';
import { isStoreKey, nowSeconds, type Item } from './item.js';
import type { StoreContext } from './store-context.js';
import { PREFIX } from './telemetry-metrics.js';

export interface PurgeProgress {
  /** Items the Scan read (every item costs read capacity, expired or not). */
  scanned: number;
  /** Items found expired. */
  expired: number;
  /** Expired items deleted. */
  deleted: number;
  /** Expired items left alone: locked by a live lease, or renewed before the delete. */
  skipped: number;
}

export interface PurgeOptions {
  /** Parallel Scan segments. Default 4. */
  segments?: number;
  /** Count what would be deleted, delete nothing. */
  dryRun?: boolean;
  /** Deletes in flight at once, over all segments. Default 16. */
  concurrency?: number;
  /** Called after every Scan page and at the end, with running totals. */
  onProgress?: (progress: PurgeProgress) => void;
  /** @internal Who purges, as the `expired` events name it: the reaper says 'reaper'. Default 'purge'. */
  source?: Extract<ExpirySource, 'purge' | 'reaper'>;
}

/** The reaper's lease item: never a session, never purged (see reaper.ts). */
export const REAPER_KEY = 'dynamodb-session-manager:reaper';

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1 || value > 1_000_000) {
    throw new ConfigError(`purgeExpired option "${name}" must be a positive integer (got ${String(value)})`);
  }
  return value;
}

/** A counting semaphore: bounds deletes in flight so a big purge cannot eat all write capacity at once. */
function limiter(max: number) {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async function run<T>(work: () => Promise<T>): Promise<T> {
    if (active >= max) await new Promise<void>((resolve) => waiting.push(resolve));
    active += 1;
    try {
      return await work();
    } finally {
      active -= 1;
      waiting.shift()?.();
    }
  };
}

/**
 * Deletes expired session items: for tables whose engine has no TTL, for TTL's
 * lag (it may take days), or to reclaim space now. A parallel, segmented Scan
 * finds them (it reads the whole table: its cost is the table's size, not the
 * number purged); each delete is conditional, so a session renewed since the
 * Scan, or held by a live pessimistic lease, is skipped, never lost.
 */
export async function purgeExpired(store: StoreContext, options: PurgeOptions = {}): Promise<PurgeProgress> {
  const segments = positive(options.segments, 4, 'segments');
  const run = limiter(positive(options.concurrency, 16, 'concurrency'));
  await store.ready();
  const table = store.config.table;
  const totals: PurgeProgress = { scanned: 0, expired: 0, deleted: 0, skipped: 0 };
  const report = () => options.onProgress?.({ ...totals });

  const source = options.source ?? 'purge';
  const remove = async (key: string, item: Item): Promise<void> => {
    const nowMs = Date.now();
    // Re-checked at delete time: the Scan's view may be stale by now. lockExpiresAt is epoch ms (lease-lock.ts).
    // A large session's chunks go with it; the old head (free with the delete) says which.
    const condition = 'expiresAt <= :now AND (attribute_not_exists(lockOwner) OR lockExpiresAt < :nowMs)';
    const out = await deleteIf(store, key, condition, { ':now': { N: String(Math.floor(nowMs / 1000)) }, ':nowMs': { N: String(nowMs) } }, true);
    if (!out) {
      totals.skipped += 1;
      return;
    }
    await dropChunks(store, out.Attributes);
    totals.deleted += 1;
    // Only here is a deletion known to have happened (its condition held): once per session
    // deleted, none for one skipped. A delete whose answer was lost and that the SDK sent again
    // finds the item gone and counts as skipped: at most once, never twice.
    const event = expiredEventOf(item, source);
    if (event) tellExpired(store, event);
  };

  const removeChunk = async (key: string): Promise<void> => {
    // Not when written again since the Scan, with a later expiry: a live session's chunk.
    await deleteIf(store, key, 'expiresAt <= :now', { ':now': { N: String(nowSeconds()) } });
  };

  let failed = false;
  const segment = async (index: number): Promise<void> => {
    const pages = store.gateway.pages<{ Items?: Item[]; ScannedCount?: number }>('Scan', (start) =>
      new ScanCommand({
        TableName: table,
        Segment: index,
        TotalSegments: segments,
        // A filter saves bandwidth, not capacity: DynamoDB charges for every item read.
        FilterExpression: 'expiresAt <= :now',
        // userId and expiresAtMs: the payload of the `expired` event a delete sends.
        ProjectionExpression: 'sessionId, expiresAt, expiresAtMs, userId, lockExpiresAt, lockOwner',
        ExpressionAttributeValues: { ':now': { N: String(nowSeconds()) } },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    // One segment failing fails the purge: the others stop before their next page instead of running on unseen.
    if (failed) return;
    for await (const out of pages) {
      totals.scanned += out.ScannedCount ?? 0;
      const pending: Array<Promise<void>> = [];
      for (const item of out.Items ?? []) {
        const key = item.sessionId?.S;
        if (key === undefined || isStoreKey(key)) continue;
        // A chunk past its own expiry, whose head (expired before it) is gone: not a session, deleted all the same.
        if (isChunkKey(key)) {
          if (!options.dryRun) pending.push(run(() => removeChunk(key)));
          continue;
        }
        totals.expired += 1;
        const lockedUntil = item.lockOwner?.S !== undefined ? Number(item.lockExpiresAt?.N ?? 0) : 0;
        // A live lease means a request is still working on it; a delete would only fail its condition.
        if (lockedUntil >= Date.now()) {
          totals.skipped += 1;
          continue;
        }
        if (!options.dryRun) pending.push(run(() => remove(key, item)));
      }
      await Promise.all(pending);
      report();
      if (failed) return;
    }
  };

  await Promise.all(
    Array.from({ length: segments }, (_, i) =>
      segment(i).catch((err: unknown) => {
        failed = true;
        throw err;
      }),
    ),
  );
  report();
  return totals;
}

/** A purge's counts, as its span's attributes (`session.admin.purge`). */
export function purgeAttributes(p: PurgeProgress): Record<string, number> {
  return { [`${PREFIX}.scanned`]: p.scanned, [`${PREFIX}.expired`]: p.expired, [`${PREFIX}.deleted`]: p.deleted, [`${PREFIX}.skipped`]: p.skipped };
}
