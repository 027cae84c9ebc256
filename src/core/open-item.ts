import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { eventualReads } from '../config/options.js';
import { CorruptSessionError, EncryptionKeyError } from '../errors.js';
import { utf8 } from '../codec/json.js';
import { isExpired, readItem, type Item, type StoredSession } from './item.js';
import { chunkCount, deleteSessionItem, readChunkedFrame } from './chunks.js';
import { idTag } from './session-id.js';
import { pastLifetime } from './lifecycle.js';
import { rebindFrame } from './rebind.js';
import type { LoadedSession, SessionData, SessionHandle } from './session-handle.js';
import type { RequestContext } from './store-context.js';
import { writeIdsOf } from './write-history.js';
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
 * Decodes an item into the request's data and handle. An item this process
 * decoded or wrote already (same writeId) is not inflated again. A corrupt one
 * is logged (id hashed), deleted with `deleteCorruptSessions`, and reads as no
 * session. One sealed with a key this server does not have, or failing
 * authentication, is a configuration error: logged, kept, and thrown
 * (EncryptionKeyError, a 503), since a server deployed with the wrong keys
 * would otherwise wipe every session it reads. An encrypted frame of an older
 * release (not bound to its key) is written again, bound.
 */
export async function openItem(ctx: RequestContext, id: string, item: Item): Promise<LoadedSession | null> {
  // Past the absolute timeout, however recently used (an item written before maxLifetime was set has a later expiry).
  if (pastLifetime(ctx.config, item)) {
    ctx.ends.report(ctx, item);
    return null;
  }
  let stored: StoredSession;
  let json: string;
  let data: SessionData;
  let unbound = false;
  const cached = item.sessionId?.S !== undefined ? ctx.decoded.get(item.sessionId.S, item.writeId?.S) : undefined;
  // A session past 400 KB: its frame is in its chunks, not read when this version was decoded here before.
  let frame: Uint8Array | CorruptSessionError | undefined;
  if (cached === undefined && chunkCount(item) > 0) {
    try {
      const whole = await readChunkedFrame(ctx, item);
      if (!whole) return null;
      item = whole.head;
      frame = whole.frame;
    } catch (err) {
      if (!(err instanceof CorruptSessionError)) throw err;
      frame = err;
    }
  }
  try {
    if (frame instanceof CorruptSessionError) throw frame;
    stored = readItem(item);
    const writeId = item.writeId?.S;
    if (cached === undefined) {
      const bytes = ctx.codec.unframeBytes(frame ?? stored.data, stored.key);
      json = utf8(bytes);
      unbound = ctx.codec.unbound(frame ?? stored.data);
      if (!unbound) ctx.decoded.setBytes(stored.key, writeId, bytes);
    } else {
      json = cached;
      ctx.statsData.decodeCacheHits += 1;
    }
    data = ctx.codec.parse(json);
  } catch (err) {
    if (err instanceof EncryptionKeyError) {
      ctx.logger.error(
        { table: ctx.config.table, session: idTag(id), keyId: err.keyId, code: err.code, reason: err.message },
        'session sealed with a key this server cannot use: kept, and answered 503; ' +
          'check encryptionKeys on every server (during a rotation, list the old key after the new one)',
      );
      throw err;
    }
    ctx.statsData.corruptItems += 1;
    const reason = err instanceof CorruptSessionError ? err.message : String(err);
    ctx.logger.warn(
      { table: ctx.config.table, session: idTag(id), reason },
      ctx.config.deleteCorruptSessions
        ? 'corrupt session item deleted (deleteCorruptSessions); the client gets a new session'
        : 'corrupt session item ignored; the client gets a new session (set deleteCorruptSessions: true to delete such items)',
    );
    if (ctx.config.deleteCorruptSessions) await deleteSessionItem(ctx, ctx.keyOf(id));
    return null;
  }
  let version = stored.version;
  let writeIds = writeIdsOf(item);
  const chunks = chunkCount(item);
  if (unbound && chunks === 0) {
    const rebound = await rebindFrame(ctx, stored.key, stored.version, json, stored.userId, writeIds);
    if (rebound) ({ version, writeIds } = rebound);
  }
  const handle: SessionHandle = {
    id,
    key: stored.key,
    version,
    json,
    expiresAtMs: stored.expiresAtMs,
    createdAt: stored.createdAt,
    settled: false,
    storedVersion: version,
    chunks,
    writeIds,
  };
  if (stored.userId !== undefined) handle.userId = stored.userId;
  return { data, handle };
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
