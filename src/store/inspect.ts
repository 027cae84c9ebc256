/**
 * Read-mostly views of the session table for operators (the CLI's list, show,
 * delete and stats). They work on table keys, not session ids: with
 * `hashSessionIds` the table holds HMACs and no id can be recovered from them.
 */
import { GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { CorruptSessionError, EncryptionKeyError } from '../errors.js';
import { chunkCount, deleteSessionItem, isChunkKey, readChunkedFrame } from '../core/chunks.js';
import { isExpired, isStoreKey, readItem, type Item } from '../core/item.js';
import { contextOf, type SessionStore } from './session-store.js';

export interface SessionSummary {
  key: string;
  version: number | undefined;
  /** Epoch seconds: the TTL attribute (the exact expiry, rounded up to its second). */
  expiresAt: number | undefined;
  expired: boolean;
  /** Epoch ms. */
  updatedAt: number | undefined;
  userId: string | undefined;
  /** Epoch ms until which a live lease holds it; undefined when unlocked. */
  lockedUntil: number | undefined;
  /** Stored bytes of `data` (encoded: compressed and encrypted as written), its chunks' for a session past 400 KB. */
  dataBytes: number;
  /** Chunk items beside the session item (a session past 400 KB: core/chunks.ts); 0 when it is one item. */
  chunks: number;
}

export interface SessionPage {
  sessions: SessionSummary[];
  /** Pass as `after` for the next page; undefined on the last one. */
  next: string | undefined;
}

export interface SessionDetail extends SessionSummary {
  createdAt: number | undefined;
  lockOwner: string | undefined;
  /** The decoded session, or undefined when it could not be decoded (see `error`). */
  data: Record<string, unknown> | undefined;
  error: string | undefined;
}

export interface TableCounts {
  /** Sessions read by the Scan (the store's own items and a large session's chunks excluded). */
  items: number;
  live: number;
  /** Expired but not deleted yet: TTL's lag, or no TTL at all. */
  expired: number;
  /** Holding a live pessimistic lease now. */
  locked: number;
}

const num = (item: Item, name: string): number | undefined => {
  const n = Number(item[name]?.N);
  return item[name]?.N !== undefined && Number.isFinite(n) ? n : undefined;
};

function summary(item: Item, nowMs: number): SessionSummary {
  const lockedUntil = item.lockOwner?.S !== undefined ? num(item, 'lockExpiresAt') : undefined;
  return {
    key: item.sessionId?.S ?? '',
    version: num(item, 'version'),
    expiresAt: num(item, 'expiresAt'),
    expired: isExpired(item, nowMs),
    updatedAt: num(item, 'updatedAt'),
    userId: item.userId?.S,
    lockedUntil: lockedUntil !== undefined && lockedUntil >= Date.now() ? lockedUntil : undefined,
    dataBytes: chunkCount(item) > 0 ? (num(item, 'chunkBytes') ?? 0) : (item.data?.B?.length ?? 0),
    chunks: chunkCount(item),
  };
}

/**
 * One page of sessions in table order: a Scan that stops once `limit` are
 * found. Expired ones are left out unless `includeExpired`. Every item the
 * Scan passes over is paid for.
 */
export async function listSessions(
  store: SessionStore,
  options: { limit: number; after?: string; includeExpired?: boolean },
): Promise<SessionPage> {
  await store.ready();
  const sessions: SessionSummary[] = [];
  const nowMs = Date.now();
  const pages = contextOf(store).gateway.pages<{ Items?: Item[]; LastEvaluatedKey?: Item }>(
    'Scan',
    (start) =>
      new ScanCommand({
        TableName: store.config.table,
        // `data` is read for its size only; it is what makes a page dear, so pages stay small.
        Limit: Math.min(100, options.limit - sessions.length + 1),
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    options.after !== undefined ? { sessionId: { S: options.after } } : undefined,
  );
  for await (const page of pages) {
    const items = page.Items ?? [];
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      if (item.sessionId?.S === undefined || isStoreKey(item.sessionId.S) || isChunkKey(item.sessionId.S)) continue;
      if (!options.includeExpired && isExpired(item, nowMs)) continue;
      sessions.push(summary(item, nowMs));
      if (sessions.length === options.limit) {
        // Resume right after this item, even mid-page.
        const more = i < items.length - 1 || page.LastEvaluatedKey !== undefined;
        return { sessions, next: more ? item.sessionId.S : undefined };
      }
    }
  }
  return { sessions, next: undefined };
}

/**
 * One session item in full, decoded with the store's codec (its keys when
 * encrypted; a session past 400 KB read with its chunks); undefined when
 * absent, or when `key` is a chunk's.
 */
export async function showSession(store: SessionStore, key: string): Promise<SessionDetail | undefined> {
  if (isChunkKey(key)) return undefined;
  await store.ready();
  const out = await contextOf(store).gateway.send<{ Item?: Item }>(
    'GetItem',
    new GetItemCommand({ TableName: store.config.table, Key: { sessionId: { S: key } }, ConsistentRead: true }),
  );
  if (!out.Item) return undefined;
  let item = out.Item;
  let data: Record<string, unknown> | undefined;
  let error: string | undefined;
  try {
    let frame = readItem(item).data;
    if (chunkCount(item) > 0) {
      const whole = await readChunkedFrame(contextOf(store), item);
      if (!whole) return undefined;
      item = whole.head;
      frame = whole.frame;
    }
    data = contextOf(store).codec.parse(contextOf(store).codec.unframe(frame, key));
  } catch (err) {
    // Undecodable is worth showing; DynamoDB unreachable (reading the chunks) is the command's failure.
    if (!(err instanceof CorruptSessionError || err instanceof EncryptionKeyError)) throw err;
    error = `${err.code}: ${err.message}`;
  }
  return { ...summary(item, Date.now()), createdAt: num(item, 'createdAt'), lockOwner: item.lockOwner?.S, data, error };
}

/** Deletes one session by table key, with its chunks; false when there was none (a chunk's key is none: deleting it alone would break its session). */
export async function deleteSessionKey(store: SessionStore, key: string): Promise<boolean> {
  if (isChunkKey(key)) return false;
  await store.ready();
  return (await deleteSessionItem(contextOf(store), key)) !== undefined;
}

/** Live, expired and locked items, by a paginated Scan of keys and times (it reads, and is charged for, the whole table). */
export async function countSessions(store: SessionStore): Promise<TableCounts> {
  await store.ready();
  const counts: TableCounts = { items: 0, live: 0, expired: 0, locked: 0 };
  const nowMs = Date.now();
  const pages = contextOf(store).gateway.pages<{ Items?: Item[] }>('Scan', (start) =>
    new ScanCommand({
      TableName: store.config.table,
      ProjectionExpression: 'sessionId, expiresAt, expiresAtMs, lockOwner, lockExpiresAt',
      ...(start ? { ExclusiveStartKey: start } : {}),
    }),
  );
  for await (const page of pages) {
    for (const item of page.Items ?? []) {
      if (isStoreKey(item.sessionId?.S) || isChunkKey(item.sessionId?.S)) continue;
      counts.items += 1;
      if (isExpired(item, nowMs)) counts.expired += 1;
      else counts.live += 1;
      if (item.lockOwner?.S !== undefined && Number(item.lockExpiresAt?.N ?? 0) >= nowMs) counts.locked += 1;
    }
  }
  return counts;
}
