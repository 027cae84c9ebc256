/**
 * A global table in multi-Region strong consistency (MRSC) is another engine:
 * conditions are checked against the latest write in every Region, so the
 * store's versions and leases hold across Regions as they are, but it refuses
 * transactions and has no TTL, and a write that clashes with another Region's
 * write to the item fails with ReplicatedWriteConflictException (retried by
 * the gateway). What the store does instead:
 * - expiry: every read checks `expiresAt` already; the reaper deletes what
 *   expired, started at `ready()` here without being asked;
 * - sessions past one item: chunks are written without a transaction anyway (core/chunks.ts);
 * - `maxSessionsPerUser`: conditional writes instead of a transaction (core/user-limit-strong.ts).
 */
import type { TableDescription } from '@aws-sdk/client-dynamodb';
import type { ResolvedConfig } from '../config/options.js';
import type { Gateway } from '../core/gateway.js';
import type { Logger } from '../logger.js';
import { startReaper, type Reaper } from '../core/reaper.js';
import type { StoreContext } from '../core/store-context.js';

/** The reaper's interval on an MRSC table when `reapIntervalMs` names none: a minute. */
export const STRONG_REAP_INTERVAL_MS = 60_000;

/** Whether DescribeTable shows an MRSC global table; says so once, with what it costs. */
export function noteMultiRegion(
  gateway: Gateway,
  desc: TableDescription,
  config: Pick<ResolvedConfig, 'table' | 'reapIntervalMs'> & Partial<Pick<ResolvedConfig, 'regions'>>,
  logger: Logger,
): boolean {
  if (desc.MultiRegionConsistency !== 'STRONG') return false;
  const first = gateway.engine.multiRegionStrong === undefined;
  gateway.engine.multiRegionStrong = true;
  if (!first) return true;
  const seconds = (config.reapIntervalMs || STRONG_REAP_INTERVAL_MS) / 1000;
  const sizeKiB = Math.ceil((desc.TableSizeBytes ?? 0) / 1024);
  logger.warn(
    { table: config.table, multiRegionConsistency: 'STRONG', replicas: desc.Replicas?.map((r) => r.RegionName), reapIntervalSeconds: seconds },
    `table "${config.table}" is a global table with multi-Region strong consistency: it has no TTL, so this store's reaper deletes expired sessions, ` +
      `one server at a time, every ${seconds} s: a Scan of the whole table each time (${Math.ceil(sizeKiB / 8)} read units at its size now, ` +
      `${sizeKiB} KiB) and one replicated write per expired session; logins under maxSessionsPerUser use conditional writes, as MRSC has no transactions` +
      (config.regions ? '; home Region routing (regions) is not needed in MRSC' : ''),
  );
  return true;
}

/** The reaper an MRSC table needs when `reapIntervalMs` started none; undefined elsewhere. */
export function reaperForStrongTable(store: StoreContext & { readonly gateway: Gateway }): Reaper | undefined {
  if (!store.gateway.engine.multiRegionStrong) return undefined;
  return startReaper(store, { intervalMs: store.config.reapIntervalMs || STRONG_REAP_INTERVAL_MS });
}
