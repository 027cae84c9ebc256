/**
 * Sessions past DynamoDB's 400 KB item limit: a head item and chunk items.
 *
 * ```
 * <key>      the head: every attribute a session item has (version, expiry, lease, writeId, userId…),
 *            `data` = one byte 0xff, and `chunks` (how many), `chunkBytes` (the frame's size),
 *            `chunksExpireAt` (the chunks' TTL second)
 * <key>#1…n  sessionId, data (the frame's bytes, in order), expiresAt = the head's chunksExpireAt,
 *            writeId = the head's writeId when they were written
 * ```
 *
 * The head stays small, so what only touches it (a lease taken, renewed and
 * given back, an expiry refreshed) costs one write unit, not the session's
 * size. A save writes the head and every chunk in one TransactWriteItems, the
 * condition on the head (item-write.ts): no reader can see a head whose chunks
 * are not there, and no failure, crash or lost answer can leave half a version.
 * A reader reads the head, then its chunks with one strongly consistent
 * BatchGetItem, and keeps them only if each carries the head's writeId (a save
 * between the two reads is caught, and read again).
 *
 * `0xff` is no format version (format.ts): a server of an older release reads
 * the head as "written by a newer version of dynamodb-session-manager", not as
 * a session.
 *
 * Chunks expire a lifetime after their head (`chunksExpireAt`): TTL deletes
 * them after it, and an expiry refresh within that writes the head alone; one
 * past it moves the chunks' expiry first (`extendChunks`). So a chunk never
 * expires before its head, and an expired chunk's head is expired too.
 */
import { BatchGetItemCommand, DeleteItemCommand, GetItemCommand, UpdateItemCommand, type KeysAndAttributes } from '@aws-sdk/client-dynamodb';
import { CorruptSessionError, StoreUnavailableError } from '../errors.js';
import { isConditionalFailure } from './gateway.js';
import { isExpired, isStoreKey, itemSize, MAX_ITEM_BYTES, nowSeconds, type Item } from './item.js';
import { idTag } from './session-id.js';
import type { StoreContext } from './store-context.js';

/** The `data` of a head whose frame is in its chunks. */
export const CHUNKED_DATA = Buffer.from([0xff]);

/** Largest session item kept whole: DynamoDB's limit, less room for what the size bound below leaves out (trackDevices' userAgent and ip). */
const ONE_ITEM_BYTES = MAX_ITEM_BYTES - 1024;

/** Frame bytes per chunk item: DynamoDB's limit, less room for its key (a session key is at most 1 KB) and its other attributes. */
export const CHUNK_DATA_BYTES = MAX_ITEM_BYTES - 2048;

/** Most chunks a head may name: what 4 MB (one transaction, maxSessionBytes' ceiling) takes. A head naming more is damaged or planted. */
export const MAX_CHUNKS = Math.ceil((4 * 1024 * 1024) / CHUNK_DATA_BYTES);

/** The attributes a chunked head has beside a session item's (names and values). */
const HEAD_CHUNK_ATTRIBUTES = 'chunks'.length + 2 + 'chunkBytes'.length + 5 + 'chunksExpireAt'.length + 6;

export const chunkKey = (key: string, n: number): string => `${key}#${n}`;

/** A chunk item's key: a session key never contains `#` (session-id.ts); a bookkeeping key may, and is not a chunk. */
export const isChunkKey = (key: string | undefined): boolean => key !== undefined && !isStoreKey(key) && key.includes('#');

/** How many chunk items a head names (0: its frame is in its own `data`). */
export const chunkCount = (item: Item | undefined): number => Number(item?.chunks?.N ?? 0) || 0;

/** Bytes of a chunk item beside its data, as DynamoDB counts them. */
const chunkOverhead = (key: string): number => 'sessionId'.length + Buffer.byteLength(key) + 3 + 'data'.length + 'expiresAt'.length + 7 + 'writeId'.length + 24;

/** Whether a frame of `dataBytes` is kept in the session item itself. */
export const fitsOneItem = (key: string, dataBytes: number, userId: string | undefined): boolean => itemSize(key, dataBytes, userId) <= ONE_ITEM_BYTES;

/** What a session of `dataBytes` frame bytes takes in the table, all its items together: what maxSessionBytes bounds. */
export function storedSize(key: string, dataBytes: number, userId: string | undefined): number {
  if (fitsOneItem(key, dataBytes, userId)) return itemSize(key, dataBytes, userId);
  const count = Math.ceil(dataBytes / CHUNK_DATA_BYTES);
  return itemSize(key, CHUNKED_DATA.length, userId) + HEAD_CHUNK_ATTRIBUTES + dataBytes + count * chunkOverhead(key);
}

/** The frame cut into chunk payloads (views, no copy). */
export function split(frame: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  for (let at = 0; at < frame.length; at += CHUNK_DATA_BYTES) parts.push(frame.subarray(at, at + CHUNK_DATA_BYTES));
  return parts;
}

/**
 * The chunks' TTL second for a head expiring at `expiresAtSec`: a lifetime
 * later (at least a minute), so that the refreshes of a session that is read
 * and not changed write the head alone for a while.
 */
export function chunksExpiry(expiresAtSec: number): number {
  return expiresAtSec + Math.max(60, expiresAtSec - nowSeconds());
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The frame in a head's chunks: one strongly consistent BatchGetItem (keys
 * DynamoDB leaves unprocessed asked for again). Undefined when a chunk is
 * missing or carries another writeId: the session was written again since the
 * head was read.
 */
async function readParts(ctx: StoreContext, key: string, count: number, writeId: string): Promise<Buffer | undefined> {
  const table = ctx.config.table;
  const found = new Map<string, Item>();
  let request: KeysAndAttributes | undefined = { Keys: Array.from({ length: count }, (_, i) => ({ sessionId: { S: chunkKey(key, i + 1) } })), ConsistentRead: true };
  for (let attempt = 0; request && (request.Keys?.length ?? 0) > 0; attempt++) {
    if (attempt >= 8) throw new StoreUnavailableError(`DynamoDB left the chunks of session ${idTag(key)} in table "${table}" unread ${attempt} times (throttled): retry shortly`);
    if (attempt > 0) await sleep(Math.min(1000, 25 * 2 ** attempt));
    const out: { Responses?: Record<string, Item[]>; UnprocessedKeys?: Record<string, KeysAndAttributes> } = await ctx.gateway.send(
      'BatchGetItem',
      new BatchGetItemCommand({ RequestItems: { [table]: request } }),
    );
    for (const item of out.Responses?.[table] ?? []) found.set(item.sessionId?.S ?? '', item);
    request = out.UnprocessedKeys?.[table];
  }
  const parts: Uint8Array[] = [];
  for (let n = 1; n <= count; n++) {
    const chunk = found.get(chunkKey(key, n));
    if (!chunk || chunk.writeId?.S !== writeId) return undefined;
    if (!(chunk.data?.B instanceof Uint8Array)) throw new CorruptSessionError(`chunk ${n} of ${count} has no binary "data": the item is damaged`);
    parts.push(chunk.data.B);
  }
  return Buffer.concat(parts);
}

/**
 * A chunked head's frame, read from its chunks: `head` is the head it belongs
 * to (the one given, or a newer one when the session was written again
 * between the reads). Null when the session is gone or expired meanwhile.
 * CorruptSessionError when the head names chunks that are not there.
 */
export async function readChunkedFrame(ctx: StoreContext, head: Item): Promise<{ head: Item; frame: Uint8Array } | null> {
  const key = head.sessionId?.S;
  if (key === undefined) throw new CorruptSessionError('attribute "sessionId" is not a string');
  for (let attempt = 1; ; attempt++) {
    const count = chunkCount(head);
    if (count === 0) return { head, frame: head.data?.B ?? new Uint8Array() };
    const writeId = head.writeId?.S;
    if (!Number.isInteger(count) || count < 1 || count > MAX_CHUNKS || writeId === undefined) {
      throw new CorruptSessionError(`the head names ${head.chunks?.N} chunks${writeId === undefined ? ' and has no writeId' : ''}: the item is damaged`);
    }
    const frame = await readParts(ctx, key, count, writeId);
    if (frame) return { head, frame };
    // Written again between the two reads (the chunks carry a newer writeId): read the head again.
    if (attempt >= 10) {
      throw new StoreUnavailableError(`session ${idTag(key)} in table "${ctx.config.table}" was written again while it was read, ${attempt} times in a row: retry the request`);
    }
    const out = await ctx.gateway.send<{ Item?: Item }>('GetItem', new GetItemCommand({ TableName: ctx.config.table, Key: { sessionId: { S: key } }, ConsistentRead: true }));
    if (!out.Item || isExpired(out.Item)) return null;
    if (out.Item.writeId?.S === writeId) throw new CorruptSessionError(`a chunk of the session is missing or belongs to another version of it: the item is damaged`);
    head = out.Item;
  }
}

/**
 * Deletes the chunks of a head that was just deleted (`old`, as the delete
 * returned it). Each delete is conditional on the chunk still carrying that
 * head's writeId: a session written again under the same key meanwhile keeps
 * its own. A crash before these end leaves chunks whose head is gone: nothing
 * reads them, and TTL (or purgeExpired) deletes them at their expiry.
 */
export async function dropChunks(ctx: StoreContext, old: Item | undefined): Promise<void> {
  const count = Math.min(chunkCount(old), MAX_CHUNKS);
  const key = old?.sessionId?.S;
  const writeId = old?.writeId?.S;
  if (count === 0 || key === undefined || writeId === undefined) return;
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      try {
        await ctx.gateway.send(
          'DeleteItem',
          new DeleteItemCommand({
            TableName: ctx.config.table,
            Key: { sessionId: { S: chunkKey(key, i + 1) } },
            ConditionExpression: 'writeId = :w',
            ExpressionAttributeValues: { ':w': { S: writeId } },
          }),
          { expectConditionFailure: true },
        );
      } catch (err) {
        if (!isConditionalFailure(err)) throw err;
      }
    }),
  );
}

/**
 * Deletes a session by table key, its chunks after it. The old head comes
 * back with the delete at no extra cost: it says whether there was one, whose
 * it was, and which chunks to delete. Resolves to the old head, if any.
 *
 * A delete is safe to send twice, but a retry after a lost answer finds
 * nothing, and the old head with it: `loaded` (the head as the caller's
 * request loaded it) stands in for it then.
 */
export async function deleteSessionItem(ctx: StoreContext, key: string, loaded?: Item): Promise<Item | undefined> {
  const out = await ctx.gateway.send<{ Attributes?: Item; $metadata?: { attempts?: number } }>(
    'DeleteItem',
    new DeleteItemCommand({ TableName: ctx.config.table, Key: { sessionId: { S: key } }, ReturnValues: 'ALL_OLD' }),
  );
  const old = out.Attributes ?? ((out.$metadata?.attempts ?? 1) > 1 ? loaded : undefined);
  await dropChunks(ctx, old);
  return old;
}

/**
 * Moves the chunks' expiry of `head` so that the head may expire at
 * `expiresAtSec`: each chunk first (conditional on its writeId), then the
 * head's `chunksExpireAt` (conditional on the head still naming those
 * chunks), so a chunk never expires before its head. Non-transactional: every
 * step keeps that true on its own, and a transaction would bill twice. False
 * when the session was written again meanwhile (its new chunks have an expiry
 * of their own): the caller reads the head again.
 */
export async function extendChunks(ctx: StoreContext, head: Item, expiresAtSec: number): Promise<boolean> {
  const key = head.sessionId!.S!;
  const writeId = head.writeId?.S;
  const count = Math.min(chunkCount(head), MAX_CHUNKS);
  if (writeId === undefined) return false;
  const until = { N: String(chunksExpiry(expiresAtSec)) };
  const update = async (k: string, set: string): Promise<boolean> => {
    try {
      await ctx.gateway.send(
        'UpdateItem',
        new UpdateItemCommand({
          TableName: ctx.config.table,
          Key: { sessionId: { S: k } },
          UpdateExpression: `SET ${set} = :until`,
          ConditionExpression: 'writeId = :w',
          ExpressionAttributeValues: { ':until': until, ':w': { S: writeId } },
        }),
        { expectConditionFailure: true },
      );
      return true;
    } catch (err) {
      if (!isConditionalFailure(err)) throw err;
      return false;
    }
  };
  const moved = await Promise.all(Array.from({ length: count }, (_, i) => update(chunkKey(key, i + 1), 'expiresAt')));
  return moved.every(Boolean) && (await update(key, 'chunksExpireAt'));
}
