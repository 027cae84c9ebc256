import type { ResolvedConfig } from '../config/options.js';
import type { Codec } from '../codec/codec.js';
import type { Gateway } from './gateway.js';
import type { Logger } from '../logger.js';
import type { StoreStats } from './stats.js';
import type { DecodedCache } from './decoded-cache.js';
import type { EndNotices } from './lifecycle.js';

/**
 * What the store's parts share: the resolved options, the gateway every
 * DynamoDB call goes through, the codec, the logger and the counters. The
 * loader, the save strategies, purge, the reaper and the user index take this,
 * not the SessionStore façade, so none of them imports it.
 */
export interface StoreContext {
  readonly config: ResolvedConfig;
  readonly gateway: Gateway;
  readonly codec: Codec;
  readonly logger: Logger;
  readonly statsData: StoreStats;
  /** Table key of a session id (its HMAC with `hashSessionIds`); throws InvalidSessionIdError. */
  keyOf(id: string): string;
  /** The table check, done once. */
  ready(): Promise<unknown>;
  /** The store's events (core/events.ts: `created`, `regenerated`, `destroyed`, `expired`; and `conflict`). */
  emit(event: string, ...args: unknown[]): boolean;
}

/** What the request path adds: this process's memory of what it decoded and wrote. */
export interface RequestContext extends StoreContext {
  /** Decoded JSON by key and writeId: an item decoded or written here is not inflated again. */
  readonly decoded: DecodedCache;
  /**
   * What this process last wrote for a session while more saves of it were
   * queued here: the next one merges against it before its first attempt
   * instead of spending a write that is sure to fail its version condition.
   */
  readonly latest: Map<string, { version: number; json: string; writeIds: string[] }>;
  /** Tells listeners, once each, of sessions a read found ended (lifecycle.ts). */
  readonly ends: EndNotices;
}
