import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { CorruptSessionError } from '../errors.js';

export type Item = Record<string, AttributeValue>;

/** One session item as stored (see the item schema in DESIGN.md). */
export interface StoredSession {
  key: string;
  data: Uint8Array;
  version: number;
  /** Epoch seconds, the TTL attribute: the exact expiry rounded up. */
  expiresAt: number;
  /** The exact expiry, epoch ms: what the store reports and checks (items written before it existed: expiresAt's second). */
  expiresAtMs: number;
  createdAt: number;
  updatedAt: number;
  lockOwner?: string;
  /** Epoch ms. */
  lockExpiresAt?: number;
  userId?: string;
}

const num = (item: Item, name: string, required: boolean): number | undefined => {
  const v = item[name];
  if (v === undefined) {
    if (required) throw new CorruptSessionError(`attribute "${name}" is missing`);
    return undefined;
  }
  const n = v.N === undefined ? Number.NaN : Number(v.N);
  if (!Number.isFinite(n)) throw new CorruptSessionError(`attribute "${name}" is not a number`);
  return n;
};

/** Reads an item's attributes, checking their types; a wrong type is a CorruptSessionError. */
export function readItem(item: Item): StoredSession {
  const key = item.sessionId?.S;
  if (key === undefined) throw new CorruptSessionError('attribute "sessionId" is not a string');
  const data = item.data?.B;
  if (!(data instanceof Uint8Array)) throw new CorruptSessionError('attribute "data" is missing or not binary');
  const lockOwner = item.lockOwner?.S;
  const userId = item.userId?.S;
  const stored: StoredSession = {
    key,
    data,
    version: num(item, 'version', true) as number,
    expiresAt: num(item, 'expiresAt', true) as number,
    expiresAtMs: expiryMs(item),
    createdAt: num(item, 'createdAt', false) ?? 0,
    updatedAt: num(item, 'updatedAt', false) ?? 0,
  };
  // Set only when present, as before, without a spread of an object made for it (every load passes here).
  if (lockOwner !== undefined) {
    stored.lockOwner = lockOwner;
    stored.lockExpiresAt = num(item, 'lockExpiresAt', false) ?? 0;
  }
  if (userId !== undefined) stored.userId = userId;
  return stored;
}

/** `writeIds` (write-history.ts) at its longest: the name, a list's 3 bytes, five ids of up to 20 characters and a byte each. */
const WRITE_IDS_BYTES = 'writeIds'.length + 3 + 5 * 21;

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/**
 * The store's own bookkeeping items (the reaper's lease, a user's session
 * slots) share the table under this prefix: never sessions, never purged.
 */
export const STORE_KEY_PREFIX = 'dynamodb-session-manager:';
export const isStoreKey = (key: string | undefined): boolean => key !== undefined && key.startsWith(STORE_KEY_PREFIX);

/**
 * An item's exact expiry in epoch ms: `expiresAtMs`, or, for an item written
 * without it, the TTL second. NaN when it has neither.
 */
export function expiryMs(item: Item): number {
  const ms = Number(item.expiresAtMs?.N);
  if (Number.isFinite(ms)) return ms;
  return Number(item.expiresAt?.N) * 1000;
}

/** An item read before TTL got round to deleting it is still expired: to the millisecond. */
export function isExpired(item: Item, nowMs = Date.now()): boolean {
  const ms = expiryMs(item);
  return Number.isFinite(ms) && ms <= nowMs;
}

/** Rough byte size of an item as DynamoDB counts it: attribute names plus values. */
export function itemSize(key: string, dataBytes: number, userId: string | undefined): number {
  // sessionId, version, expiresAt, expiresAtMs, createdAt, updatedAt, lockOwner, lockExpiresAt names and numbers
  const fixed = 9 + 4 + 7 + 21 + 9 + 21 + 11 + 21 + 9 + 21 + 9 + 21 + 9 + 36 + 13 + 21 + WRITE_IDS_BYTES;
  return fixed + Buffer.byteLength(key) + dataBytes + (userId ? 6 + Buffer.byteLength(userId) : 0);
}

/**
 * Bytes of a session item beside its `data` value, as DynamoDB bills them
 * (attribute names in UTF-8, a number at one byte per two digits plus one), for
 * the attributes a save writes: what the codec weighs its compression choice
 * with. itemSize above is the guard's generous bound; this is the estimate.
 */
export function itemBytesBesideData(key: string, userId: string | undefined): number {
  const number = (digits: number) => Math.ceil(digits / 2) + 1;
  return (
    'sessionId'.length + Buffer.byteLength(key) +
    'data'.length +
    'expiresAt'.length + number(10) +
    'expiresAtMs'.length + number(13) +
    'updatedAt'.length + number(13) +
    'createdAt'.length + number(13) +
    'writeId'.length + 20 +
    WRITE_IDS_BYTES +
    'version'.length + number(4) +
    (userId ? 'userId'.length + Buffer.byteLength(userId) : 0)
  );
}

/** DynamoDB's item size limit. */
export const MAX_ITEM_BYTES = 400 * 1024;
