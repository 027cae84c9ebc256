/**
 * One conditional write of a session item (ItemWrite): built once, sent by the
 * save strategies under a guard (write-plan.ts), settled when its answer is
 * lost (write-outcome.ts).
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { SessionIdTakenError } from '../errors.js';
import { chunkCount, CHUNKED_DATA, chunksExpiry, fitsOneItem, hasChunks, putChunks, split } from './chunks.js';
import { isConditionalFailure, sdkAttempts } from '../aws/errors.js';
import { isExpired, itemBytesBesideData, nowSeconds, type Item } from './item.js';
import { idTag } from './session-id.js';
import type { RequestContext } from './store-context.js';
import { updateItem } from './update-item.js';
import { findWrite, nextWriteId, writeIdsOf, writeIdsValue } from './write-history.js';
import { foundAfter, readAfter, unknownOutcome, type Attempt } from './write-outcome.js';
import { CHUNK_ATTRIBUTES, guardSize, NO_CHUNKS, ownerOf, planOf, transactItems, type Entries, type Guard, type Plan } from './write-plan.js';

export { CREATING, guardSize, type Guard } from './write-plan.js';
export type { Attempt } from './write-outcome.js';

/** What a save builds on: the version it read (0: not stored yet), that version's JSON and owner. */
export interface Base {
  version: number;
  json: string;
  userId?: string;
}

/** Unlocked saves merge what another request stored meanwhile: `optimistic`, and `auto`'s safe methods. */
export const merges = (ctx: RequestContext): boolean => ctx.config.locking === 'optimistic' || ctx.config.locking === 'auto';

/**
 * One save of a session item: its data, expiry and owner, built once, sent by
 * the save loop (save-loop.ts) and the user limit's save (save-user-limit.ts) under the condition their mode
 * needs. Every attempt carries a fresh `writeId`, fixed before the SDK first
 * sends it, so that a retry after a lost answer recognises its own write
 * instead of taking it for a concurrent one (equal data would not tell: two
 * requests that both turn 5 into 6 write equal data, and the second is still
 * a conflict), even under later writes (write-history.ts). When the attempts
 * run out with no answer, the item is read before the request is answered.
 */
export class ItemWrite {
  /** The JSON this write stores: the request's, or its merge with a newer version. */
  json: string;
  private bytes: Buffer;
  /** What is known of the stored item: its version and how many chunk items it has (chunks.ts). */
  private stored: { version: number; chunks: number } | undefined;
  /** The owner stored with the version this write builds on (where `userId` leaves it). */
  private storedUserId: string | undefined;
  /** The write ids the stored item vouches for (write-history.ts), at its version. */
  private below: { version: number; ids: string[] } | undefined;
  private cut: { bytes: Buffer; parts: Buffer[] | undefined } | undefined;
  /** The plan of the last attempt prepared: what `landed` records. */
  private planned: Plan | undefined;
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
    this.set = ['#data = :data', 'expiresAt = :exp', 'expiresAtMs = :expMs', 'updatedAt = :now', 'writeId = :wid', 'writeIds = :wids'];
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

  /** The version this write builds on, as loaded: its chunk count (undefined: not known), owner and write ids. */
  knowStored(version: number, chunks: number | undefined, userId: string | undefined, writeIds: string[] | undefined): void {
    this.stored = chunks === undefined ? undefined : { version, chunks };
    this.storedUserId = userId;
    this.below = writeIds === undefined ? undefined : { version, ids: writeIds };
  }

  /** The id the last attempt was sent with: its transaction's ClientRequestToken too. */
  get writeId(): string {
    return this.values[':wid']!.S!;
  }

  /** How many chunk items the stored item has at `version`, when known. */
  chunksAt(version: number): number | undefined {
    return this.stored?.version === version ? this.stored.chunks : undefined;
  }

  /** Stores `json` instead from now on (a merge's result), re-framed and held to the size limit. */
  replace(json: string, storedUserId: string | undefined): void {
    this.storedUserId = storedUserId;
    const userId = this.userId ?? storedUserId;
    this.json = json;
    this.bytes = this.ctx.codec.frame(json, itemBytesBesideData(this.key, userId), this.key);
    guardSize(this.ctx, this.id, this.key, this.bytes.length, userId);
  }

  /**
   * No base to build on (a caller outside any request): the last writer wins,
   * as with a plain Put. One UpdateItem, after the chunks when the session
   * needs them. A write of one item is conditional on the stored one having
   * no chunks (the common case, where nothing is to be removed); when it has,
   * the write removes their attributes, and the chunks expire.
   */
  async upsert(): Promise<void> {
    for (;;) {
      const parts = this.parts();
      const guess = this.stored?.chunks ?? 0;
      const plan: Plan = { condition: parts || guess > 0 ? '' : NO_CHUNKS, parts, clear: !parts && guess > 0, pinned: false };
      const { expression, values } = this.prepare(0, {}, plan, 'version = if_not_exists(version, :zero) + :one');
      const wid = this.writeId;
      // The version replaced is not known: the item vouches for this write alone.
      values[':wids'] = writeIdsValue(wid, []);
      if (parts) await putChunks(this.ctx, this.key, wid, parts, values[':chunksExp']!);
      try {
        await updateItem(this.ctx, this.key, expression, plan.condition || undefined, values);
        this.ctx.decoded.set(this.key, wid, this.json);
        return;
      } catch (err) {
        if (!isConditionalFailure(err)) {
          // Read before answering: a replace whose answer was lost may have landed.
          const now = await readAfter(this.ctx, this.id, this.key, err);
          if (now && writeIdsOf(now).includes(wid)) return;
          throw err;
        }
        const old = await this.ctx.gateway.itemAfterConditionFailure(err, this.key);
        // An earlier attempt of this very call landed (its answer lost), and the retry met it.
        if (old && writeIdsOf(old).includes(wid)) return;
        this.learn(old);
        // Not chunked after all (a stray attribute): remove what there is rather than ask again.
        if (this.stored && this.stored.chunks === 0) this.stored.chunks = 1;
      }
    }
  }

  /**
   * One conditional attempt on `base`. `condition` may use `:v` (the base
   * version), `:nowSec` and `:owner`; the version becomes `base + 1`, or is
   * incremented where it stands (`increment`, last-writer-wins). `owner`
   * fences the write with a lease, which the same write gives back. One
   * UpdateItem; a session past one item puts its chunks first, under this
   * attempt's write id, and the UpdateItem switches the head to them
   * (chunks.ts): no transaction.
   */
  async attempt(guard: Guard, base: number, options: { increment?: boolean } = {}): Promise<Attempt> {
    const plan = this.plan(guard, base);
    const { expression, values, increment } = this.prepare(base, { ...options, ...ownerOf(guard) }, plan);
    // Refused or lost, nothing names these yet: the stored session is unchanged, and they expire.
    if (plan.parts) await putChunks(this.ctx, this.key, this.writeId, plan.parts, values[':chunksExp']!);
    try {
      const stored = await updateItem(this.ctx, this.key, expression, plan.condition, values, increment);
      this.landed(base);
      this.stored = { version: stored ?? base + 1, chunks: plan.parts?.length ?? 0 };
      return { kind: 'stored', version: stored ?? base + 1 };
    } catch (err) {
      if (!isConditionalFailure(err)) return this.settle(err, base);
      return this.failed(await foundAfter(this.ctx, this.id, this.key, err), base, sdkAttempts(err));
    }
  }

  /**
   * The attempt as TransactWriteItems entries, the head's Update last (a login
   * that must count the user's sessions in the same transaction:
   * save-user-limit.ts). `landed` or `failed` tells the write how it ended.
   */
  transactEntries(guard: Guard, base: number): Entries {
    return this.entries(this.plan(guard, base), base, ownerOf(guard));
  }

  /**
   * How an attempt whose condition failed ended, from the item it found
   * (`old`). `attempts`: how many times the SDK sent it. Above one, an earlier
   * send may have landed with its answer lost: the item's write ids tell.
   */
  failed(old: Item | undefined, base: number, attempts = 1): Attempt {
    this.learn(old);
    if (!old || isExpired(old)) {
      this.ctx.statsData.destroyedWhileInUse += 1;
      return { kind: 'gone' };
    }
    const found = findWrite(old, this.writeId, base);
    if (found === 'landed') {
      this.ctx.statsData.ownWritesFound += 1;
      this.landed(base);
      return { kind: 'own' };
    }
    // Sent once and refused, it did not land; sent more than once, only the ids can say it did not.
    if (found === 'unknown' && attempts > 1) throw unknownOutcome(this.ctx, this.id, 'more requests wrote the session since than its item remembers');
    // A new session's id is in use: another session's, which this one must never join (nor overwrite).
    if (base === 0) {
      throw new SessionIdTakenError(
        `new session ${idTag(this.id)} in table "${this.ctx.config.table}": its id is another live session's, so nothing was written; ` +
          'the id generator (genid) repeated itself: use 192 random bits or more',
      );
    }
    return { kind: 'newer', old };
  }

  /**
   * An attempt that ended without an answer (a time-out, a reset, DynamoDB
   * busy on every try): the item is read before the request is answered. This
   * write's id there means it landed, and the request succeeds; otherwise it
   * fails as it would have, with nothing of it stored.
   */
  async settle(err: unknown, base: number): Promise<Attempt> {
    const now = await readAfter(this.ctx, this.id, this.key, err);
    if (!now) {
      // Gone: destroyed meanwhile (with or without this write before it), or, for a first write, never created.
      if (base > 0) return this.failed(undefined, base);
      throw err;
    }
    if (findWrite(now, this.writeId, base) === 'landed') {
      this.learn(now);
      this.ctx.statsData.ownWritesFound += 1;
      this.landed(base);
      return { kind: 'own' };
    }
    throw err;
  }

  /** The transaction that carried `transactEntries` (or this write's own) landed. */
  landed(base: number): void {
    this.ctx.decoded.set(this.key, this.writeId, this.json);
    this.below = { version: base + 1, ids: (this.values[':wids']?.L ?? []).map((v) => v.S!) };
    if (merges(this.ctx)) this.ctx.latest.set(this.key, { version: base + 1, json: this.json, writeIds: this.below.ids });
    this.stored = { version: base + 1, chunks: this.planned?.parts?.length ?? 0 };
  }

  /** The next attempt builds on `version`, whose write ids are `ids` (a later save of this process's, from `latest`). */
  buildsOn(version: number, ids: string[]): void {
    this.below = { version, ids };
  }

  /** The write ids the item vouches for at `version`, when known: the base of the request's next save. */
  idsAt(version: number): string[] | undefined {
    return this.below?.version === version ? this.below.ids : undefined;
  }

  /** What the item found by a failed condition says of the stored version. */
  private learn(old: Item | undefined): void {
    // A head claiming chunks it does not name counts as chunked: a write of one item removes the claim.
    this.stored = old ? { version: Number(old.version?.N ?? 0), chunks: hasChunks(old) ? Math.max(1, chunkCount(old)) : 0 } : undefined;
    this.below = old ? { version: Number(old.version?.N ?? 0), ids: writeIdsOf(old) } : undefined;
  }

  /** The frame cut into chunks, or undefined when it fits the item itself. */
  private parts(): Buffer[] | undefined {
    if (this.cut?.bytes !== this.bytes) {
      const userId = typeof this.userId === 'string' ? this.userId : this.userId === null ? undefined : this.storedUserId;
      this.cut = { bytes: this.bytes, parts: fitsOneItem(this.key, this.bytes.length, userId) ? undefined : split(this.bytes) };
    }
    return this.cut.parts;
  }

  /** How to write under `guard` on `base` (write-plan.ts). */
  private plan(guard: Guard, base: number): Plan {
    return planOf(guard, base, this.parts(), this.stored);
  }

  /** The login transaction's entries (save-user-limit.ts): this write's chunks, then its head. */
  private entries(plan: Plan, base: number, options: { owner?: string }): Entries {
    const { expression, values } = this.prepare(base, options, plan);
    return transactItems(this.ctx.config.table, this.key, this.writeId, plan, expression, values);
  }

  private prepare(
    base: number,
    options: { increment?: boolean; owner?: string },
    plan: Plan,
    versionExpr?: string,
  ): { expression: string; values: Record<string, AttributeValue>; increment: boolean } {
    this.planned = plan;
    const values = this.values;
    const wid = nextWriteId();
    values[':data'] = { B: plan.parts ? CHUNKED_DATA : this.bytes };
    values[':wid'] = { S: wid };
    // On top of the version replaced, when the condition names it; otherwise this write alone.
    values[':wids'] = writeIdsValue(wid, plan.pinned && this.below?.version === base ? this.below.ids : []);
    values[':nowSec'] = { N: String(nowSeconds()) };
    values[':v'] = { N: String(base) };
    values[':nv'] = { N: String(base + 1) };
    values[':zero'] = { N: '0' };
    values[':chunked'] = { B: CHUNKED_DATA };
    if (options.owner !== undefined) values[':owner'] = { S: options.owner };
    const increment = options.increment === true && base !== 0;
    const remove = options.owner !== undefined ? ['lockOwner', 'lockExpiresAt'] : [];
    const set: string[] = [];
    if (plan.parts) {
      set.push('chunkItems = :parts', 'chunkBytes = :frameBytes', 'chunksExpireAt = :chunksExp');
      values[':parts'] = { N: String(plan.parts.length) };
      values[':frameBytes'] = { N: String(this.bytes.length) };
      values[':chunksExp'] = { N: String(chunksExpiry(Number(values[':exp']!.N))) };
      // A head of the release before names its chunks by `chunks`, which would win over these.
      remove.push('chunks');
    } else if (plan.clear) {
      remove.push(...CHUNK_ATTRIBUTES);
    }
    return { expression: this.expression(versionExpr ?? (increment ? 'version = version + :one' : 'version = :nv'), remove, set), values, increment };
  }

  private expression(versionExpr: string, remove: string[], set: string[] = []): string {
    const removed = [...remove, ...this.removeUser];
    return `SET ${[...this.set, ...set, versionExpr].join(', ')}${removed.length > 0 ? ` REMOVE ${removed.join(', ')}` : ''}`;
  }
}
