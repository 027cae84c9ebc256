/**
 * The store's options, declared once: OPTIONS below gives the types
 * (SessionStoreOptions, ResolvedConfig), the defaults, the checks, the
 * context.xml attribute names, and docs/options.md (`npm run docs:options`
 * writes it from each entry's comment; a test fails when it is stale).
 * resolve-config.ts checks given options against it, with the rules across
 * options, fills in the defaults, and makes the printable config.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ConfigError } from '../errors.js';
import type { Logger } from '../logger.js';
import { toFallback, type FallbackOption } from './fallback-option.js';
import * as is from './checks.js';

/** A replica Region of a global table and the endpoint that reaches it (undefined: the Region's own). */
export interface RegionReplica {
  readonly name: string;
  readonly endpoint: string | undefined;
}

export type LockingMode = 'auto' | 'optimistic' | 'pessimistic' | 'none';
export type BillingMode = 'PROVISIONED' | 'PAY_PER_REQUEST';

/** A true conflict: both requests changed `path` differently. Return the value to keep. */
export type ConflictResolver = (path: ReadonlyArray<string | number>, base: unknown, mine: unknown, theirs: unknown) => unknown;

export interface EncryptionKey {
  /** Short id written into each item's header so rotation can find the key (1-32 ASCII chars). */
  id: string;
  /** 32 bytes: a Buffer, or a base64/hex string of 32 bytes. */
  key: Buffer | string;
}

/** The aggregate size of the items one DynamoDB TransactWriteItems may carry: the ceiling of `maxSessionBytes`. */
export const MAX_SESSION_BYTES = 4 * 1024 * 1024;
/** The default region of the Tomcat manager, used when nothing else names one. */
export const FALLBACK_REGION = 'us-east-1';
export const DEFAULT_USER_INDEX = 'userId-index';

/** One option: how it is checked, its default, the Tomcat context.xml attribute that sets it. */
export interface OptionSpec {
  check: is.Check<unknown>;
  default?: unknown;
  xml?: string;
  /** The default as docs/options.md shows it, when it is no plain value (a chain of sources, a behaviour). */
  shown?: string;
  /** The value the store uses, from the one given (or undefined), where it is not `given ?? default`. */
  resolve?: (given: never) => unknown;
}

const seconds = (what: string) => is.is<number | 'auto'>((value, name) => {
  if (value !== 'auto' && (typeof value !== 'number' || !Number.isInteger(value) || value < 0)) is.fail(name, `"auto" or ${what}`, value);
});

// Each entry's comment is the option's documentation: editors show it on SessionStoreOptions and ResolvedConfig.
export const OPTIONS = {
  /** Name of the sessions table. */
  table: { check: is.tableName, default: 'Tomcat_SessionState', xml: 'Table' },
  /** AWS Region. */
  region: { check: is.region, xml: 'RegionId', shown: '`AWS_REGION`, `AWS_DEFAULT_REGION`, the profile\'s region, else `us-east-1`' },
  /** Overrides the Region's endpoint (DynamoDB Local: `http://127.0.0.1:8000`). */
  endpoint: { check: is.url, xml: 'Endpoint' },
  /** Explicit access key id: give both keys or neither. */
  accessKeyId: { check: is.secret, xml: 'AwsAccessKey' },
  /** Explicit secret access key: give both keys or neither. */
  secretAccessKey: { check: is.secret, xml: 'AwsSecretKey' },
  /** Session token of temporary explicit keys. */
  sessionToken: { check: is.secret },
  /** A Java `.properties` file with `accessKey` and `secretKey`. */
  credentialsFile: { check: is.string, xml: 'AwsCredentialsFile' },
  /** Read capacity units of a table the store creates. */
  readCapacityUnits: { check: is.positiveInt(), default: 10, xml: 'ReadCapacityUnits' },
  /** Write capacity units of a table the store creates. */
  writeCapacityUnits: { check: is.positiveInt(), default: 5, xml: 'WriteCapacityUnits' },
  /**
   * Create the table in `ready()` when absent; `false`: `TableNotFoundError`. For development: creating needs the
   * admin IAM policy (`iam-policy --admin`), which a runtime role should not have.
   */
  createIfNotExist: { check: is.boolean, default: true, xml: 'CreateIfNotExist' },
  /** Billing of a table the store creates: `PROVISIONED` (the seed's) or `PAY_PER_REQUEST`. */
  billingMode: { check: is.oneOf('PROVISIONED', 'PAY_PER_REQUEST'), default: 'PROVISIONED' },
  /**
   * `'auto'`: a request that carries the version of its session's last write (the adapters keep it in a small
   * companion cookie) reads eventually consistently, for half the read units; an answer that is missing, expired or
   * older than that version is read again, strongly, before the store acts on it. Every other read is strong: a first
   * request, plain express-session, id-header clients, admin calls. `true`: every read strong (closes the revocation
   * window, docs/security.md). `false`: as `'auto'`, and list/count/clear scan eventually.
   */
  consistentRead: {
    check: is.is<boolean | 'auto'>((value, name) => {
      if (value !== 'auto' && typeof value !== 'boolean') is.fail(name, '"auto", true or false', value);
    }),
    default: 'auto',
  },
  /** Session lifetime in seconds when the cookie has no expiry. */
  ttl: { check: is.positiveInt(), default: 86_400 },
  /**
   * Refresh the stored expiry of an unchanged session only when it would move by at least this many seconds;
   * `'auto'`: a tenth of the session's lifetime; `0`: whenever it moves at all (a write per request).
   */
  touchAfter: { check: seconds('a number of seconds, 0 or more'), default: 'auto' },
  /**
   * Concurrency control. `auto`: requests with an unsafe method (POST, PUT, PATCH, DELETE, …) take a lease lock,
   * safe ones (GET, HEAD, OPTIONS) load with one GetItem and merge if they write; `optimistic`: versioned merge for
   * every request; `pessimistic`: a lease for every request; `none`: last writer wins (the Tomcat manager's behaviour).
   */
  locking: { check: is.oneOf('auto', 'optimistic', 'pessimistic', 'none'), default: 'auto' },
  /** Lease of a pessimistic lock in ms, renewed while the request runs. */
  lockLeaseMs: { check: is.positiveInt({ min: [100, ' ms'] }), default: 10_000 },
  /** Longest wait for a pessimistic lock before `LockTimeoutError` (503), in ms. */
  maxLockWaitMs: { check: is.nonNegativeInt, default: 10_000 },
  /**
   * Longest a request may hold its session's lease, in ms: renewals stop after it and the lease lapses (the
   * request's save then merges), so a request that never ends cannot lock its session out.
   */
  maxLockHoldMs: { check: is.positiveInt(), default: 60_000 },
  /**
   * Attempts of an optimistic save that keeps meeting newer versions before it gives up with a
   * `StoreUnavailableError`: about 10 s at most (each retry already holds the newest version; back-off with jitter caps at 100 ms).
   */
  maxSaveAttempts: { check: is.positiveInt(), default: 100 },
  /** `(path, base, mine, theirs) => value`: decides true conflicts of the optimistic merge. */
  onConflict: { check: is.fn<ConflictResolver>(), shown: 'the later write wins' },
  /**
   * Compress encoded sessions of `compressionThreshold` bytes and more when it pays: of uncompressed, LZ4 and
   * brotli, the form the item bills the fewest capacity units with, and of those the fastest to read.
   */
  compression: { check: is.boolean, default: true },
  /** Smallest JSON size in bytes worth compressing. */
  compressionThreshold: { check: is.nonNegativeInt, default: 1024 },
  /**
   * Largest session, in bytes as stored (its items' bytes after compression and encryption, as DynamoDB counts
   * them); past it a save is a `SessionTooLargeError`, nothing written. The default keeps every session in one item.
   * Above DynamoDB's 400 KB item limit a session is stored as a head item and chunk items: opt-in, since one such save
   * bills up to ~4,100 write units (~1,030 per MiB). At most 4194304 (4 MB): the decode cap, and what a login's
   * transaction (`maxSessionsPerUser`) carries.
   */
  maxSessionBytes: {
    check: is.positiveInt({ max: [MAX_SESSION_BYTES, " (4 MB: the decode cap, and what a login's transaction carries)"] }),
    default: 400 * 1024,
  },
  /**
   * Memory this process may spend on decoded sessions, in bytes: a session read again with the same write id is not
   * decompressed or decrypted again, and a session past 400 KB has its chunks read only once. Entries are UTF-8 in one
   * buffer outside V8's heap (at most 3/4 of the bound) and an index on it (the rest, 96 bytes an entry). `0` turns
   * the cache off. The default suits a 256 MB container (docs/benchmarks.md, Memory); on a 128 MB Lambda: less, or 0.
   */
  decodedCacheBytes: { check: is.nonNegativeInt, default: 16 * 1024 * 1024 },
  /** `[{ id, key }]`: AES-256-GCM at rest; write with the first key, read with any. */
  encryptionKeys: {
    check: is.encryptionKeys<EncryptionKey>(),
    resolve: (given: EncryptionKey[] | undefined): ReadonlyArray<EncryptionKey> => Object.freeze([...(given ?? [])]),
  },
  /** A secret: the table stores HMAC-SHA256(secret, id) instead of the raw session id. */
  hashSessionIds: {
    check: is.is<string | Buffer>((value, name) => {
      if (!((typeof value === 'string' || Buffer.isBuffer(value)) && value.length >= 16)) {
        throw new ConfigError(`option "${name}" must be a secret string or Buffer of at least 16 characters`);
      }
    }),
  },
  /** Delete items that cannot be decoded instead of leaving them (they are ignored otherwise). */
  deleteCorruptSessions: { check: is.boolean, default: false },
  /** Purge expired items every N ms in-process, for engines without TTL; `0`: off. */
  reapIntervalMs: {
    check: is.is<number>((value, name) => {
      is.nonNegativeInt(value, name);
      if ((value as number) > 0 && (value as number) < 100) {
        throw new ConfigError(`option "${name}" must be 0 (no in-process reaper) or at least 100 ms (got ${String(value)}); a minute or more is typical`);
      }
    }),
    default: 0,
  },
  /** Keep a `userId` global secondary index for revoking a user's sessions: `true` (named `userId-index`) or an index name. */
  userIndex: {
    check: is.either<boolean, string>((value) => typeof value === 'boolean', is.tableName),
    resolve: (given: boolean | string | undefined): string | undefined => (given === true ? DEFAULT_USER_INDEX : given || undefined),
    shown: '`false`',
  },
  /**
   * Where a session names its user, stored as the item's `userId` for `destroyUserSessions` and `revoke-user`:
   * a field name (dots for nesting, e.g. `"user.id"`) or a function of the session data.
   */
  userId: { check: is.either<(data: Record<string, unknown>) => unknown, string>((value) => typeof value === 'function', is.string) },
  /**
   * The absolute timeout, in seconds: a session ends this long after it was created, however active it is (OWASP's
   * absolute timeout). A regenerated id (a login) keeps the creation time.
   */
  maxLifetime: { check: is.positiveInt() },
  /**
   * With `userId`: how many live sessions one user may have. A login past it ends the user's oldest session (or,
   * with `onSessionLimit: 'refuse'`, is refused with `SessionLimitError`), in one DynamoDB transaction per login,
   * correct under concurrent logins on many servers.
   */
  maxSessionsPerUser: { check: is.positiveInt() },
  /** What a login past `maxSessionsPerUser` does: `'evict-oldest'` or `'refuse'` (`SessionLimitError`). */
  onSessionLimit: { check: is.oneOf('evict-oldest', 'refuse'), default: 'evict-oldest' },
  /**
   * Keep a device's description on each session: the user agent and IP address the session was created from
   * (creation and last-seen times are kept anyway), for `listUserSessions`.
   */
  trackDevices: { check: is.boolean, default: false },
  /** Attempts of each DynamoDB call, including the first (SDK retry strategy). */
  maxAttempts: { check: is.positiveInt(), default: 3 },
  /**
   * The SDK's retry strategy: `'standard'` (exponential back-off with jitter, a retry quota) or `'adaptive'` (the
   * same, plus a client-side rate limiter that slows every call after a throttle); chosen by `npm run bench:faults`.
   */
  retryMode: { check: is.oneOf('standard', 'adaptive'), default: 'standard' },
  /**
   * Time-out of one DynamoDB HTTP request in ms: the longest wait for a connection, for the answer to start and
   * between two parts of it; a call that runs out is retried (`maxAttempts`), then fails with `StoreUnavailableError`.
   */
  requestTimeoutMs: { check: is.positiveInt(), default: 3_000 },
  /** Skip DescribeTable/CreateTable in `ready()` (Lambda cold starts, least-privilege roles). */
  skipTableCheck: { check: is.boolean, default: false },
  /**
   * Ask DynamoDB for the capacity each call consumed (`ReturnConsumedCapacity`) and add it up in `stats()`. Free on
   * DynamoDB's side, but the SDK's parsing of the answer costs client CPU on every call (docs/benchmarks.md).
   */
  returnConsumedCapacity: { check: is.boolean, default: false },
  /**
   * Read-through migration from another session store: a session missing here is asked of it by its raw id
   * (`get(id)` → `{ data, expiresAt }` or null), copied here once under the same id and expiry, and served from
   * DynamoDB afterwards. `destroy(id)`, when given, deletes it there too on a logout or a regenerated id. A function
   * is taken as `get`. See docs/migration.md.
   */
  fallback: {
    check: is.either<FallbackOption, FallbackOption>(
      (value) => typeof value === 'function',
      is.withMethods(['get'], 'a function (id) => { data, expiresAt } | null, or an object with get(id) and optionally destroy(id)', {
        optional: ['destroy'],
        shown: true,
      }),
    ),
    resolve: toFallback,
  },
  /** A pino-compatible logger (`console` fits). */
  logger: {
    check: is.withMethods<Logger>(['warn', 'error'], 'a logger with warn() and error() (a pino logger, or console)'),
    shown: 'warnings and errors to stderr',
  },
  /**
   * Bring your own DynamoDBClient; region, endpoint and credentials options are then ignored. The store's own client
   * sends through an HTTP handler built on `undici` (less client CPU a call, `npm run bench:sdk`): bring yours when you
   * need the SDK's own handler (an HTTP proxy agent, say).
   */
  client: { check: is.withMethods<DynamoDBClient>(['send'], 'a DynamoDBClient from @aws-sdk/client-dynamodb') },
  /**
   * A global table (MREC): its replica Regions, this server's `region` among them, as a list of names or a map of
   * name → endpoint (null: the Region's own). Each session's writes and leases go to its home Region
   * (docs/global-tables.md).
   */
  regions: {
    check: is.is<string[] | Record<string, string | null>>((value, name) => {
      const names = Array.isArray(value) ? value : value && typeof value === 'object' ? Object.keys(value) : undefined;
      if (!names || names.length < 2) throw new ConfigError(`option "${name}" must list the table's replica Regions, two or more (got ${is.got(value)})`);
      names.forEach((region, i) => is.region(region, `${name}[${i}]`));
      if (!Array.isArray(value)) {
        for (const [region, endpoint] of Object.entries(value as object)) if (endpoint !== null) is.url(endpoint, `${name}.${region}`);
      }
    }),
    // Sorted and given their endpoints by resolveConfig, which knows `region` and `endpoint` too.
    resolve: (): ReadonlyArray<RegionReplica> | undefined => undefined,
  },
  /** With `regions`, when a session's home Region does not answer: `'fail'` (503) or `'failover'` (write here). */
  onRegionFailure: { check: is.oneOf('fail', 'failover'), default: 'fail' as 'fail' | 'failover' },
} satisfies Record<string, OptionSpec>;

type Schema = typeof OPTIONS;
type Given<S> = S extends { check: is.Check<infer T> } ? T : never;
type Used<S> = S extends { resolve: (given: never) => infer R } ? R : S extends { default: unknown } ? Given<S> : Given<S> | undefined;
type Defaulted = { [K in keyof Schema]: Schema[K] extends { default: unknown } ? K : never }[keyof Schema];
type Options = { [K in keyof Schema]?: Given<Schema[K]> };
type Resolved = { readonly [K in keyof Schema]: Used<Schema[K]> };

/**
 * Options of a SessionStore. The Tomcat manager's context.xml attributes keep
 * their meaning (AwsAccessKey → accessKeyId, Table → table, …); every option is
 * documented in docs/options.md.
 */
export interface SessionStoreOptions extends Options {}

/** The options as the store uses them: checked, with every default filled in. */
export interface ResolvedConfig extends Resolved {}

export const OPTION_NAMES = Object.keys(OPTIONS) as Array<keyof SessionStoreOptions>;

export const DEFAULTS = Object.freeze(
  Object.fromEntries(OPTION_NAMES.flatMap((name) => ('default' in OPTIONS[name] ? [[name, (OPTIONS[name] as OptionSpec).default]] : []))),
) as { readonly [K in Defaulted]: Given<Schema[K]> };

/** Whether a load may read eventually consistently when the request carries its version floor. */
export function eventualReads(config: Pick<ResolvedConfig, 'consistentRead'>): boolean {
  return config.consistentRead !== true;
}
