/**
 * Read-mostly views of the session table for operators (the CLI's list, show,
 * delete and stats). They work on table keys, not session ids: with
 * `hashSessionIds` the table holds HMACs and no id can be recovered from them.
 */
import { DeleteItemCommand, GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { isExpired, isStoreKey, readItem, type Item } from './item.js';
import type { SessionStore } from './session-store.js';

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
  /** Stored bytes of `data` (encoded: compressed and encrypted as written). */
  dataBytes: number;
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
  /** Items read by the Scan (the reaper's lease item excluded). */
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
    dataBytes: item.data?.B?.length ?? 0,
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
  const pages = store.gateway.pages<{ Items?: Item[]; LastEvaluatedKey?: Item }>(
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
      if (item.sessionId?.S === undefined || isStoreKey(item.sessionId.S)) continue;
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

/** One session item in full, decoded with the store's codec (its keys when encrypted); undefined when absent. */
export async function showSession(store: SessionStore, key: string): Promise<SessionDetail | undefined> {
  await store.ready();
  const out = await store.gateway.send<{ Item?: Item }>(
    'GetItem',
    new GetItemCommand({ TableName: store.config.table, Key: { sessionId: { S: key } }, ConsistentRead: true }),
  );
  if (!out.Item) return undefined;
  const item = out.Item;
  let data: Record<string, unknown> | undefined;
  let error: string | undefined;
  try {
    data = store.codec.parse(store.codec.unframe(readItem(item).data));
  } catch (err) {
    error = `${(err as { code?: string }).code ?? 'Error'}: ${(err as Error).message}`;
  }
  return { ...summary(item, Date.now()), createdAt: num(item, 'createdAt'), lockOwner: item.lockOwner?.S, data, error };
}

/** Deletes one item by table key; false when there was none. */
export async function deleteSessionKey(store: SessionStore, key: string): Promise<boolean> {
  await store.ready();
  const out = await store.gateway.send<{ Attributes?: Item }>(
    'DeleteItem',
    // The old item's key only tells whether there was one; ALL_OLD costs no more than NONE.
    new DeleteItemCommand({ TableName: store.config.table, Key: { sessionId: { S: key } }, ReturnValues: 'ALL_OLD' }),
  );
  return out.Attributes !== undefined;
}

/** Live, expired and locked items, by a paginated Scan of keys and times (it reads, and is charged for, the whole table). */
export async function countSessions(store: SessionStore): Promise<TableCounts> {
  await store.ready();
  const counts: TableCounts = { items: 0, live: 0, expired: 0, locked: 0 };
  const nowMs = Date.now();
  const pages = store.gateway.pages<{ Items?: Item[] }>('Scan', (start) =>
    new ScanCommand({
      TableName: store.config.table,
      ProjectionExpression: 'sessionId, expiresAt, expiresAtMs, lockOwner, lockExpiresAt',
      ...(start ? { ExclusiveStartKey: start } : {}),
    }),
  );
  for await (const page of pages) {
    for (const item of page.Items ?? []) {
      if (isStoreKey(item.sessionId?.S)) continue;
      counts.items += 1;
      if (isExpired(item, nowMs)) counts.expired += 1;
      else counts.live += 1;
      if (item.lockOwner?.S !== undefined && Number(item.lockExpiresAt?.N ?? 0) >= nowMs) counts.locked += 1;
    }
  }
  return counts;
}
