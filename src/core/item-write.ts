import { randomBytes } from 'node:crypto';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { SessionTooLargeError } from '../errors.js';
import { isConditionalFailure } from './gateway.js';
import { isExpired, itemBytesBesideData, itemSize, MAX_ITEM_BYTES, nowSeconds, type Item } from './item.js';
import { idTag } from './session-id.js';
import type { RequestContext } from './store-context.js';
import { updateItem, usedValues } from './update-item.js';

/**
 * Write ids: a random prefix drawn once per process, then a counter. As
 * unique as a fresh random id per write (two processes would need the same
 * 72 random bits), without a call into the system's random source on every
 * save: measured, 5.6 µs for randomBytes(9) against 0.05 µs for this.
 */
const WRITE_ID_PREFIX = randomBytes(9).toString('base64url');
let writeCounter = 0;
function nextWriteId(): string {
  writeCounter += 1;
  return WRITE_ID_PREFIX + writeCounter.toString(36);
}

/** What a save builds on: the version it read (0: not stored yet), that version's JSON and owner. */
export interface Base {
  version: number;
  json: string;
  userId?: string;
}

/** How one conditional attempt ended. */
export type Attempt =
  | { kind: 'stored'; version: number | undefined }
  /** The session was destroyed (or expired) meanwhile: nothing written, and nothing may be. */
  | { kind: 'gone' }
  /** An earlier attempt of this write landed, its answer was lost, and the SDK sent it again. */
  | { kind: 'own' }
  /** Another request's write is stored: `old` is the item as it is now. */
  | { kind: 'newer'; old: Item };

/** Unlocked saves merge what another request stored meanwhile: `optimistic`, and `auto`'s safe methods. */
export const merges = (ctx: RequestContext): boolean => ctx.config.locking === 'optimistic' || ctx.config.locking === 'auto';

/** Refuses, with nothing written, data that would make the item pass DynamoDB's 400 KB limit. */
export function guardSize(ctx: RequestContext, id: string, key: string, dataBytes: number, userId: string | null | undefined): void {
  const size = itemSize(key, dataBytes, userId ?? undefined);
  if (size > MAX_ITEM_BYTES) {
    throw new SessionTooLargeError(
      `session ${idTag(id)} would be a ${size}-byte item in table "${ctx.config.table}", over DynamoDB's ${MAX_ITEM_BYTES}-byte limit: nothing was written and the stored session is unchanged; keep large data elsewhere (e.g. S3) and store a reference${ctx.config.compression ? '' : ', or enable compression'}`,
      size,
      MAX_ITEM_BYTES,
    );
  }
}

/**
 * One save of a session item: its data, expiry and owner, built once, sent by
 * the save strategies (concurrency/save-*.ts) under the condition their mode
 * needs. Every attempt carries a fresh `writeId`, so that a retry the SDK
 * makes after a lost answer recognises its own write instead of taking it for
 * a concurrent one (equal data would not tell: two requests that both turn 5
 * into 6 write equal data, and the second is still a conflict).
 */
export class ItemWrite {
  /** The JSON this write stores: the request's, or its merge with a newer version. */
  json: string;
  private bytes: Buffer;
  private readonly set: string[];
  private readonly removeUser: string[];
  private readonly values: Record<string, AttributeValue>;

  constructor(
    private readonly ctx: RequestContext,
    readonly id: string,
    readonly key: string,
    json: string,
    bytes: Buffer,
    expiresAtMs: number,
    /** The session's owner to store: a string, null to remove it, undefined to leave it. */
    private readonly userId: string | null | undefined,
    /** The creation time to store if the item has none yet; undefined for a session loaded from the table (it has one). */
    createdAt: number | undefined,
    /** Where the session was created from (`trackDevices`), written with its first save. */
    device?: { userAgent?: string | undefined; ip?: string | undefined },
  ) {
    this.json = json;
    this.bytes = bytes;
    this.values = {
      // The TTL attribute takes whole seconds: rounded up, so TTL never deletes a session before its exact expiry.
      ':exp': { N: String(Math.ceil(expiresAtMs / 1000)) },
      ':expMs': { N: String(expiresAtMs) },
      ':now': { N: String(Date.now()) },
      ':one': { N: '1' },
    };
    // Each clause of these expressions is parsed on every request by the engine (DynamoDB Local
    // measurably so): an item that was read has its createdAt already, and a comparison with a
    // missing attribute is false, so `version = :v` alone says the item exists.
    this.set = ['#data = :data', 'expiresAt = :exp', 'expiresAtMs = :expMs', 'updatedAt = :now', 'writeId = :wid'];
    if (createdAt !== undefined) {
      this.set.push('createdAt = if_not_exists(createdAt, :created)');
      this.values[':created'] = { N: String(createdAt) };
    }
    // Only the first 512 characters of each: enough to tell devices apart, too little to bloat an item billed per KB.
    if (device?.userAgent) {
      this.set.push('userAgent = :ua');
      this.values[':ua'] = { S: device.userAgent.slice(0, 512) };
    }
    if (device?.ip) {
      this.set.push('ip = :ip');
      this.values[':ip'] = { S: device.ip.slice(0, 64) };
    }
    this.removeUser = userId === null ? ['userId'] : [];
    if (typeof userId === 'string') {
      this.set.push('userId = :user');
      this.values[':user'] = { S: userId };
    }
  }

  /** Stores `json` instead from now on (a merge's result), re-framed and held to the size limit. */
  replace(json: string, storedUserId: string | undefined): void {
    const userId = this.userId ?? storedUserId;
    this.json = json;
    this.bytes = this.ctx.codec.frame(json, itemBytesBesideData(this.key, userId));
    guardSize(this.ctx, this.id, this.key, this.bytes.length, userId);
  }

  /** No base to build on (a caller outside any request): the last writer wins, as with a plain Put. */
  async upsert(): Promise<void> {
    this.values[':data'] = { B: this.bytes };
    this.values[':wid'] = { S: nextWriteId() };
    this.values[':zero'] = { N: '0' };
    await updateItem(this.ctx, this.key, this.expression('version = if_not_exists(version, :zero) + :one', []), undefined, this.values);
    this.ctx.decoded.set(this.key, this.values[':wid'].S, this.json);
  }

  /**
   * One conditional attempt on `base`. `condition` may use `:v` (the base
   * version), `:nowSec` and `:owner`; the version becomes `base + 1`, or is
   * incremented where it stands (`increment`, last-writer-wins). `owner`
   * fences the write with a lease, which the same write gives back.
   */
  async attempt(condition: string, base: number, options: { increment?: boolean; owner?: string } = {}): Promise<Attempt> {
    const { expression, values, increment } = this.prepare(base, options);
    try {
      const stored = await updateItem(this.ctx, this.key, expression, condition, values, increment);
      this.landed(base);
      return { kind: 'stored', version: stored ?? base + 1 };
    } catch (err) {
      if (!isConditionalFailure(err)) throw err;
      return this.failed(await this.ctx.gateway.itemAfterConditionFailure(err, this.key), base);
    }
  }

  /**
   * The attempt's UpdateItem as a TransactWriteItems entry (a login that must
   * count the user's sessions in the same transaction: save-user-limit.ts).
   */
  transactUpdate(condition: string, base: number, options: { owner?: string } = {}) {
    const { expression, values } = this.prepare(base, options);
    return {
      TableName: this.ctx.config.table,
      Key: { sessionId: { S: this.key } },
      UpdateExpression: expression,
      ConditionExpression: condition,
      ...(expression.includes('#data') ? { ExpressionAttributeNames: { '#data': 'data' } } : {}),
      ExpressionAttributeValues: usedValues(values, expression, condition),
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
    };
  }

  /** How an attempt whose condition failed ended, from the item it found (`old`). */
  failed(old: Item | undefined, base: number): Attempt {
    if (!old || isExpired(old)) {
      this.ctx.statsData.destroyedWhileInUse += 1;
      return { kind: 'gone' };
    }
    if (old.writeId?.S === this.values[':wid']!.S) {
      this.landed(base);
      return { kind: 'own' };
    }
    return { kind: 'newer', old };
  }

  /** The transaction that carried `transactUpdate` landed. */
  landed(base: number): void {
    this.ctx.decoded.set(this.key, this.values[':wid']!.S, this.json);
    if (merges(this.ctx)) this.ctx.latest.set(this.key, { version: base + 1, json: this.json });
  }

  private prepare(base: number, options: { increment?: boolean; owner?: string }): { expression: string; values: Record<string, AttributeValue>; increment: boolean } {
    const values = this.values;
    values[':data'] = { B: this.bytes };
    values[':wid'] = { S: nextWriteId() };
    values[':nowSec'] = { N: String(nowSeconds()) };
    values[':v'] = { N: String(base) };
    values[':nv'] = { N: String(base + 1) };
    if (options.owner !== undefined) values[':owner'] = { S: options.owner };
    const increment = options.increment === true && base !== 0;
    const remove = options.owner !== undefined ? ['lockOwner', 'lockExpiresAt'] : [];
    return { expression: this.expression(increment ? 'version = version + :one' : 'version = :nv', remove), values, increment };
  }

  private expression(versionExpr: string, remove: string[]): string {
    const removed = [...remove, ...this.removeUser];
    return `SET ${[...this.set, versionExpr].join(', ')}${removed.length > 0 ? ` REMOVE ${removed.join(', ')}` : ''}`;
  }
}
