/**
 * How many entries each of a store's per-session structures holds now:
 * test/memory.test.ts and bench/memory.ts check that each empties itself or
 * stays within its bound. Kept beside the objects, not on them, so that
 * nothing of it is in their types: the package does not export this module.
 */
import { EndNotices } from './lifecycle.js';
import type { RequestContext } from './store-context.js';

const gauges = new WeakMap<object, () => unknown>();

/** Called by a store or poller as it is made: `read` tells its sizes. */
export function registerSizes(owner: object, read: () => StoreSizes | PollerSizes): void {
  gauges.set(owner, read);
}

/** A SessionStore's structures: its decode cache, its memory of queued writes, its queues, leases and end notices. */
export function registerStoreSizes(
  store: object,
  ctx: RequestContext,
  writeQueue: { readonly size: number },
  locks: { sizes(): { queued: number; held: number } },
): void {
  registerSizes(store, () => ({
    decodedEntries: ctx.decoded.count,
    decodedBytes: ctx.decoded.size,
    decodedBound: ctx.config.decodedCacheBytes,
    latest: ctx.latest.size,
    writeQueue: writeQueue.size,
    lockQueue: locks.sizes().queued,
    heldLeases: locks.sizes().held,
    endNotices: ctx.ends.size,
    endNoticesBound: EndNotices.BOUND,
  }));
}

export function storeSizes(store: object): StoreSizes {
  return gauges.get(store)!() as StoreSizes;
}

export function pollerSizes(poller: object): PollerSizes {
  return gauges.get(poller)!() as PollerSizes;
}

/** A Streams poller's state: one entry a shard, none a session. */
export interface PollerSizes {
  /** Shards being read. */
  shards: number;
  /** Shards read to their end (or skipped as history) that the stream still lists. */
  finished: number;
}

export interface StoreSizes {
  /** Decoded-session cache: entries, and the heap it counts itself as holding, against its bound. */
  decodedEntries: number;
  decodedBytes: number;
  decodedBound: number;
  /** What this process last wrote of a session while more saves of it were queued: empty when no save is. */
  latest: number;
  /** Sessions with a save queued or running in this process. */
  writeQueue: number;
  /** Sessions with a locked load queued or holding its turn in this process. */
  lockQueue: number;
  /** Requests of this process holding a session's lease. */
  heldLeases: number;
  /** Sessions whose end (expiry, maxLifetime) was told once, and the most it keeps. */
  endNotices: number;
  endNoticesBound: number;
}
