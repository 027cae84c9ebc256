import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import {
  DeleteItemCommand,
  GetItemCommand,
  ScanCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { resolveConfig, type ResolvedConfig, type SessionStoreOptions } from '../config/options.js';
import { createDynamoDBClient, describeTarget } from '../aws/client.js';
import { createCodec, type Codec } from '../codec/codec.js';
import { mergeSessions } from '../concurrency/merge.js';
import { acquireLease, startRenewal, stopRenewal, type Lease } from '../concurrency/lease-lock.js';
import { KeyedMutex } from '../concurrency/local-queue.js';
import { CorruptSessionError, LockTimeoutError, SessionStoreError, SessionTooLargeError, StoreUnavailableError } from '../errors.js';
import { ensureTable, type EnsureTableResult } from '../table/ensure-table.js';
import { Gateway, isConditionalFailure } from './gateway.js';
import { isExpired, itemBytesBesideData, itemSize, MAX_ITEM_BYTES, nowSeconds, readItem, type Item, type StoredSession } from './item.js';
import { defaultLogger, type Logger } from './logger.js';
import { checkSessionId, idTag, keyFor } from './session-id.js';
import { emptyStats, type StoreStats } from './stats.js';
import { DecodedCache } from './decoded-cache.js';
import { purgeExpired as purge, type PurgeOptions, type PurgeProgress } from './purge.js';
import { startReaper, type Reaper } from './reaper.js';
import { deleteKeys, destroyUserSessions as destroyUser } from './user-sessions.js';

export type SessionData = Record<string, unknown>;

/** Methods that only read (RFC 9110, 9.2.1): under `locking: 'auto'` they take no lease. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/**
 * The `:value` placeholders an expression and condition use: DynamoDB refuses
 * values the expressions do not name. A store only ever builds a handful of
 * distinct expressions, so each is scanned once.
 */
const placeholderCache = new Map<string, readonly string[]>();
function placeholders(expression: string, condition: string | undefined): readonly string[] {
  const text = condition === undefined ? expression : `${expression} ${condition}`;
  let names = placeholderCache.get(text);
  if (!names) {
    names = [...new Set(text.match(/:[A-Za-z0-9_]+/g))];
    if (placeholderCache.size < 256) placeholderCache.set(text, names);
  }
  return names;
}

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

/**
 * What one request loaded: the base of its save. Adapters keep it beside the
 * request and hand it back to `commit`, `touch` or `release`.
 */
export interface SessionHandle {
  readonly id: string;
  readonly key: string;
  /** Version loaded (the condition of the save). */
  version: number;
  /** The JSON loaded: the merge base, and what "unchanged" is measured against. */
  json: string;
  /** Stored expiry, epoch ms, exact (the TTL attribute holds its second, rounded up). */
  expiresAtMs: number;
  createdAt: number;
  userId?: string;
  lease?: Lease;
  releaseLocal?: () => void;
  settled: boolean;
  /** The version stored after this request's last write (or its load): what the client may require next time. */
  storedVersion: number;
}

export interface LoadedSession {
  data: SessionData;
  handle: SessionHandle;
}

export interface LoadOptions {
  /**
   * Take a pessimistic lease for this request. Default: the `locking` mode
   * decides (`pessimistic`: yes; `auto`: when `method` is not a safe one; else no).
   */
  lock?: boolean;
  /** The request's HTTP method, for `locking: 'auto'`. A load without one (no request) takes no lease in `auto`. */
  method?: string;
  /**
   * The version of this session's last write the client saw (from the
   * adapter's version cookie). With `consistentRead: false` it permits an
   * eventually consistent read, checked against it; without it reads are strong.
   */
  minVersion?: number;
}

export interface CommitOptions {
  /** When the session expires: a Date or epoch ms; default now + `ttl`. */
  expires?: Date | number | null;
  /** Owner of the session for the user index (`destroyUserSessions`); null removes it. */
  userId?: string | null;
  /** @internal `JSON.stringify(data)`, when an adapter's change check computed it already. */
  json?: string;
}

export interface TouchOptions extends Pick<CommitOptions, 'expires'> {
  /**
   * The session as the request left it, when the framework judged it unchanged:
   * checked for values JSON would drop (a function, a symbol), which a text
   * comparison cannot see; such a value is a SessionSerializationError, not a
   * silent loss.
   */
  data?: SessionData;
}

export type CommitOutcome = 'written' | 'merged' | 'unchanged' | 'touched' | 'destroyed';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The session's owner for the user index: a field name (dots for nesting) or a function. */
function userIdOf(data: SessionData, rule: string | ((data: SessionData) => unknown)): string | null {
  const value = typeof rule === 'function' ? rule(data) : rule.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), data);
  if (typeof value === 'number') return String(value);
  return typeof value === 'string' && value !== '' ? value : null;
}

/**
 * Web-session state in one DynamoDB table, shared by every server that points
 * at it. Framework-agnostic: the adapters in `adapters/` map their framework's
 * session API onto `load` → `commit`/`touch`/`release` and `destroy`.
 *
 * What a request costs: one GetItem (or, when locked, one UpdateItem) to load;
 * one conditional write if the data changed; nothing more unless the expiry is
 * due a refresh (`touchAfter`).
 */
export class SessionStore extends EventEmitter {
  readonly config: ResolvedConfig;
  readonly client: DynamoDBClient;
  readonly logger: Logger;
  /** @internal Every DynamoDB call goes through it (tools such as purge and the CLI use it too). */
  readonly gateway: Gateway;
  /** @internal */
  readonly codec: Codec;
  /** @internal */
  readonly statsData = emptyStats();
  private readonly lockQueue = new KeyedMutex();
  private readonly writeQueue = new KeyedMutex();
  private readonly target: string;
  private readyPromise: Promise<EnsureTableResult | undefined> | undefined;
  private readonly ownsClient: boolean;
  /** Handles holding this process's turn on a session key: a destroy must end them. */
  private readonly leased = new Map<string, SessionHandle>();
  /**
   * What this process last wrote for a session while more saves of it were
   * queued here: the next one merges against it before its first attempt
   * instead of spending a write that is sure to fail its version condition.
   */
  private readonly latest = new Map<string, { version: number; json: string }>();
  private probe: NodeJS.Timeout | undefined;
  /** Skips inflating and decrypting an item this process decoded or wrote already (same writeId). */
  private readonly decoded = new DecodedCache(16 * 1024 * 1024);
  private reaper: Reaper | undefined;
  private closed = false;

  constructor(options: SessionStoreOptions = {}) {
    super();
    this.config = resolveConfig(options);
    this.logger = this.config.logger ?? defaultLogger;
    this.ownsClient = this.config.client === undefined;
    this.client = createDynamoDBClient(this.config, this.logger);
    this.target = describeTarget(this.config);
    this.codec = createCodec(this.config);
    this.gateway = new Gateway(this.client, this.statsData, { table: this.config.table, target: this.target, endpoint: this.config.endpoint }, this.config.returnConsumedCapacity);
    this.gateway.on('engine-omits-item', (engine: string | undefined) => {
      this.logger.warn(
        { table: this.config.table, target: this.target, engine },
        `${engine ?? 'this DynamoDB engine'} returns no item with a failed conditional write (ReturnValuesOnConditionCheckFailure): the store reads the session with a strongly consistent GetItem after each such failure instead, so nothing is lost; it costs one more read per conflict`,
      );
    });
    this.gateway.on('disconnect', (err: Error) => {
      // Calls still in flight when the store closed fail on its closed client: not an outage.
      if (this.closed) return;
      this.logger.error({ table: this.config.table, target: this.target, reason: err?.name }, 'DynamoDB became unreachable: session requests fail with 503 until it answers again');
      this.emit('disconnect', err);
      this.startProbe();
    });
    this.gateway.on('connect', () => {
      this.stopProbe();
      this.logger.warn({ table: this.config.table, target: this.target }, 'DynamoDB answers again');
      this.emit('connect');
    });
    // For engines without TTL: one reaper at a time across processes (a lease item decides which).
    if (this.config.reapIntervalMs > 0) this.reaper = startReaper(this, { intervalMs: this.config.reapIntervalMs });
  }

  /**
   * Checks the table (DescribeTable), creating it when absent and
   * `createIfNotExist`, and enables TTL. Runs once; every other method waits
   * for it. A failure from an outage is forgotten so the next call retries.
   */
  ready(): Promise<EnsureTableResult | undefined> {
    if (!this.readyPromise) {
      this.readyPromise = this.config.skipTableCheck
        ? Promise.resolve(undefined)
        : ensureTable(this.gateway, this.config, this.target, this.logger);
      this.readyPromise.catch((err: unknown) => {
        if (err instanceof StoreUnavailableError) this.readyPromise = undefined;
        else this.logger.error({ table: this.config.table, code: (err as SessionStoreError).code }, (err as Error).message);
      });
    }
    return this.readyPromise;
  }

  /**
   * What this store's client has learned of the engine behind it: its name (as
   * its answers tell) and whether a failed conditional write returns the item
   * it found (undefined until one has been seen; `doctor` finds out at once).
   */
  engine(): { name?: string; returnsItemOnConditionFailure?: boolean } {
    return { ...this.gateway.engine };
  }

  /** A copy of the store's counters: DynamoDB calls, capacity, conflicts, lock waits. */
  stats(): StoreStats {
    return structuredClone(this.statsData);
  }

  /** Table key of a session id (its HMAC when `hashSessionIds`). */
  keyOf(id: string): string {
    checkSessionId(id);
    return keyFor(id, this.config.hashSessionIds);
  }

  // ---- request-scoped API (adapters) ----

  /**
   * Loads a session: one strongly consistent GetItem, or, when locking, one
   * UpdateItem that takes the lease and returns the item. Expired, missing and
   * corrupt sessions come back as null.
   */
  async load(id: string, options: LoadOptions = {}): Promise<LoadedSession | null> {
    const key = this.keyOf(id);
    await this.ready();
    const lock = options.lock ?? this.locksByDefault(options.method);
    if (lock) return this.loadLocked(id, key);
    // An eventually consistent read may miss recent writes: only safe when the client says which
    // version it last saw, so that an older answer can be caught and read again.
    const eventual = !this.config.consistentRead && options.minVersion !== undefined;
    const read = (consistent: boolean) =>
      this.gateway.send<{ Item?: Item }>('GetItem', new GetItemCommand({ TableName: this.config.table, Key: { sessionId: { S: key } }, ConsistentRead: consistent }));
    let out = await read(!eventual);
    if (eventual && Number(out.Item?.version?.N ?? 0) < options.minVersion!) {
      this.statsData.staleReads += 1;
      out = await read(true);
    }
    if (!out.Item || isExpired(out.Item)) return null;
    return this.open(id, out.Item);
  }

  /**
   * Whether a request of this method takes a lease when no rule says: always
   * in `pessimistic`; in `auto`, unless the method is safe (RFC 9110: GET,
   * HEAD, OPTIONS, TRACE read and must not change state, so their rare writes
   * merge), as memcached-session-manager's lockingMode="auto".
   */
  locksByDefault(method: string | undefined): boolean {
    if (this.config.locking === 'pessimistic') return true;
    if (this.config.locking !== 'auto' || method === undefined) return false;
    return !SAFE_METHODS.has(method.toUpperCase());
  }

  /**
   * The handle of a session a request is creating, not stored yet: its first
   * save is conditional on no item existing, and a later save in the same
   * request (an app's explicit save(), then the adapter's at the end) builds
   * on it instead of writing the same data twice.
   */
  newHandle(id: string): SessionHandle {
    // Version 0 never exists in the table: stored versions start at 1.
    return { id, key: this.keyOf(id), version: 0, json: '', expiresAtMs: 0, createdAt: 0, settled: false, storedVersion: 0 };
  }

  /**
   * A reload by the request that holds the session: `fresh` (read without a
   * lease) becomes the holder's base, and the holder keeps its lease, so a
   * reload never waits for the request's own lock.
   */
  rebase(holder: SessionHandle, fresh: SessionHandle): SessionHandle {
    holder.version = fresh.version;
    holder.storedVersion = fresh.storedVersion;
    holder.json = fresh.json;
    holder.expiresAtMs = fresh.expiresAtMs;
    holder.createdAt = fresh.createdAt;
    if (fresh.userId === undefined) delete holder.userId;
    else holder.userId = fresh.userId;
    return holder;
  }

  private async loadLocked(id: string, key: string): Promise<LoadedSession | null> {
    const started = Date.now();
    const releaseLocal = await this.acquireLocal(key, id, started);
    try {
      const { item, lease } = await acquireLease(
        this.gateway,
        key,
        { table: this.config.table, leaseMs: this.config.lockLeaseMs, maxWaitMs: this.config.maxLockWaitMs, idTag: idTag(id) },
        this.statsData,
        started,
      );
      if (!item || !lease) {
        releaseLocal();
        return null;
      }
      // The lease's condition checks the TTL second; the exact expiry may have passed within it.
      const loaded = isExpired(item) ? null : await this.open(id, item);
      if (!loaded) {
        await this.releaseLease(key, lease);
        releaseLocal();
        return null;
      }
      loaded.handle.lease = lease;
      loaded.handle.releaseLocal = releaseLocal;
      this.leased.set(key, loaded.handle);
      startRenewal(this.gateway, key, lease, { table: this.config.table, leaseMs: this.config.lockLeaseMs });
      return loaded;
    } catch (err) {
      releaseLocal();
      throw err;
    }
  }

  private async acquireLocal(key: string, id: string, started: number): Promise<() => void> {
    const pending = this.lockQueue.acquire(key);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.statsData.lockTimeouts += 1;
        // The queue still hands us the turn later; give it straight back.
        void pending.then((release) => release());
        reject(
          new LockTimeoutError(
            `session ${idTag(id)} in table "${this.config.table}": earlier requests of this process held it for ${this.config.maxLockWaitMs} ms (maxLockWaitMs): answer 503 and let the client retry`,
            1,
          ),
        );
      }, this.config.maxLockWaitMs);
    });
    try {
      const release = await Promise.race([pending, timeout]);
      if (Date.now() - started > 1) {
        this.statsData.lockWaits += 1;
        this.statsData.lockWaitMs += Date.now() - started;
      }
      return release;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Decodes an item into a handle; a corrupt item is logged (id hashed), maybe deleted, and reads as no session. */
  private async open(id: string, item: Item): Promise<LoadedSession | null> {
    let stored: StoredSession;
    let json: string;
    let data: SessionData;
    try {
      stored = readItem(item);
      const writeId = item.writeId?.S;
      const cached = this.decoded.get(stored.key, writeId);
      json = cached ?? this.codec.unframe(stored.data);
      if (cached === undefined) this.decoded.set(stored.key, writeId, json);
      else this.statsData.decodeCacheHits += 1;
      data = this.codec.parse(json);
    } catch (err) {
      this.statsData.corruptItems += 1;
      const reason = err instanceof CorruptSessionError ? err.message : String(err);
      this.logger.warn(
        { table: this.config.table, session: idTag(id), reason },
        this.config.deleteCorruptSessions
          ? 'corrupt session item deleted (deleteCorruptSessions); the client gets a new session'
          : 'corrupt session item ignored; the client gets a new session (set deleteCorruptSessions: true to delete such items)',
      );
      if (this.config.deleteCorruptSessions) {
        await this.gateway.send('DeleteItem', new DeleteItemCommand({ TableName: this.config.table, Key: { sessionId: { S: this.keyOf(id) } } }));
      }
      return null;
    }
    return {
      data,
      handle: {
        id,
        key: stored.key,
        version: stored.version,
        json,
        expiresAtMs: stored.expiresAtMs,
        createdAt: stored.createdAt,
        ...(stored.userId !== undefined ? { userId: stored.userId } : {}),
        settled: false,
        storedVersion: stored.version,
      },
    };
  }

  /**
   * Ends a request that may have changed the session. Unchanged data → no data
   * write (only an expiry refresh when due, and the lease released). Changed →
   * one conditional write on the loaded version; if another request wrote in
   * between, a three-way merge and a retry. A destroyed session stays destroyed.
   */
  async commit(handle: SessionHandle | null | undefined, id: string, data: SessionData, options: CommitOptions = {}): Promise<CommitOutcome> {
    const key = this.keyOf(id);
    if (handle && handle.id !== id) handle = undefined;
    const json = this.jsonOf(handle, data, options.json);
    const expiresAtMs = this.expiryMs(options.expires);
    // A second save in the same request (an app calling save() itself, then the adapter at the end):
    // the first one's result is its base, so it merges like any other save and cannot resurrect a destroyed session.
    if (handle && handle.settled) handle = { ...handle, settled: false, lease: undefined, releaseLocal: undefined };
    if (options.userId === undefined && this.config.userId) options = { ...options, userId: userIdOf(data, this.config.userId) };
    if (handle && json === handle.json && (options.userId === undefined || (options.userId ?? undefined) === handle.userId)) {
      this.statsData.writesSkipped += 1;
      return this.refresh(handle, expiresAtMs);
    }
    const userId = options.userId ?? handle?.userId ?? undefined;
    const bytes = this.codec.frame(json, itemBytesBesideData(key, userId));
    this.guardSize(id, key, bytes.length, userId);
    await this.ready();
    const release = await this.writeQueue.acquire(key);
    try {
      return await this.write(handle ?? undefined, id, key, json, bytes, expiresAtMs, options.userId);
    } finally {
      release();
      if (this.writeQueue.idle(key)) this.latest.delete(key);
      if (handle) this.settle(handle);
    }
  }

  /**
   * The session's JSON, serialized once. Most requests change nothing: when
   * the plain JSON equals what was loaded, it is what is stored already and
   * needs no checking. Otherwise the checked serializer's type walk vets it,
   * and a value JSON cannot carry fails with SessionSerializationError.
   */
  private jsonOf(handle: SessionHandle | null | undefined, data: SessionData, known: string | undefined): string {
    let plain: string | undefined = known;
    try {
      plain ??= JSON.stringify(data);
    } catch {
      // A cycle, a BigInt, a throwing getter: the checked serializer says which and where.
      return this.codec.stringify(data);
    }
    if (plain === undefined) return this.codec.stringify(data);
    // Even when the text is what was loaded: JSON.stringify skips a function or a symbol the request
    // set, so an unchanged text can hide a value that would be lost. The walk costs about a fifth
    // of the stringify (1.2 against 5.3 µs for a 2 KB session).
    this.codec.check(data);
    return plain;
  }

  private async write(
    handle: SessionHandle | undefined,
    id: string,
    key: string,
    json: string,
    bytes: Buffer,
    expiresAtMs: number,
    userId: string | null | undefined,
  ): Promise<CommitOutcome> {
    const now = Date.now();
    const values: Record<string, AttributeValue> = {
      ':data': { B: bytes },
      // The TTL attribute takes whole seconds: rounded up, so TTL never deletes a session before its exact expiry.
      ':exp': { N: String(Math.ceil(expiresAtMs / 1000)) },
      ':expMs': { N: String(expiresAtMs) },
      ':now': { N: String(now) },
      ':one': { N: '1' },
    };
    // Each clause of these expressions is parsed on every request by the engine (DynamoDB Local
    // measurably so): an item that was read has its createdAt already, and a comparison with a
    // missing attribute is false, so `version = :v` alone says the item exists.
    const set = ['#data = :data', 'expiresAt = :exp', 'expiresAtMs = :expMs', 'updatedAt = :now', 'writeId = :wid'];
    if (!handle || !(handle.createdAt > 0)) set.push('createdAt = if_not_exists(createdAt, :now)');
    values[':wid'] = { S: nextWriteId() };
    const removeUser = userId === null ? ['userId'] : [];
    if (typeof userId === 'string') {
      set.push('userId = :user');
      values[':user'] = { S: userId };
    }
    const expression = (versionExpr: string, remove: string[]) =>
      `SET ${[...set, versionExpr].join(', ')}${remove.length > 0 ? ` REMOVE ${remove.join(', ')}` : ''}`;
    // No base: a new session (or a caller outside any request) upserts.
    if (!handle) {
      values[':zero'] = { N: '0' };
      await this.update(key, expression('version = if_not_exists(version, :zero) + :one', removeUser), undefined, values);
      return 'written';
    }
    let base: { version: number; json: string; userId?: string } = handle;
    let mineJson = json;
    let mineBytes = bytes;
    const lease = handle.lease;
    let fenced = lease !== undefined && !lease.lost && this.config.locking !== 'none';
    let merged = false;
    // Folds what is stored now (theirs) into this request's change; false when nothing is left to write.
    const absorb = (theirs: { version: number; json: string; userId?: string }, theirsData: SessionData): boolean => {
      this.statsData.versionConflicts += 1;
      // A session this request created has no stored base: everything in it is its own change.
      const baseData = base.version === 0 ? {} : this.codec.parse(base.json);
      const result = mergeSessions(baseData, this.codec.parse(mineJson), theirsData, this.config.onConflict);
      this.statsData.merges += 1;
      this.statsData.conflicts += result.conflicts.length;
      for (const c of result.conflicts) this.emit('conflict', { session: idTag(id), path: c.path });
      merged = true;
      base = theirs;
      mineJson = this.codec.stringify(result.value);
      const itemUserId = userId ?? base.userId ?? undefined;
      mineBytes = this.codec.frame(mineJson, itemBytesBesideData(key, itemUserId));
      this.guardSize(id, key, mineBytes.length, itemUserId);
      return mineJson !== base.json || fenced;
    };
    const known = this.merges && !fenced ? this.latest.get(key) : undefined;
    // Keeps the handle in step, so a later save of the same request builds on this one. After a
    // merge the app's copy lacks what was merged in: its base is what it saved, and a version that
    // matches nothing makes its next change merge with the stored state instead of overwriting it.
    const done = (outcome: CommitOutcome, version: number, storedJson: string): CommitOutcome => {
      handle.storedVersion = version;
      handle.version = outcome === 'merged' ? -1 : version;
      handle.json = outcome === 'merged' ? json : storedJson;
      return outcome;
    };
    if (known && known.version > base.version && !absorb(known, this.codec.parse(known.json))) return done('merged', base.version, base.json);
    for (let attempt = 1; ; attempt++) {
      values[':data'] = { B: mineBytes };
      // Marks this attempt's write: if its answer is lost and the SDK retries it, the failed
      // condition shows our own write rather than a concurrent one (equal data would not tell).
      values[':wid'] = { S: nextWriteId() };
      values[':nowSec'] = { N: String(nowSeconds()) };
      values[':v'] = { N: String(base.version) };
      let condition: string;
      if (base.version === 0) {
        // Created by this request: no other request can know its id yet, unless the cookie left early.
        condition = 'attribute_not_exists(sessionId)';
      } else if (this.config.locking === 'none') {
        // The seed's behaviour: last writer wins, but a logout still sticks.
        condition = 'expiresAt > :nowSec';
      } else if (fenced) {
        // Only the lease's owner may write, and only over what it loaded: a request
        // of an unlocked route may have saved meanwhile, and its change must merge.
        condition = 'lockOwner = :owner AND version = :v';
        values[':owner'] = { S: lease!.owner };
      } else {
        condition = 'version = :v AND expiresAt > :nowSec';
      }
      values[':nv'] = { N: String(base.version + 1) };
      const versionExpr = this.config.locking === 'none' && base.version !== 0 ? 'version = version + :one' : 'version = :nv';
      const remove = fenced ? ['lockOwner', 'lockExpiresAt', ...removeUser] : removeUser;
      try {
        const stored = await this.update(key, expression(versionExpr, remove), condition, values, this.config.locking === 'none');
        this.decoded.set(key, values[':wid']!.S, mineJson);
        if (this.merges) this.latest.set(key, { version: base.version + 1, json: mineJson });
        return done(merged ? 'merged' : 'written', stored ?? base.version + 1, mineJson);
      } catch (err) {
        if (!isConditionalFailure(err)) throw err;
        const old = await this.gateway.itemAfterConditionFailure(err, key);
        if (!old || isExpired(old)) {
          this.statsData.destroyedWhileInUse += 1;
          return 'destroyed';
        }
        if (old.writeId?.S === values[':wid']!.S) {
          // Our write landed but its answer was lost, and the SDK retried it: done, once.
          if (this.merges) this.latest.set(key, { version: base.version + 1, json: mineJson });
          return done(merged ? 'merged' : 'written', base.version + 1, mineJson);
        }
        if (fenced && old.lockOwner?.S !== lease!.owner) {
          this.logger.warn({ table: this.config.table, session: idTag(id) }, 'the lock lease ran out before the request ended: merging its changes instead of overwriting');
          lease!.lost = true;
          fenced = false;
          delete values[':owner'];
        }
        if (attempt >= this.config.maxSaveAttempts) {
          throw new StoreUnavailableError(
            `session ${idTag(id)} in table "${this.config.table}": ${attempt} save attempts all met a newer version: the change was not saved; retry the request, or use locking: 'pessimistic' for this route`,
          );
        }
        if (old.version?.N === String(base.version)) continue;
        const theirs = await this.open(id, old);
        if (!theirs) {
          this.statsData.destroyedWhileInUse += 1;
          return 'destroyed';
        }
        if (!absorb(theirs.handle, theirs.data)) return done('merged', base.version, base.json);
        this.statsData.retries += 1;
        // Back off only once contention persists: the first retry already holds the newest version.
        if (attempt > 1) await sleep(Math.random() * Math.min(100, 4 * 2 ** attempt));
      }
    }
  }

  /** Unlocked saves merge with what another request stored meanwhile (`optimistic`, and `auto`'s safe methods). */
  private get merges(): boolean {
    return this.config.locking === 'optimistic' || this.config.locking === 'auto';
  }

  private async update(
    key: string,
    expression: string,
    condition: string | undefined,
    values: Record<string, AttributeValue>,
    returnVersion = false,
  ): Promise<number | undefined> {
    const used: Record<string, AttributeValue> = {};
    for (const name of placeholders(expression, condition)) used[name] = values[name]!;
    const out = await this.gateway.send<{ Attributes?: Item }>(
      'UpdateItem',
      new UpdateItemCommand({
        TableName: this.config.table,
        Key: { sessionId: { S: key } },
        UpdateExpression: expression,
        ...(expression.includes('#data') ? { ExpressionAttributeNames: { '#data': 'data' } } : {}),
        ...(condition ? { ConditionExpression: condition, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const } : {}),
        ExpressionAttributeValues: used,
        // Only when the caller cannot know the new version (an unconditional increment); reading the answer is not billed.
        ...(returnVersion ? { ReturnValues: 'UPDATED_NEW' as const } : {}),
      }),
      { expectConditionFailure: condition !== undefined },
    );
    return out.Attributes?.version?.N !== undefined ? Number(out.Attributes.version.N) : undefined;
  }

  /**
   * Ends a request that did not change the session: refreshes the stored
   * expiry only when due (`touchAfter`), and releases the lease. The write is
   * conditional, so it can neither bring back a destroyed or expired session
   * nor shorten a later expiry.
   */
  async touch(handle: SessionHandle | null | undefined, id: string, options: TouchOptions = {}): Promise<CommitOutcome> {
    const key = this.keyOf(id);
    // The framework found nothing changed by comparing JSON text, which a function or symbol does not show up in.
    if (options.data !== undefined) this.codec.check(options.data);
    const expiresAtMs = this.expiryMs(options.expires);
    if (handle && handle.id === id && !handle.settled) return this.refresh(handle, expiresAtMs);
    await this.ready();
    return (await this.refreshWrite(key, expiresAtMs, undefined)) ? 'touched' : 'destroyed';
  }

  private async refresh(handle: SessionHandle, expiresAtMs: number): Promise<CommitOutcome> {
    try {
      const lifetimeSec = (expiresAtMs - Date.now()) / 1000;
      const touchAfter = this.config.touchAfter === 'auto' ? Math.floor(lifetimeSec / 10) : this.config.touchAfter;
      const due = expiresAtMs - handle.expiresAtMs >= Math.max(1, touchAfter) * 1000;
      const lease = handle.lease && !handle.lease.lost ? handle.lease : undefined;
      if (!due) {
        this.statsData.touchesSkipped += 1;
        if (lease) await this.releaseLease(handle.key, lease);
        return 'unchanged';
      }
      const ok = await this.refreshWrite(handle.key, expiresAtMs, lease);
      if (ok) handle.expiresAtMs = expiresAtMs;
      return ok ? 'touched' : 'destroyed';
    } finally {
      this.settle(handle);
    }
  }

  private async refreshWrite(key: string, expiresAtMs: number, lease: Lease | undefined): Promise<boolean> {
    const expiresAt = Math.ceil(expiresAtMs / 1000);
    try {
      await this.update(
        key,
        `SET expiresAt = :exp, expiresAtMs = :expMs, updatedAt = :now${lease ? ' REMOVE lockOwner, lockExpiresAt' : ''}`,
        // A missing attribute compares false: neither can match a deleted session.
        lease ? 'lockOwner = :owner' : 'expiresAt > :nowSec AND expiresAt < :exp',
        {
          ':exp': { N: String(expiresAt) },
          ':expMs': { N: String(expiresAtMs) },
          ':now': { N: String(Date.now()) },
          ':nowSec': { N: String(nowSeconds()) },
          ...(lease ? { ':owner': { S: lease.owner } } : {}),
        },
      );
      return true;
    } catch (err) {
      if (!isConditionalFailure(err)) throw err;
      const old = await this.gateway.itemAfterConditionFailure(err, key);
      if (!old || isExpired(old)) {
        this.statsData.destroyedWhileInUse += 1;
        return false;
      }
      // A later expiry is stored already, or our lease was taken over: nothing to do.
      return true;
    }
  }

  /** Gives up a request's lease without writing (a request that ended without saving). */
  async release(handle: SessionHandle | null | undefined): Promise<void> {
    if (!handle || handle.settled) return;
    try {
      if (handle.lease && !handle.lease.lost) await this.releaseLease(handle.key, handle.lease);
    } finally {
      this.settle(handle);
    }
  }

  private async releaseLease(key: string, lease: Lease): Promise<void> {
    stopRenewal(lease);
    try {
      await this.update(key, 'REMOVE lockOwner, lockExpiresAt', 'lockOwner = :owner', { ':owner': { S: lease.owner } });
    } catch (err) {
      if (!isConditionalFailure(err)) throw err;
    }
  }

  private settle(handle: SessionHandle): void {
    handle.settled = true;
    if (this.leased.get(handle.key) === handle) this.leased.delete(handle.key);
    if (handle.lease) stopRenewal(handle.lease);
    handle.releaseLocal?.();
    handle.releaseLocal = undefined;
  }

  /** Deletes a session. Any request still holding it finds it gone and does not bring it back. */
  async destroy(id: string, handle?: SessionHandle | null): Promise<void> {
    const key = this.keyOf(id);
    await this.ready();
    this.decoded.delete(key);
    try {
      await this.gateway.send('DeleteItem', new DeleteItemCommand({ TableName: this.config.table, Key: { sessionId: { S: key } } }));
    } finally {
      if (handle && handle.id === id) this.settle(handle);
      const holder = this.leased.get(key);
      if (holder) this.settle(holder);
    }
  }

  // ---- stateless API (express-session's Store contract and tools) ----

  /**
   * Deletes every session of a user ("log out everywhere"): a Query on
   * `userIndex` when configured, else a Scan of the table. Resolves to how many.
   */
  destroyUserSessions(userId: string): Promise<number> {
    return destroyUser(this, userId);
  }

  /** Deletes expired sessions now: a parallel Scan, then deletes that skip renewed or locked sessions. */
  purgeExpired(options?: PurgeOptions): Promise<PurgeProgress> {
    return purge(this, options);
  }

  /** The session's data, or null when missing, expired or corrupt. */
  async get(id: string): Promise<SessionData | null> {
    const loaded = await this.load(id, { lock: false });
    return loaded?.data ?? null;
  }

  /** Creates or replaces a session outside any request (no merge base: last writer wins). */
  async set(id: string, data: SessionData, options: CommitOptions = {}): Promise<void> {
    await this.commit(undefined, id, data, options);
  }

  /**
   * Every live session, keyed by table key (the raw id, or its HMAC with
   * `hashSessionIds`). A paginated Scan of the whole table: it reads every
   * item, so it costs read capacity in proportion to the table, not the result.
   */
  async all(): Promise<Record<string, SessionData>> {
    const out: Record<string, SessionData> = {};
    for await (const item of this.scan()) {
      const key = item.sessionId?.S;
      if (key === undefined) continue;
      try {
        const stored = readItem(item);
        out[key] = this.codec.parse(this.codec.unframe(stored.data));
      } catch {
        this.statsData.corruptItems += 1;
      }
    }
    return out;
  }

  /** Table keys of live sessions (a paginated Scan reading keys and expiry only). */
  async ids(): Promise<string[]> {
    const ids: string[] = [];
    for await (const item of this.scan('sessionId, expiresAt, expiresAtMs')) {
      if (item.sessionId?.S !== undefined) ids.push(item.sessionId.S);
    }
    return ids;
  }

  /** How many live sessions there are (a paginated Scan). */
  async length(): Promise<number> {
    return (await this.ids()).length;
  }

  /** Deletes every session in the table (a paginated Scan, then batched deletes). */
  async clear(): Promise<void> {
    const keys: string[] = [];
    for await (const item of this.scan('sessionId', true)) if (item.sessionId?.S !== undefined) keys.push(item.sessionId.S);
    await deleteKeys(this, keys);
  }

  private async *scan(projection?: string, includeExpired = false): AsyncGenerator<Item> {
    await this.ready();
    const nowMs = Date.now();
    const pages = this.gateway.pages<{ Items?: Item[] }>('Scan', (start) =>
      new ScanCommand({
        TableName: this.config.table,
        ConsistentRead: this.config.consistentRead,
        ...(projection ? { ProjectionExpression: projection } : {}),
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for await (const page of pages) for (const item of page.Items ?? []) if (includeExpired || !isExpired(item, nowMs)) yield item;
  }

  /**
   * While DynamoDB is unreachable, adapters stop sending requests its way, so
   * nothing would notice it coming back: a cheap read once a second does.
   */
  private startProbe(): void {
    // A closed store has nobody to tell, and each probe's request timer would keep the process alive.
    if (this.probe || this.closed) return;
    this.probe = setInterval(() => {
      void this.gateway
        .send('GetItem', new GetItemCommand({ TableName: this.config.table, Key: { sessionId: { S: 'dynamodb-session-manager:probe' } } }))
        .catch(() => undefined);
    }, 1000);
    this.probe.unref();
  }

  private stopProbe(): void {
    if (this.probe) clearInterval(this.probe);
    this.probe = undefined;
  }

  /** Stops timers and, when the store made its own client, closes its sockets. */
  async close(): Promise<void> {
    this.closed = true;
    this.stopProbe();
    await this.reaper?.stop();
    this.reaper = undefined;
    for (const handle of this.leased.values()) this.settle(handle);
    if (this.ownsClient) this.client.destroy();
  }

  /** When a session given `expires` ends, in epoch ms: exact; without one, `ttl` seconds from now. */
  private expiryMs(expires: Date | number | null | undefined): number {
    const ms = expires instanceof Date ? expires.getTime() : typeof expires === 'number' ? expires : Number.NaN;
    if (Number.isFinite(ms)) return ms;
    return Date.now() + this.config.ttl * 1000;
  }

  private guardSize(id: string, key: string, dataBytes: number, userId: string | null | undefined): void {
    const size = itemSize(key, dataBytes, userId ?? undefined);
    if (size > MAX_ITEM_BYTES) {
      throw new SessionTooLargeError(
        `session ${idTag(id)} would be a ${size}-byte item in table "${this.config.table}", over DynamoDB's ${MAX_ITEM_BYTES}-byte limit: nothing was written and the stored session is unchanged; keep large data elsewhere (e.g. S3) and store a reference${this.config.compression ? '' : ', or enable compression'}`,
        size,
        MAX_ITEM_BYTES,
      );
    }
  }
}
