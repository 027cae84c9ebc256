/**
 * A request's load, unlocked or under a lease (request-locks.ts), with the
 * read-through migration of `fallback`: what SessionStore.load runs. The item
 * it reads is decoded by open-item.ts.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { eventualReads } from '../config/options.js';
import { isExpired, type Item } from './item.js';
import { openItem } from './open-item.js';
import type { LoadedSession } from './session-handle.js';
import type { RequestContext } from './store-context.js';
import type { RequestLocks } from './request-locks.js';
import { readFallback } from './fallback.js';
import { createIfAbsent } from './save-session.js';

/**
 * An unlocked load: one GetItem, strongly consistent unless the client said
 * which version it last saw (`minVersion`, from the version cookie) and
 * `consistentRead` is not true. An eventual answer is acted on only when it is
 * provably fresh: one that is missing, expired or older than the floor may be
 * a replica behind the client's last write, and is read again strongly before
 * the session is ended or served. Expired, missing and corrupt sessions are null.
 */
export async function loadUnlocked(ctx: RequestContext, id: string, key: string, minVersion: number | undefined): Promise<LoadedSession | null> {
  const eventual = eventualReads(ctx.config) && minVersion !== undefined;
  const read = (consistent: boolean) =>
    ctx.gateway.send<{ Item?: Item }>(
      'GetItem',
      new GetItemCommand({ TableName: ctx.config.table, Key: { sessionId: { S: key } }, ConsistentRead: consistent }),
    );
  let out = await read(!eventual);
  if (eventual && (!out.Item || isExpired(out.Item) || Number(out.Item.version?.N ?? 0) < minVersion)) {
    ctx.statsData.staleReads += 1;
    out = await read(true);
  }
  if (!out.Item) return null;
  if (isExpired(out.Item)) {
    ctx.ends.report(ctx, out.Item);
    return null;
  }
  return openItem(ctx, id, out.Item);
}

/**
 * A request's load: unlocked, or under a lease (request-locks.ts). With `fallback`
 * (read-through migration), a session only the old store has is copied here once, then loaded as any other.
 */
export function loadSession(
  ctx: RequestContext,
  locks: RequestLocks,
  id: string,
  key: string,
  lock: boolean,
  minVersion: number | undefined,
): Promise<LoadedSession | null> {
  const fallback = ctx.config.fallback;
  // Without a fallback, straight to the read: no async frame of its own (a promise less per load).
  if (!fallback) return lock ? locks.load(id, key) : loadUnlocked(ctx, id, key, minVersion);
  const read = (floor: number | undefined) => (lock ? locks.load(id, key) : loadUnlocked(ctx, id, key, floor));
  return read(minVersion).then(async (loaded) => {
    if (loaded) return loaded;
    const found = await readFallback(fallback, id, ctx.config.table);
    if (!found) return null;
    ctx.statsData.servedByFallback += 1;
    if ((await createIfAbsent(ctx, id, found.data, found.expiresAtMs)) === 'created') ctx.statsData.migrated += 1;
    return read(undefined);
  });
}
