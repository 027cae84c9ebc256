import { CorruptSessionError, EncryptionKeyError } from '../errors.js';
import { utf8 } from '../codec/json.js';
import { readItem, type Item, type StoredSession } from './item.js';
import { chunkCount, deleteSessionItem, readChunkedFrame } from './chunks.js';
import { idTag } from './session-id.js';
import { pastLifetime } from './lifecycle.js';
import { rebindFrame } from './rebind.js';
import type { LoadedSession, SessionData, SessionHandle } from './session-handle.js';
import type { RequestContext } from './store-context.js';
import { writeIdsOf } from './write-history.js';

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
