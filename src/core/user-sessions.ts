import { BatchGetItemCommand, BatchWriteItemCommand, QueryCommand, ScanCommand, type KeysAndAttributes, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { ConfigError } from '../errors.js';
import { isMissingIndex } from '../aws/errors.js';
import type { DestroyedEvent } from './events.js';
import { deleteSessionItem } from './chunks.js';
import { expiryMs, isExpired, type Item } from './item.js';
import { pastLifetime } from './lifecycle.js';
import { idTag } from './session-id.js';
import type { StoreContext } from './store-context.js';

/** One of a user's sessions, as an account page lists it ("your devices"). */
export interface UserSession {
  /**
   * The session's handle: what `store.revokeSession(handle, { userId })` takes; no session id can be recovered from it
   * (with `hashSessionIds`, the table key, an HMAC).
   */
  key: string;
  /** Epoch ms. */
  createdAt: number | undefined;
  /** Epoch ms of its last write or expiry refresh: as fresh as the expiry (touchAfter), at no extra write. */
  lastSeen: number | undefined;
  /** Epoch ms. */
  expiresAt: number;
  /** With `trackDevices`: where it was created from. */
  userAgent?: string;
  ip?: string;
}

export interface UserSessionList {
  sessions: UserSession[];
  /** How the sessions were found: a Query on the user index, or a Scan of the whole table. */
  via: 'index' | 'scan';
}

export interface UserSessionsResult {
  /** Table keys of the user's sessions (HMACs with `hashSessionIds`). */
  keys: string[];
  /** How they were found: a Query on the user index, or a Scan of the whole table. */
  via: 'index' | 'scan';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function checkUserId(userId: unknown): asserts userId is string {
  if (typeof userId !== 'string' || userId === '') {
    throw new ConfigError(`userId must be a non-empty string (got ${typeof userId === 'string' ? 'an empty string' : typeof userId})`);
  }
}

async function viaIndex(store: StoreContext, userId: string, index: string): Promise<string[]> {
  const pages = store.gateway.pages<{ Items?: Item[] }>('Query', (start) =>
    new QueryCommand({
      TableName: store.config.table,
      IndexName: index,
      KeyConditionExpression: 'userId = :u',
      ExpressionAttributeValues: { ':u': { S: userId } },
      ...(start ? { ExclusiveStartKey: start } : {}),
    }),
  );
  return keysOf(pages);
}

async function viaScan(store: StoreContext, userId: string): Promise<string[]> {
  const pages = store.gateway.pages<{ Items?: Item[] }>('Scan', (start) =>
    new ScanCommand({
      TableName: store.config.table,
      // The filter trims the reply only: every item of the table is read and paid for.
      FilterExpression: 'userId = :u',
      ProjectionExpression: 'sessionId',
      ExpressionAttributeValues: { ':u': { S: userId } },
      ...(start ? { ExclusiveStartKey: start } : {}),
    }),
  );
  return keysOf(pages);
}

async function keysOf(pages: AsyncIterable<{ Items?: Item[] }>): Promise<string[]> {
  const keys: string[] = [];
  for await (const page of pages) for (const item of page.Items ?? []) if (item.sessionId?.S !== undefined) keys.push(item.sessionId.S);
  return keys;
}

/**
 * The table keys of a user's sessions (expired ones included, until deleted).
 * With `userIndex`, a Query on that KEYS_ONLY index: it costs in proportion to
 * the user's sessions, but a GSI is eventually consistent, so a session saved
 * within the last second may be missing. Without it (or when the table lacks
 * the index), a Scan of the whole table: its cost grows with the table.
 */
export async function listUserSessionKeys(store: StoreContext, userId: string): Promise<UserSessionsResult> {
  checkUserId(userId);
  await store.ready();
  const index = store.config.userIndex;
  if (index) {
    try {
      return { keys: await viaIndex(store, userId, index), via: 'index' };
    } catch (err) {
      if (!isMissingIndex(err)) throw err;
      store.logger.warn(
        { table: store.config.table, index },
        'the table has no such user index: finding the user\'s sessions with a Scan of the whole table; ' +
          'create the table with `npx dynamodb-session create-table --user-index`',
      );
    }
  }
  return { keys: await viaScan(store, userId), via: 'scan' };
}

/** Deletes items by table key, 25 per BatchWriteItem, re-sending what DynamoDB leaves unprocessed. */
export async function deleteKeys(store: StoreContext, keys: readonly string[]): Promise<void> {
  const table = store.config.table;
  for (let i = 0; i < keys.length; i += 25) {
    let requests: WriteRequest[] = keys.slice(i, i + 25).map((k) => ({ DeleteRequest: { Key: { sessionId: { S: k } } } }));
    for (let attempt = 0; requests.length > 0; attempt++) {
      if (attempt > 0) await sleep(Math.min(1000, 50 * 2 ** attempt));
      const out = await store.gateway.send<{ UnprocessedItems?: Record<string, WriteRequest[]> }>(
        'BatchWriteItem',
        new BatchWriteItemCommand({ RequestItems: { [table]: requests } }),
      );
      requests = out.UnprocessedItems?.[table] ?? [];
    }
  }
}

/**
 * Deletes sessions by table key, each with its chunks (a session past 400 KB:
 * chunks.ts), 16 at a time: one DeleteItem each, whose old item (free with the
 * delete) says which chunks to delete; a BatchWriteItem cannot tell. Resolves
 * to the keys there was a session under.
 */
export async function deleteSessions(store: StoreContext, keys: readonly string[]): Promise<string[]> {
  const deleted: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < keys.length) {
      const key = keys[next++]!;
      if (await deleteSessionItem(store, key)) deleted.push(key);
    }
  };
  await Promise.all(Array.from({ length: Math.min(16, keys.length) }, worker));
  return deleted;
}

/**
 * Logs a user out everywhere: deletes every session whose item carries this
 * `userId` (set by the store option `userId`, or `commit(…, { userId })`), and
 * returns how many. A request still working on one of them finds it gone when
 * it saves, and does not bring it back.
 */
export async function destroyUserSessions(store: StoreContext, userId: string): Promise<number> {
  const { keys } = await listUserSessionKeys(store, userId);
  await deleteSessions(store, keys);
  for (const key of keys) store.emit('destroyed', { key, session: idTag(key), userId, reason: 'revoked' } satisfies DestroyedEvent);
  return keys.length;
}

/** Reads items by table key, strongly consistent, 100 per BatchGetItem, re-asking for what DynamoDB leaves unprocessed. */
async function readKeys(store: StoreContext, keys: readonly string[], projection: string): Promise<Item[]> {
  const table = store.config.table;
  const items: Item[] = [];
  for (let i = 0; i < keys.length; i += 100) {
    let request: KeysAndAttributes | undefined = {
      Keys: keys.slice(i, i + 100).map((k) => ({ sessionId: { S: k } })),
      ConsistentRead: true,
      ProjectionExpression: projection,
    };
    for (let attempt = 0; request && (request.Keys?.length ?? 0) > 0; attempt++) {
      if (attempt > 0) await sleep(Math.min(1000, 50 * 2 ** attempt));
      const out: { Responses?: Record<string, Item[]>; UnprocessedKeys?: Record<string, KeysAndAttributes> } = await store.gateway.send(
        'BatchGetItem',
        new BatchGetItemCommand({ RequestItems: { [table]: request } }),
      );
      items.push(...(out.Responses?.[table] ?? []));
      request = out.UnprocessedKeys?.[table];
    }
  }
  return items;
}

/** A user's live sessions with their devices' description, oldest first (see SessionStore#listUserSessions). */
export async function describeUserSessions(store: StoreContext, userId: string): Promise<UserSessionList> {
  const { keys, via } = await listUserSessionKeys(store, userId);
  const items = await readKeys(store, keys, 'sessionId, userId, createdAt, updatedAt, expiresAt, expiresAtMs, userAgent, ip');
  const now = Date.now();
  const sessions = items
    // The index may lag: an item another user has taken since, or one ended, is not this user's session.
    .filter((item) => item.userId?.S === userId && !isExpired(item, now) && !pastLifetime(store.config, item, now))
    .map((item): UserSession => ({
      key: item.sessionId!.S!,
      createdAt: item.createdAt?.N !== undefined ? Number(item.createdAt.N) : undefined,
      lastSeen: item.updatedAt?.N !== undefined ? Number(item.updatedAt.N) : undefined,
      expiresAt: expiryMs(item),
      ...(item.userAgent?.S !== undefined ? { userAgent: item.userAgent.S } : {}),
      ...(item.ip?.S !== undefined ? { ip: item.ip.S } : {}),
    }))
    .sort((a, b) => (a.createdAt ?? 0) - (b.createdAt ?? 0));
  return { sessions, via };
}
