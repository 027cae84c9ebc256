import { EventEmitter } from 'node:events';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { inspect } from 'node:util';
import type { ResolvedConfig, SessionStoreOptions } from '../config/options.js';
import { redactConfig, resolveConfig } from '../config/resolve-config.js';
import { createDynamoDBClient } from '../regions/store-client.js';
import { describeTarget } from '../aws/target.js';
import { KeyedMutex } from '../core/local-queue.js';
import { RequestLocks } from '../core/request-locks.js';
import { SessionStoreError, StoreUnavailableError } from '../errors.js';
import { ensureTable, type EnsureTableResult } from '../table/ensure-table.js';
import { defaultLogger, type Logger } from '../logger.js';
import { loadSession } from '../core/load-session.js';
import { purgeAttributes, purgeExpired as purge, type PurgeOptions, type PurgeProgress } from '../core/purge.js';
import { startReaper, type Reaper } from '../core/reaper.js';
import { reaperForStrongTable } from '../regions/multi-region.js';
import { newHandle, rebase, type CommitOutcome, type LoadedSession, type SessionData, type SessionHandle } from '../core/session-handle.js';
import { checkSessionId, handleFor, idTag, keyFor } from '../core/session-id.js';
import type { StoreStats } from '../core/stats.js';
import type { RequestContext } from '../core/store-context.js';
import { registerStoreSizes } from '../core/sizes.js';
import { describeUserSessions, destroyUserSessions as destroyUser, type UserSessionList } from '../core/user-sessions.js';
import { expiryOf } from '../core/lifecycle.js';
import { createContext } from '../core/store-parts.js';
import { destroyInFallback } from '../core/fallback.js';
import { describeCommit, describeLoad, telemetryOff, traced, tracedAdmin } from '../core/telemetry.js';
import { instrumentClient, loadTelemetry, PREFIX } from '../core/telemetry-metrics.js';
import { namedByHandle, type DestroyReason } from '../core/events.js';
import { deleteKey, endOwnedSession, loadedHead } from '../core/end-session.js';
import { OutageWatch } from '../core/outage-watch.js';
import { locksByDefault, type CommitOptions, type LoadOptions, type TouchOptions } from '../core/request-options.js';
import { ending, saveSession, touchSession, type SaveParts } from '../core/save-session.js';

export type { CommitOutcome, LoadedSession, SessionData, SessionHandle } from '../core/session-handle.js';
export type { CommitOptions, LoadOptions, TouchOptions } from '../core/request-options.js';

/**
 * Where a store keeps its shared parts for this package's own modules: under a symbol that both builds
 * (ESM and CommonJS) know, so that a store made by one serves the entries of the other. Not in the types.
 */
const CONTEXT = Symbol.for('dynamodb-session-manager.context');

/** A store's shared parts, for this package's own modules (adapters, CLI, tools); not part of the public API. */
export function contextOf(store: SessionStore): RequestContext {
  return (store as unknown as Record<symbol, RequestContext>)[CONTEXT]!;
}

/**
 * Web-session state in one DynamoDB table, shared by every server that points
 * at it. Framework-agnostic: the adapters in `adapters/` map their framework's
 * session API onto `load` → `commit`/`touch`/`release` and `destroy`. A façade:
 * loading is load-session.ts, with a lease request-locks.ts; the end of
 * a request (save, expiry refresh) is save-session.ts.
 *
 * What a request costs: one GetItem (or, when locked, one UpdateItem) to load;
 * one conditional write if the data changed; nothing more unless the expiry is
 * due a refresh (`touchAfter`).
 */
export class SessionStore extends EventEmitter {
  readonly config: ResolvedConfig;
  readonly client: DynamoDBClient;
  readonly logger: Logger;
  /** What the loader, the saves and the tools share (store-context.ts); this package's modules reach it by contextOf(). */
  readonly #ctx: RequestContext;
  readonly #idSecret: string | Buffer | undefined;
  /** What a request's save and expiry refresh take (save-session.ts). */
  readonly #parts: SaveParts;
  /** Saves of one session by this process go one at a time: the next builds on what the last one stored. */
  private readonly writeQueue = new KeyedMutex();
  private readonly locks: RequestLocks;
  private readonly target: string;
  private readyPromise: Promise<EnsureTableResult | undefined> | undefined;
  /** The table check finished: load() need not await it again. */
  private isReady = false;
  private readonly ownsClient: boolean;
  private readonly outages: OutageWatch;
  private reaper: Reaper | undefined;
  private closed = false;

  constructor(options: SessionStoreOptions = {}) {
    super();
    // The secrets are used here, once, and kept only where nothing prints them: the client's credentials,
    // the codec's keyring, #idSecret. `config` shows whether each is set, never its value.
    const config = resolveConfig(options);
    this.#idSecret = config.hashSessionIds;
    this.config = redactConfig(config);
    this.logger = this.config.logger ?? defaultLogger;
    this.ownsClient = this.config.client === undefined;
    this.client = createDynamoDBClient(config, this.logger);
    this.target = describeTarget(this.config);
    this.#ctx = createContext(config, this.config, this.logger, this.client, this.target, {
      keyOf: (id) => this.keyOf(id),
      ready: () => this.ready(),
      emit: (event, ...args) => this.emit(event, ...args),
    });
    Object.defineProperty(this, CONTEXT, { value: this.#ctx });
    this.outages = new OutageWatch(this.#ctx.gateway, { table: this.config.table, target: this.target }, this.logger, (event, err) =>
      event === 'disconnect' ? this.emit(event, err) : this.emit(event),
    );
    // For engines without TTL: one reaper at a time across processes (a lease item decides which).
    if (this.config.reapIntervalMs > 0) this.reaper = startReaper(this.#ctx, { intervalMs: this.config.reapIntervalMs });
    this.locks = new RequestLocks(this.#ctx);
    registerStoreSizes(this, this.#ctx, this.writeQueue, this.locks);
    this.#parts = { ctx: this.#ctx, locks: this.locks, writeQueue: this.writeQueue };
  }

  /**
   * Lifecycle events name sessions by handle, never by a raw id (`created`,
   * `regenerated` and `destroyed`; an `expired` one's id opens nothing any more).
   */
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    return super.emit(event, ...(this.#idSecret === undefined ? namedByHandle(event, args) : args));
  }

  /** What JSON.stringify and logs show of a store: its table, where it is, and its options with every secret redacted. */
  toJSON(): { table: string; target: string; config: ResolvedConfig } {
    const { client: _client, logger: _logger, ...config } = this.config;
    return { table: this.config.table, target: this.target, config: config as ResolvedConfig };
  }

  /** util.inspect and console.log: the same as toJSON, never a secret, nor the SDK client's internals. */
  [inspect.custom](_depth: number, options: object): string {
    return `SessionStore ${inspect(this.toJSON(), { ...options, depth: 3 })}`;
  }

  /**
   * Checks the table (DescribeTable), creating it when absent and
   * `createIfNotExist`, and enables TTL. Runs once; every other method waits
   * for it. A failure from an outage is forgotten so the next call retries.
   */
  ready(): Promise<EnsureTableResult | undefined> {
    if (!this.readyPromise) {
      // The optional OpenTelemetry API first: the client's retry counter must be in place before its first call.
      this.readyPromise = loadTelemetry()
        .then(() => {
          if (this.ownsClient) instrumentClient(this.client);
          if (this.config.skipTableCheck) return undefined;
          return ensureTable(this.#ctx.gateway, this.config, this.target, this.logger).then((result) => {
            if (!this.reaper && !this.closed) this.reaper = reaperForStrongTable(this.#ctx);
            return result;
          });
        })
        .then((result) => {
          this.isReady = true;
          return result;
        });
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
    return { ...this.#ctx.gateway.engine };
  }

  /** A copy of the store's counters: DynamoDB calls, capacity, conflicts, lock waits. */
  stats(): StoreStats {
    return structuredClone(this.#ctx.statsData);
  }

  /** Table key of a session id (its HMAC when `hashSessionIds`). */
  keyOf(id: string): string {
    checkSessionId(id);
    return keyFor(id, this.#idSecret);
  }

  // ---- request-scoped API (adapters) ----

  /**
   * Loads a session: one strongly consistent GetItem, or, when locking, one
   * UpdateItem that takes the lease and returns the item. Expired, missing and
   * corrupt sessions come back as null.
   */
  load(id: string, options: LoadOptions = {}): Promise<LoadedSession | null> {
    // Not an async function: a load is a chain of promises already, and each frame more is a promise more
    // (and, under an AsyncLocalStorage context manager, a hook more). What throws here rejects, as before.
    let key: string;
    let lock: boolean;
    try {
      key = this.keyOf(id);
      // Once the table check is done, not awaited again: each await of a settled promise is a turn of the microtask queue.
      if (!this.isReady) return this.ready().then(() => this.load(id, options));
      lock = options.lock ?? this.locksByDefault(options.method);
    } catch (err) {
      return Promise.reject(err);
    }
    const load = () => loadSession(this.#ctx, this.locks, id, key, lock, options.minVersion);
    // Without the OpenTelemetry API there is nothing to record: no span hook.
    return telemetryOff() ? load() : traced(this.#ctx, 'session.load', lock ? 'UpdateItem' : 'GetItem', { id }, load, describeLoad);
  }

  /**
   * Whether a request of this method takes a lease when no rule says: always in `pessimistic`; in `auto`, unless the
   * method is safe (RFC 9110: GET, HEAD, OPTIONS, TRACE; their rare writes merge), as memcached-session-manager's.
   */
  locksByDefault(method: string | undefined): boolean {
    return locksByDefault(this.config, method);
  }

  /** The handle of a session a request is creating (see session-handle.ts). */
  newHandle(id: string): SessionHandle {
    return newHandle(id, this.keyOf(id));
  }

  /** A reload by the request that holds the session: `fresh` becomes the holder's base; the holder keeps its lease. */
  rebase(holder: SessionHandle, fresh: SessionHandle): SessionHandle {
    return rebase(holder, fresh);
  }

  /**
   * Ends a request that may have changed the session. Unchanged data → no data
   * write (only an expiry refresh when due, and the lease given back). Changed
   * → one conditional write, whose condition and conflict handling are the
   * locking mode's (save-loop.ts). A destroyed session stays destroyed.
   *
   * When it fails: for a reason a retry cannot fix (the session too large or
   * not serializable) the lease and this process's turn are given back before
   * it throws; for one a retry may fix (DynamoDB unreachable) the handle stays
   * open and `release(handle)` gives them back (adapters call it when the
   * response closes; a custom adapter must too).
   */
  async commit(handle: SessionHandle | null | undefined, id: string, data: SessionData, options: CommitOptions = {}): Promise<CommitOutcome> {
    if (handle && handle.id !== id) handle = undefined;
    // A second save in the same request (an app calling save() itself, then the adapter at the end):
    // the first one's result is its base, so it merges like any other save and cannot resurrect a destroyed session.
    if (handle && handle.settled) handle = { ...handle, settled: false, lease: undefined, releaseLocal: undefined };
    const live = handle ?? undefined;
    const save = () => saveSession(this.#parts, live, id, data, options, expiryOf(this.config, options.expires));
    return traced(this.#ctx, 'session.save', 'UpdateItem', { id }, () => (live ? ending(this.locks, live, save) : save()), describeCommit);
  }

  /**
   * Ends a request that did not change the session: refreshes the stored
   * expiry only when due (`touchAfter`), and releases the lease. The write is
   * conditional, so it can neither bring back a destroyed or expired session
   * nor shorten a later expiry.
   */
  touch(handle: SessionHandle | null | undefined, id: string, options: TouchOptions = {}): Promise<CommitOutcome> {
    return touchSession(this.#parts, handle, id, options, expiryOf(this.config, options.expires));
  }

  /**
   * Gives back a request's lease and this process's turn without writing: a
   * request that ended without saving, or whose save failed for a reason a
   * retry may fix. Safe to call more than once.
   */
  async release(handle: SessionHandle | null | undefined): Promise<void> {
    if (!handle) return;
    // Only a lease to give back is worth a span: most requests hold none, and their release is a no-op.
    if (handle.settled || !handle.lease || handle.lease.lost) return this.locks.release(handle);
    await traced(this.#ctx, 'session.release', 'UpdateItem', { tag: idTag(handle.id) }, () => this.locks.release(handle));
  }

  /**
   * Deletes a session. Any request still holding it finds it gone and does not
   * bring it back. Emits `destroyed` with `reason` (default 'logout') when
   * there was a session to delete; 'regenerate' (the old id of a login, whose
   * successor is saved with `replaces`) emits nothing here: `regenerated` follows.
   */
  async destroy(id: string, handle?: SessionHandle | null, reason: DestroyReason | 'regenerate' = 'logout'): Promise<void> {
    const key = this.keyOf(id);
    await this.ready();
    // The old store first: a failure there leaves the session whole here, and the logout can be retried.
    if (this.config.fallback) await destroyInFallback(this.config.fallback, id, this.config.table);
    await traced(this.#ctx, 'session.destroy', 'DeleteItem', { id }, async () => {
      try {
        await deleteKey(this.#ctx, key, reason, idTag(id), handle && handle.id === id && handle.version > 0 ? loadedHead(handle) : undefined);
      } finally {
        if (handle && handle.id === id) this.locks.settle(handle);
        this.locks.settleHolder(key);
      }
    });
  }

  /**
   * The handle of a session, by its id: what events and `listUserSessions`
   * name it by, and `revokeSession` takes. No session id can be recovered
   * from it (with `hashSessionIds` it is the table key, an HMAC).
   */
  handleOf(id: string): string {
    return handleFor(this.keyOf(id), this.#idSecret);
  }

  /**
   * Ends one session ("log out that device") by the handle `listUserSessions`
   * or an event gave, with the user it belongs to: a handle of another user's
   * session ends nothing. A table key (the CLI's, or an HMAC key with
   * `hashSessionIds`) is taken as well. Emits `destroyed` with reason
   * 'revoked'. Resolves to whether there was one.
   */
  revokeSession(handle: string, options: { userId?: string } = {}): Promise<boolean> {
    const end = () => endOwnedSession(this.#ctx, this.locks, this.#idSecret, handle, options);
    return tracedAdmin(this.#ctx, 'revoke', 'DeleteItem', end, (deleted) => ({ [`${PREFIX}.deleted`]: deleted ? 1 : 0 }));
  }

  /**
   * A user's live sessions, oldest first, with what is known of each device:
   * created, last seen (the last write or expiry refresh, so it costs no
   * extra write), expiry, and with `trackDevices` the user agent and IP. Found
   * through `userIndex` (a Query, eventually consistent) or a Scan, then read
   * with one strongly consistent BatchGetItem per 100.
   */
  async listUserSessions(userId: string): Promise<UserSessionList> {
    const list = await describeUserSessions(this.#ctx, userId);
    for (const session of list.sessions) session.key = handleFor(session.key, this.#idSecret);
    return list;
  }

  /**
   * Deletes every session of a user ("log out everywhere"): a Query on
   * `userIndex` when configured, else a Scan of the table. Resolves to how many.
   */
  destroyUserSessions(userId: string): Promise<number> {
    const via = this.config.userIndex ? 'Query' : 'Scan';
    return tracedAdmin(this.#ctx, 'revoke', via, () => destroyUser(this.#ctx, userId), (deleted) => ({ [`${PREFIX}.deleted`]: deleted }));
  }

  /** Deletes expired sessions now: a parallel Scan, then deletes that skip renewed or locked sessions. */
  purgeExpired(options?: PurgeOptions): Promise<PurgeProgress> {
    return tracedAdmin(this.#ctx, 'purge', 'Scan', () => purge(this.#ctx, options), purgeAttributes);
  }

  /** The session's data, or null when missing, expired or corrupt. Takes no lease. */
  async get(id: string): Promise<SessionData | null> {
    return (await this.load(id, { lock: false }))?.data ?? null;
  }

  /** Creates or replaces a session outside any request (no merge base: last writer wins). */
  async set(id: string, data: SessionData, options: CommitOptions = {}): Promise<void> {
    await this.commit(undefined, id, data, options);
  }

  /** Stops timers and, when the store made its own client, closes its sockets. */
  async close(): Promise<void> {
    this.closed = true;
    this.outages.close();
    await this.reaper?.stop();
    this.reaper = undefined;
    this.locks.settleAll();
    if (this.ownsClient) this.client.destroy();
  }
}
