/**
 * Whole-table reads for tools and express-session's Store contract (`all`,
 * `ids`, `length`, `clear`): paginated Scans, so they cost read capacity in
 * proportion to the table, not to what they return. Never on a request's path.
 */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { CorruptSessionError } from '../errors.js';
import { chunkCount, isChunkKey, readChunkedFrame } from './chunks.js';
import { isExpired, readItem, type Item } from './item.js';
import type { SessionData } from './session-handle.js';
import type { StoreContext } from './store-context.js';
import { deleteKeys } from './user-sessions.js';

async function* scan(ctx: StoreContext, projection?: string, includeExpired = false): AsyncGenerator<Item> {
  await ctx.ready();
  const nowMs = Date.now();
  const pages = ctx.gateway.pages<{ Items?: Item[] }>('Scan', (start) =>
    new ScanCommand({
      TableName: ctx.config.table,
      ConsistentRead: ctx.config.consistentRead !== false,
      ...(projection ? { ProjectionExpression: projection } : {}),
      ...(start ? { ExclusiveStartKey: start } : {}),
    }),
  );
  for await (const page of pages) for (const item of page.Items ?? []) if (includeExpired || !isExpired(item, nowMs)) yield item;
}

/** Every live session, keyed by table key (the raw id, or its HMAC with `hashSessionIds`); corrupt ones are counted and left out. */
export async function allSessions(ctx: StoreContext): Promise<Record<string, SessionData>> {
  const out: Record<string, SessionData> = {};
  for await (const item of scan(ctx)) {
    const key = item.sessionId?.S;
    if (key === undefined || isChunkKey(key)) continue;
    let frame: Uint8Array | undefined;
    if (chunkCount(item) > 0) {
      const whole = await readChunkedFrame(ctx, item).catch((err: unknown) => (err instanceof CorruptSessionError ? undefined : Promise.reject(err)));
      if (whole === null) continue;
      frame = whole?.frame ?? new Uint8Array();
    }
    try {
      const stored = readItem(item);
      out[key] = ctx.codec.parse(ctx.codec.unframe(frame ?? stored.data, key));
    } catch {
      ctx.statsData.corruptItems += 1;
    }
  }
  return out;
}

/** Table keys of live sessions (a Scan reading keys and expiry only). */
export async function liveKeys(ctx: StoreContext): Promise<string[]> {
  const keys: string[] = [];
  for await (const item of scan(ctx, 'sessionId, expiresAt, expiresAtMs')) {
    if (item.sessionId?.S !== undefined && !isChunkKey(item.sessionId.S)) keys.push(item.sessionId.S);
  }
  return keys;
}

/** Deletes every item of the table, chunks and expired sessions too (a Scan, then batched deletes). */
export async function clearTable(ctx: StoreContext): Promise<void> {
  const keys: string[] = [];
  for await (const item of scan(ctx, 'sessionId', true)) if (item.sessionId?.S !== undefined) keys.push(item.sessionId.S);
  await deleteKeys(ctx, keys);
}
