/**
 * The stores `dynamodb-session import` reads, each as pages of sessions with a position to
 * resume from. Their formats, as their own source writes them:
 * - connect-dynamodb: hash key `id` = prefix (`sess:`) + id, `sess` the session as a JSON
 *   string, `expires` epoch seconds (may carry a fraction);
 * - dynamodb-store: hash key `sessionId` = prefix (`sess:`) + id, `sess` a map (its own
 *   `updated` inside), `expires` epoch seconds;
 * - connect-redis: string keys prefix (`sess:`) + id holding JSON, their TTL the expiry.
 */
import { ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import type { Gateway } from '../core/gateway.js';
import { ImportSourceError } from '../errors.js';
import { optionalPeer } from '../adapters/optional-peer.js';

export type SourceKind = 'connect-dynamodb' | 'dynamodb-store' | 'redis';

/** One source record: a session (id, data, expiry) or why it is not one. */
export type SourceRecord =
  | { key: string; id: string; data: Record<string, unknown>; expiresAtMs: number }
  | { key: string; corrupt: string };

/** A page of records, and the position after it (what the checkpoint keeps). */
export interface SourcePage {
  records: SourceRecord[];
  /** Where the next page starts; null when this lane is done. */
  next: unknown;
}

/** A source read in parallel lanes (Scan segments; one for Redis), each resumable from a position. */
export interface ImportSource {
  readonly description: string;
  readonly lanes: number;
  /** A rough count of items, for the progress bar; 0 when unknown. */
  estimate(): Promise<number>;
  page(lane: number, position: unknown): Promise<SourcePage>;
  close(): Promise<void>;
}

type Item = Record<string, AttributeValue>;

/** An AttributeValue as plain JSON (the subset a session holds: no binary, no sets of them). */
function plain(value: AttributeValue): unknown {
  if (value.S !== undefined) return value.S;
  if (value.N !== undefined) return Number(value.N);
  if (value.BOOL !== undefined) return value.BOOL;
  if (value.NULL !== undefined) return null;
  if (value.M !== undefined) return Object.fromEntries(Object.entries(value.M).map(([k, v]) => [k, plain(v)]));
  if (value.L !== undefined) return value.L.map(plain);
  if (value.SS !== undefined) return [...value.SS];
  if (value.NS !== undefined) return value.NS.map(Number);
  throw new Error('a binary attribute, which no session of this store holds');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A DynamoDB source (connect-dynamodb or dynamodb-store), read by a parallel Scan through the target's connection. */
export function dynamoSource(
  gateway: Gateway,
  kind: 'connect-dynamodb' | 'dynamodb-store',
  table: string,
  options: { prefix: string; segments: number; pageSize?: number },
): ImportSource {
  const hashKey = kind === 'connect-dynamodb' ? 'id' : 'sessionId';
  const read = (item: Item): SourceRecord => {
    const key = item[hashKey]?.S;
    if (key === undefined) return { key: JSON.stringify(Object.keys(item)), corrupt: `no string attribute "${hashKey}"` };
    if (!key.startsWith(options.prefix)) return { key, corrupt: `its key does not start with the prefix "${options.prefix}" (--prefix)` };
    const id = key.slice(options.prefix.length);
    const expires = Number(item.expires?.N);
    if (!Number.isFinite(expires)) return { key, corrupt: 'no numeric "expires"' };
    let data: unknown;
    try {
      if (kind === 'connect-dynamodb') {
        if (item.sess?.S === undefined) return { key, corrupt: 'no string attribute "sess"' };
        data = JSON.parse(item.sess.S);
      } else {
        if (item.sess?.M === undefined) return { key, corrupt: 'no map attribute "sess"' };
        data = plain(item.sess);
        // dynamodb-store's own bookkeeping (its last touch), not the app's.
        if (isObject(data)) delete data.updated;
      }
    } catch (err) {
      return { key, corrupt: `"sess" is not a session: ${(err as Error).message}` };
    }
    if (!isObject(data)) return { key, corrupt: '"sess" is not an object' };
    return { key, id, data, expiresAtMs: Math.round(expires * 1000) };
  };
  return {
    description: `${kind} table "${table}"`,
    lanes: options.segments,
    async estimate() {
      const { DescribeTableCommand } = await import('@aws-sdk/client-dynamodb');
      const out = await gateway.send<{ Table?: { ItemCount?: number } }>('DescribeTable', new DescribeTableCommand({ TableName: table }));
      return out.Table?.ItemCount ?? 0;
    },
    async page(lane, position) {
      const out = await gateway.send<{ Items?: Item[]; LastEvaluatedKey?: Item }>(
        'Scan',
        new ScanCommand({
          TableName: table,
          Segment: lane,
          TotalSegments: options.segments,
          ConsistentRead: true,
          ...(options.pageSize ? { Limit: options.pageSize } : {}),
          ...(position ? { ExclusiveStartKey: position as Item } : {}),
        }),
      );
      return { records: (out.Items ?? []).map(read), next: out.LastEvaluatedKey ?? null };
    },
    async close() {},
  };
}

/** The part of a node-redis client (6, as tested) this reads. */
interface RedisClient {
  connect(): Promise<unknown>;
  on(event: 'error', listener: (err: unknown) => void): unknown;
  scan(cursor: string, options: { MATCH: string; COUNT: number }): Promise<{ cursor: string | number; keys: string[] }>;
  get(key: string): Promise<string | null>;
  pTTL(key: string): Promise<number>;
  dbSize(): Promise<number>;
  destroy?(): void | Promise<void>;
  quit?(): Promise<unknown>;
}

/**
 * connect-redis's keys in a Redis server, read with SCAN (a cursor, so one lane): each key's
 * JSON and its remaining TTL. `redis` (node-redis) is an optional peer, loaded only here.
 */
export async function redisSource(url: string, options: { prefix: string; pageSize?: number }): Promise<ImportSource> {
  const { createClient } = await optionalPeer('redis', 'dynamodb-session import --from redis', () => import('redis'));
  const client = createClient({ url, disableOfflineQueue: true, socket: { reconnectStrategy: false } }) as unknown as RedisClient;
  let lastError: unknown;
  client.on('error', (err) => {
    lastError = err;
  });
  try {
    await client.connect();
  } catch (err) {
    throw new ImportSourceError(
      `could not connect to Redis at ${redactUrl(url)}: ${(err as Error).message ?? String(lastError)}; check --url and that the server runs`,
      { cause: err },
    );
  }
  const read = async (key: string): Promise<SourceRecord | undefined> => {
    const [raw, ttl] = await Promise.all([client.get(key), client.pTTL(key)]);
    // Expired or deleted between SCAN and GET: nothing to copy.
    if (raw === null || ttl === -2) return undefined;
    let data: unknown;
    try {
      data = JSON.parse(raw);
    } catch (err) {
      return { key, corrupt: `not JSON: ${(err as Error).message}` };
    }
    if (!isObject(data)) return { key, corrupt: 'not a JSON object' };
    const cookieExpires = isObject(data.cookie) && typeof data.cookie.expires === 'string' ? Date.parse(data.cookie.expires) : Number.NaN;
    // connect-redis always sets a TTL unless disableTTL; without one the cookie's expiry is the session's.
    const expiresAtMs = ttl >= 0 ? Date.now() + ttl : cookieExpires;
    if (!Number.isFinite(expiresAtMs)) return { key, corrupt: 'no TTL and no cookie expiry' };
    return { key, id: key.slice(options.prefix.length), data, expiresAtMs };
  };
  const scanPage = async (position: unknown): Promise<SourcePage> => {
    const out = await client.scan(String(position ?? '0'), { MATCH: `${globEscape(options.prefix)}*`, COUNT: options.pageSize ?? 100 });
    const records = (await Promise.all(out.keys.map(read))).filter((r): r is SourceRecord => r !== undefined);
    const cursor = String(out.cursor);
    return { records, next: cursor === '0' ? null : cursor };
  };
  return {
    description: `Redis ${redactUrl(url)} (keys ${options.prefix}*)`,
    lanes: 1,
    estimate: () => client.dbSize(),
    async page(_lane, position) {
      try {
        return await scanPage(position);
      } catch (err) {
        throw new ImportSourceError(
          `Redis at ${redactUrl(url)} failed: ${(err as Error).message}; run the same command again when it answers (the checkpoint holds)`,
          { cause: err },
        );
      }
    },
    async close() {
      if (client.destroy) await client.destroy();
      else await client.quit?.();
    },
  };
}

/** A Redis URL without its password, for messages and the checkpoint. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
