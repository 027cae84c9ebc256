/**
 * Sessions past DynamoDB's 400 KB item limit: a head item and chunk items.
 *
 * ```
 * <key>               the head: every attribute a session item has (version, expiry, lease, writeId, userId…),
 *                     `data` = one byte 0xff, `chunkItems` (how many), `chunkBytes` (the frame's size),
 *                     `chunksExpireAt` (the chunks' TTL second)
 * <key>#<writeId>#1…n sessionId, data (the frame's bytes, in order), expiresAt = chunksExpireAt, writeId
 * ```
 *
 * Chunks are immutable: each save puts a new set under its own write id
 * (fixed before its first attempt), then switches the head to it with one
 * conditional UpdateItem (the condition of the save's locking mode), no
 * transaction. A reader derives the chunk keys from the head's writeId, so it
 * can never join one write's chunks to another's head; a chunk missing means
 * a newer write replaced the head meanwhile (and a destroy deleted the set):
 * the head is read again. A crash, a refusal or a lost answer before the head
 * switch leaves a set that no head names, which TTL deletes at its expiry; the
 * head never names chunks that are not there. A chunk put is idempotent (same
 * key, same bytes), and the head switch is recognised by its write id
 * (write-history.ts).
 *
 * Replaced sets are not deleted: a DeleteItem bills the deleted item's size,
 * so deleting them would cost a save as much again as writing them. They
 * expire with TTL (free), as do those of a failed attempt. A destroy deletes
 * the head, then the set it names.
 *
 * The head stays small, so what only touches it (a lease taken, renewed and
 * given back, an expiry refreshed) costs one write unit, not the session's
 * size. This works on engines and tables without transactions (dynalite,
 * DynamoDB global tables in multi-Region strong consistency).
 *
 * The release before wrote every chunk and the head in one TransactWriteItems
 * under keys `<key>#<n>`, the head naming them with `chunks`: such a head is
 * still read (its chunks must carry the head's writeId), and the next save
 * replaces it. A server of that release reads a head of this layout as
 * `data` 0xff with no `chunks`: "format version 255, written by a newer version
 * of dynamodb-session-manager" (format.ts), a session it refuses, never a
 * session it misreads.
 *
 * Chunks expire a lifetime after their head (`chunksExpireAt`): TTL deletes
 * them after it, and an expiry refresh within that writes the head alone; one
 * past it moves the chunks' expiry first (`extendChunks`). So a chunk never
 * expires before its head, and an expired chunk's head is expired too.
 */
import {
  BatchGetItemCommand,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
  type KeysAndAttributes,
} from '@aws-sdk/client-dynamodb';
import { CorruptSessionError, StoreUnavailableError } from '../errors.js';
import { isExpired, isStoreKey, itemSize, MAX_ITEM_BYTES, nowSeconds, type Item } from './item.js';
import { idTag } from './session-id.js';
import type { StoreContext } from './store-context.js';

/** The `data` of a head whose frame is in its chunks. */
export const CHUNKED_DATA = Buffer.from([0xff]);

/** Largest session item kept whole: DynamoDB's limit, less room for what the size bound below leaves out (trackDevices' userAgent and ip). */
const ONE_ITEM_BYTES = MAX_ITEM_BYTES - 1024;

/** Frame bytes per chunk item: DynamoDB's limit, less room for its key (a session key is at most 1 KB, a write id 20 characters) and its other attributes. */
export const CHUNK_DATA_BYTES = MAX_ITEM_BYTES - 2048;

/** Most chunks a head may name: what 4 MB (maxSessionBytes' ceiling) takes. A head naming more is damaged or planted. */
export const MAX_CHUNKS = Math.ceil((4 * 1024 * 1024) / CHUNK_DATA_BYTES);

/** The attributes a chunked head has beside a session item's (names and values). */
const HEAD_CHUNK_ATTRIBUTES = 'chunkItems'.length + 2 + 'chunkBytes'.length + 5 + 'chunksExpireAt'.length + 6;

/** Longest write id (write-history.ts: 12 characters of prefix and a base-36 counter), with room to spare. */
const WRITE_ID_CHARS = 24;

/** The key of chunk `n` (from 1) of the set the write `writeId` made. */
export const chunkKey = (key: string, writeId: string, n: number): string => `${key}#${writeId}#${n}`;

/** A chunk key of the release before (chunks.ts' header): `<key>#<n>`. */
const legacyChunkKey = (key: string, n: number): string => `${key}#${n}`;

/** A chunk item's key: a session key never contains `#` (session-id.ts); a bookkeeping key may, and is not a chunk. */
export const isChunkKey = (key: string | undefined): boolean => key !== undefined && !isStoreKey(key) && key.includes('#');

const isChunkedData = (item: Item | undefined): boolean => {
  const data = item?.data?.B;
  return data !== undefined && data.length === 1 && data[0] === 0xff;
};

/**
 * How many chunk items a head names (0: its frame is in its own `data`): a
 * head of the release before by `chunks`, one of this release by
 * `chunkItems` under `data` 0xff (a write of that release over a head of
 * this one leaves `chunkItems` behind, with data of its own).
 */
export function chunkCount(item: Item | undefined): number {
  const legacy = Number(item?.chunks?.N ?? 0) || 0;
  if (legacy !== 0) return legacy;
  return isChunkedData(item) ? Number(item?.chunkItems?.N ?? 0) || 0 : 0;
}

/** Whether the head has chunks in any layout, or claims to (`data` 0xff): a write of one item over it removes their attributes. */
export const hasChunks = (item: Item | undefined): boolean => chunkCount(item) !== 0 || isChunkedData(item);

/** The chunk items a head names, and the writeId each must carry; undefined when it names none. CorruptSessionError when it names them wrongly. */
function chunkSetOf(head: Item): { keys: string[]; writeId: string; legacy: boolean } | undefined {
  const count = chunkCount(head);
  if (count === 0 && !isChunkedData(head)) return undefined;
  const key = head.sessionId?.S;
  const writeId = head.writeId?.S;
  if (key === undefined) throw new CorruptSessionError('attribute "sessionId" is not a string');
  if (!Number.isInteger(count) || count < 1 || count > MAX_CHUNKS || writeId === undefined) {
    throw new CorruptSessionError(
      `the head names ${head.chunkItems?.N ?? head.chunks?.N ?? 'no'} chunks${writeId === undefined ? ' and has no writeId' : ''}: the item is damaged`,
    );
  }
  const legacy = head.chunks !== undefined && Number(head.chunks.N) > 0;
  const keys = Array.from({ length: count }, (_, i) => (legacy ? legacyChunkKey(key, i + 1) : chunkKey(key, writeId, i + 1)));
  return { keys, writeId, legacy };
}

/** Bytes of a chunk item beside its data, as DynamoDB counts them. */
const chunkOverhead = (key: string): number =>
  'sessionId'.length + Buffer.byteLength(key) + 2 + WRITE_ID_CHARS + 3 + 'data'.length + 'expiresAt'.length + 7 + 'writeId'.length + WRITE_ID_CHARS;

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

/** One chunk item, as a save puts it (alone, or in a login's transaction). */
export function chunkItem(key: string, writeId: string, n: number, part: Buffer, expiresAt: AttributeValue): Item {
  return { sessionId: { S: chunkKey(key, writeId, n) }, data: { B: part }, expiresAt, writeId: { S: writeId } };
}

/**
 * Puts the chunks of the write `writeId`, all at once, before its head names
 * them. Unconditional: the keys are this write's own, so a put sent twice
 * (a lost answer) writes the same item twice. A failure leaves the head as it
 * was; the chunks put so far expire unnamed.
 */
export async function putChunks(ctx: StoreContext, key: string, writeId: string, parts: Buffer[], expiresAt: AttributeValue): Promise<void> {
  await Promise.all(
    parts.map((part, i) =>
      ctx.gateway.send('PutItem', new PutItemCommand({ TableName: ctx.config.table, Item: chunkItem(key, writeId, i + 1, part, expiresAt) })),
    ),
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The frame in chunk items `keys`: one BatchGetItem (keys DynamoDB leaves
 * unprocessed asked for again). Undefined when a chunk is missing or carries
 * another writeId.
 */
async function readParts(ctx: StoreContext, key: string, keys: string[], writeId: string, consistent: boolean): Promise<Buffer | undefined> {
  const table = ctx.config.table;
  const found = new Map<string, Item>();
  let request: KeysAndAttributes | undefined = { Keys: keys.map((k) => ({ sessionId: { S: k } })), ConsistentRead: consistent };
  for (let attempt = 0; request && (request.Keys?.length ?? 0) > 0; attempt++) {
    if (attempt >= 8) {
      throw new StoreUnavailableError(
        `DynamoDB left the chunks of session ${idTag(key)} in table "${table}" unread ${attempt} times (throttled): retry shortly`,
      );
    }
    if (attempt > 0) await sleep(Math.min(1000, 25 * 2 ** attempt));
    const out: { Responses?: Record<string, Item[]>; UnprocessedKeys?: Record<string, KeysAndAttributes> } = await ctx.gateway.send(
      'BatchGetItem',
      new BatchGetItemCommand({ RequestItems: { [table]: request } }),
    );
    for (const item of out.Responses?.[table] ?? []) found.set(item.sessionId?.S ?? '', item);
    request = out.UnprocessedKeys?.[table];
  }
  const parts: Uint8Array[] = [];
  for (const [i, k] of keys.entries()) {
    const chunk = found.get(k);
    if (!chunk || chunk.writeId?.S !== writeId) return undefined;
    if (!(chunk.data?.B instanceof Uint8Array)) throw new CorruptSessionError(`chunk ${i + 1} of ${keys.length} has no binary "data": the item is damaged`);
    parts.push(chunk.data.B);
  }
  return Buffer.concat(parts);
}

/**
 * A chunked head's frame, read from its chunks: `head` is the head it belongs
 * to (the one given, or a newer one when the session was written again
 * between the reads). Null when the session is gone or expired meanwhile.
 * CorruptSessionError when the head names chunks that are not there.
 *
 * A set of this layout is read eventually consistent first, at half the
 * units: its items never change, so a replica can only lack a chunk, never
 * hold another write's. A chunk missing sends the reader to the head
 * (strongly consistent); the same head again means a replica lagged, and the
 * chunks are read strongly; only missing then is the item damaged.
 */
export async function readChunkedFrame(ctx: StoreContext, head: Item): Promise<{ head: Item; frame: Uint8Array } | null> {
  const key = head.sessionId?.S;
  if (key === undefined) throw new CorruptSessionError('attribute "sessionId" is not a string');
  let strong = false;
  for (let attempt = 1; ; attempt++) {
    const set = chunkSetOf(head);
    if (!set) return { head, frame: head.data?.B ?? new Uint8Array() };
    // The release before's chunks were rewritten in place: only a strong read sees them whole.
    const frame = await readParts(ctx, key, set.keys, set.writeId, strong || set.legacy);
    if (frame) return { head, frame };
    if (attempt >= 10) {
      throw new StoreUnavailableError(
        `session ${idTag(key)} in table "${ctx.config.table}" was written again while it was read, ${attempt} times in a row: retry the request`,
      );
    }
    const out = await ctx.gateway.send<{ Item?: Item }>(
      'GetItem',
      new GetItemCommand({ TableName: ctx.config.table, Key: { sessionId: { S: key } }, ConsistentRead: true }),
    );
    if (!out.Item || isExpired(out.Item)) return null;
    if (out.Item.writeId?.S === set.writeId) {
      if (strong || set.legacy) throw new CorruptSessionError('a chunk of the session is missing or belongs to another version of it: the item is damaged');
      strong = true;
    } else strong = false;
    head = out.Item;
  }
}

/**
 * Deletes the chunks of a head that was just deleted (`old`, as the delete
 * returned it). Each delete is conditional on the chunk carrying that head's
 * writeId (a legacy key may hold a later write's chunk). A crash before these
 * end leaves chunks whose head is gone: nothing reads them, and TTL (or
 * purgeExpired) deletes them at their expiry.
 */
export async function dropChunks(ctx: StoreContext, old: Item | undefined): Promise<void> {
  let set: ReturnType<typeof chunkSetOf>;
  try {
    set = old ? chunkSetOf(old) : undefined;
  } catch {
    return;
  }
  if (!set) return;
  const writeId = set.writeId;
  const drop = (k: string) => deleteIf(ctx, k, 'writeId = :w', { ':w': { S: writeId } });
  await Promise.all(set.keys.map(drop));
}

/**
 * Deletes item `key` when `condition` holds: the answer (with the old item under `Attributes` when `returnOld`),
 * or undefined when it did not hold and nothing was deleted.
 */
export function deleteIf(
  ctx: StoreContext,
  key: string,
  condition: string,
  values: Record<string, AttributeValue>,
  returnOld = false,
): Promise<{ Attributes?: Item } | undefined> {
  return ctx.gateway.sendIf(
    'DeleteItem',
    new DeleteItemCommand({
      TableName: ctx.config.table,
      Key: { sessionId: { S: key } },
      ConditionExpression: condition,
      ExpressionAttributeValues: values,
      ...(returnOld ? { ReturnValues: 'ALL_OLD' as const } : {}),
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
  let set: ReturnType<typeof chunkSetOf>;
  try {
    set = chunkSetOf(head);
  } catch {
    return false;
  }
  if (!set) return false;
  const writeId = set.writeId;
  const until = { N: String(chunksExpiry(expiresAtSec)) };
  const update = async (k: string, attribute: string): Promise<boolean> =>
    (await ctx.gateway.sendIf(
      'UpdateItem',
      new UpdateItemCommand({
        TableName: ctx.config.table,
        Key: { sessionId: { S: k } },
        UpdateExpression: `SET ${attribute} = :until`,
        ConditionExpression: 'writeId = :w',
        ExpressionAttributeValues: { ':until': until, ':w': { S: writeId } },
      }),
    )) !== undefined;
  const moved = await Promise.all(set.keys.map((k) => update(k, 'expiresAt')));
  return moved.every(Boolean) && (await update(head.sessionId!.S!, 'chunksExpireAt'));
}
