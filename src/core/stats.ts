/** Counters a store keeps about itself; `store.stats()` hands out a copy. */
export interface StoreStats {
  /** DynamoDB calls by operation name (GetItem, UpdateItem, …). */
  calls: Record<string, number>;
  /** Capacity units DynamoDB reported as consumed; counted with the `returnConsumedCapacity` option only, else 0. */
  readCapacityUnits: number;
  writeCapacityUnits: number;
  /** Saves skipped because nothing changed, and expiry refreshes skipped by `touchAfter`. */
  writesSkipped: number;
  touchesSkipped: number;
  /** Optimistic saves that found another version stored, merges done, retries made, true conflicts. */
  versionConflicts: number;
  merges: number;
  retries: number;
  conflicts: number;
  /** Pessimistic lock waits: how many requests waited, and their total wait in ms. */
  lockWaits: number;
  lockWaitMs: number;
  lockTimeouts: number;
  /** Saves and touches dropped because the session had been destroyed meanwhile. */
  destroyedWhileInUse: number;
  corruptItems: number;
  /** Eventually consistent reads read again strongly: their answer was missing, expired or older than the client's last write. */
  staleReads: number;
  /** Loads that found the item's bytes already decoded in this process (same writeId): no inflate, no decrypt. */
  decodeCacheHits: number;
  /**
   * Writes whose answer was lost: `ownWritesFound` retries (the SDK's) or reads met the write's own
   * landed result; `outcomesSettled` writes whose attempts ran out were read before answering.
   */
  ownWritesFound: number;
  outcomesSettled: number;
  errors: number;
  /**
   * Read-through migration (`fallback`, Express's `migrateFrom`): sessions this process copied here
   * from the old store, and loads the old store answered (a copy, or one that lost the race to
   * copy it to another request). Zero for a while on every server: the option can go.
   */
  migrated: number;
  servedByFallback: number;
}

export function emptyStats(): StoreStats {
  return {
    calls: {},
    readCapacityUnits: 0,
    writeCapacityUnits: 0,
    writesSkipped: 0,
    touchesSkipped: 0,
    versionConflicts: 0,
    merges: 0,
    retries: 0,
    conflicts: 0,
    lockWaits: 0,
    lockWaitMs: 0,
    lockTimeouts: 0,
    destroyedWhileInUse: 0,
    corruptItems: 0,
    staleReads: 0,
    decodeCacheHits: 0,
    ownWritesFound: 0,
    outcomesSettled: 0,
    errors: 0,
    migrated: 0,
    servedByFallback: 0,
  };
}
