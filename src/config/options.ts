import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ConfigError } from '../errors.js';
import type { Logger } from '../core/logger.js';
import { toFallback, type FallbackOption, type SessionFallback } from '../core/fallback.js';

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

/**
 * Options of a SessionStore. Names of the Tomcat manager's context.xml
 * attributes are kept (AwsAccessKey → accessKeyId, Table → table, …).
 */
export interface SessionStoreOptions {
  /** context.xml `Table`. Default `Tomcat_SessionState`. */
  table?: string;
  /** context.xml `RegionId`. Default: AWS_REGION / AWS_DEFAULT_REGION / the profile's region, else `us-east-1`. */
  region?: string;
  /** context.xml `Endpoint`; overrides the region's endpoint (DynamoDB Local: `http://127.0.0.1:8000`). */
  endpoint?: string;
  /** context.xml `AwsAccessKey`; give both keys or neither. */
  accessKeyId?: string;
  /** context.xml `AwsSecretKey`; give both keys or neither. */
  secretAccessKey?: string;
  /** Session token for temporary explicit keys. */
  sessionToken?: string;
  /** context.xml `AwsCredentialsFile`: a .properties file with `accessKey` and `secretKey`. */
  credentialsFile?: string;
  /** context.xml `ReadCapacityUnits`, used when the store creates the table. Default 10. */
  readCapacityUnits?: number;
  /** context.xml `WriteCapacityUnits`, used when the store creates the table. Default 5. */
  writeCapacityUnits?: number;
  /** context.xml `CreateIfNotExist`: create the table in `ready()` when absent. Default true. */
  createIfNotExist?: boolean;
  /** Billing of a table the store creates. Default `PROVISIONED` (the seed's). */
  billingMode?: BillingMode;
  /**
   * Default `'auto'`: a request that carries the version of its session's last
   * write (the adapters keep it in a small companion cookie) reads eventually
   * consistently, for half the read units; an answer that is missing, expired
   * or older than that version is read again, strongly, before the store acts
   * on it. Every other read is strong: a first request, a load without a
   * request (plain express-session, the id header), admin calls. `true`: every
   * read strong. `false`: as `'auto'`, and list/count/clear scan eventually.
   */
  consistentRead?: boolean | 'auto';
  /** Session lifetime in seconds when the cookie has no expiry. Default 86 400 (1 day). */
  ttl?: number;
  /**
   * Refresh the stored expiry of an unchanged session only when it would move by at least this many
   * seconds. Default `'auto'`: a tenth of the session's lifetime.
   */
  touchAfter?: number | 'auto';
  /**
   * Concurrency control. Default `auto`: requests with an unsafe method (POST, PUT, PATCH, DELETE, …)
   * take a lease lock, safe ones (GET, HEAD, OPTIONS) load with one GetItem and merge if they write;
   * `optimistic` = versioned merge for every request; `pessimistic` = a lease for every request;
   * `none` = last writer wins (the Tomcat manager's behaviour).
   */
  locking?: LockingMode;
  /** Lease of a pessimistic lock in ms, renewed while the request runs. Default 10 000. */
  lockLeaseMs?: number;
  /**
   * Longest a request may hold its session's lease, in ms: renewals stop after it and the lease
   * lapses, so a request that never ends cannot lock its session out. Default 60 000.
   */
  maxLockHoldMs?: number;
  /** Longest wait for a pessimistic lock before LockTimeoutError, in ms. Default 10 000. */
  maxLockWaitMs?: number;
  /** Attempts of an optimistic save before it gives up with a StoreUnavailableError. Default 100, about 10 s at most (each retry already holds the newest version; back-off with jitter caps at 100 ms). */
  maxSaveAttempts?: number;
  /** Decides true conflicts of the optimistic merge; default: the later write wins for that path. */
  onConflict?: ConflictResolver;
  /**
   * Compress encoded sessions above `compressionThreshold` bytes when it pays: of uncompressed, LZ4 and
   * brotli, the form the item bills the fewest capacity units with, and of those the fastest to read. Default true.
   */
  compression?: boolean;
  /** Smallest JSON size in bytes worth compressing. Default 1024. */
  compressionThreshold?: number;
  /**
   * Largest session, in bytes as stored (its items' bytes after compression and encryption, as
   * DynamoDB counts them); past it a save is a SessionTooLargeError. A session past DynamoDB's 400 KB
   * item limit is stored as a head item and chunk items (core/chunks.ts). At most 4 MB (4194304): the
   * decode cap, and what a login's transaction (maxSessionsPerUser) carries. Default 409600 (one item).
   */
  maxSessionBytes?: number;
  /**
   * Memory this process may spend on decoded sessions, in bytes: a session read again with the same
   * write id is not decompressed or decrypted again, and a session past 400 KB has its chunks read
   * only once. Entries are UTF-8 in one buffer outside V8's heap (at most 3/4 of the bound) and an
   * index on it (the rest, 96 bytes an entry). `0` turns the cache off. Default 16777216 (16 MiB).
   */
  decodedCacheBytes?: number;
  /** AES-256-GCM at rest: write with the first key, read with any. */
  encryptionKeys?: EncryptionKey[];
  /** A secret: store HMAC-SHA256(secret, id) instead of the raw session id. */
  hashSessionIds?: string | Buffer;
  /** Delete items that cannot be decoded instead of leaving them. Default false. */
  deleteCorruptSessions?: boolean;
  /** Purge expired items every N ms where the engine has no TTL. Default 0 (off). */
  reapIntervalMs?: number;
  /** Keep a `userId` global secondary index (`true` = name `userId-index`). Default false. */
  userIndex?: boolean | string;
  /**
   * Where a session names its user, stored as the item's `userId` for `destroyUserSessions`:
   * a field name (dots for nesting, e.g. `"user.id"`) or a function of the session data.
   */
  userId?: string | ((data: Record<string, unknown>) => unknown);
  /**
   * The absolute timeout, in seconds: a session ends this long after it was created, however
   * active it is (OWASP's absolute timeout). A regenerated id (a login) keeps the creation time.
   * Default none.
   */
  maxLifetime?: number;
  /**
   * With `userId`: how many live sessions one user may have. A login past it ends the user's
   * oldest session (or, with `onSessionLimit: 'refuse'`, is refused with SessionLimitError).
   * Enforced with one DynamoDB transaction per login, correct under concurrent logins on many
   * servers. Default none.
   */
  maxSessionsPerUser?: number;
  /** What a login past `maxSessionsPerUser` does: `'evict-oldest'` (default) or `'refuse'`. */
  onSessionLimit?: 'evict-oldest' | 'refuse';
  /**
   * Keep a device's description on each session: the user agent and IP address the session was
   * created from (creation and last-seen times are kept anyway), for `listUserSessions`. Default false.
   */
  trackDevices?: boolean;
  /** Attempts of each DynamoDB call, including the first (SDK retry strategy). Default 3. */
  maxAttempts?: number;
  /**
   * The SDK's retry strategy: `'standard'` (exponential back-off with jitter, a retry quota) or
   * `'adaptive'` (the same, plus a client-side rate limiter that slows every call after a throttle).
   * Default `'standard'` (measured against adaptive under throttling: docs/benchmarks.md, bench:faults).
   */
  retryMode?: 'standard' | 'adaptive';
  /** Time-out of one DynamoDB HTTP request in ms. Default 3 000. */
  requestTimeoutMs?: number;
  /** Skip DescribeTable/CreateTable in `ready()` (Lambda cold starts, least-privilege roles). Default false. */
  skipTableCheck?: boolean;
  /**
   * Ask DynamoDB for the capacity each call consumed (`ReturnConsumedCapacity`) and add it up in
   * `stats()`. Free on DynamoDB's side, but the SDK's parsing of the answer costs the client CPU on
   * every call (see docs/benchmarks.md), so it is off unless wanted. Default false.
   */
  returnConsumedCapacity?: boolean;
  /**
   * Read-through migration from another session store: a session missing here is asked of it
   * by its raw id (`get(id)` → `{ data, expiresAt }` or null), copied here once under the same id
   * and expiry, and served from DynamoDB afterwards. `destroy(id)`, when given, deletes it there
   * too on a logout or a regenerated id. A function is taken as `get`. See docs/migration.md.
   */
  fallback?: FallbackOption;
  /** pino-compatible logger; default prints warnings and errors to stderr. */
  logger?: Logger;
  /** Bring your own DynamoDBClient; region, endpoint and credentials options are then ignored. */
  client?: DynamoDBClient;
  /**
   * A global table (MREC): its replica Regions, this server's `region` among them, as a list of names or
   * a map of name → endpoint (null: the Region's own). Each session's writes and leases go to its home
   * Region (docs/global-tables.md). Default none.
   */
  regions?: string[] | Record<string, string | null>;
  /** With `regions`, when a session's home Region does not answer: `'fail'` (default, 503) or `'failover'` (write here). */
  onRegionFailure?: 'fail' | 'failover';
}

export interface ResolvedConfig {
  readonly table: string;
  readonly region: string | undefined;
  readonly endpoint: string | undefined;
  readonly accessKeyId: string | undefined;
  readonly secretAccessKey: string | undefined;
  readonly sessionToken: string | undefined;
  readonly credentialsFile: string | undefined;
  readonly readCapacityUnits: number;
  readonly writeCapacityUnits: number;
  readonly createIfNotExist: boolean;
  readonly billingMode: BillingMode;
  readonly consistentRead: boolean | 'auto';
  readonly ttl: number;
  readonly touchAfter: number | 'auto';
  readonly locking: LockingMode;
  readonly lockLeaseMs: number;
  readonly maxLockHoldMs: number;
  readonly maxLockWaitMs: number;
  readonly maxSaveAttempts: number;
  readonly onConflict: ConflictResolver | undefined;
  readonly compression: boolean;
  readonly compressionThreshold: number;
  readonly maxSessionBytes: number;
  readonly decodedCacheBytes: number;
  readonly encryptionKeys: ReadonlyArray<EncryptionKey>;
  readonly hashSessionIds: string | Buffer | undefined;
  readonly deleteCorruptSessions: boolean;
  readonly reapIntervalMs: number;
  readonly userIndex: string | undefined;
  readonly userId: string | ((data: Record<string, unknown>) => unknown) | undefined;
  readonly maxLifetime: number | undefined;
  readonly maxSessionsPerUser: number | undefined;
  readonly onSessionLimit: 'evict-oldest' | 'refuse';
  readonly trackDevices: boolean;
  readonly maxAttempts: number;
  readonly retryMode: 'standard' | 'adaptive';
  readonly requestTimeoutMs: number;
  readonly skipTableCheck: boolean;
  readonly returnConsumedCapacity: boolean;
  readonly fallback: SessionFallback | undefined;
  readonly logger: Logger | undefined;
  readonly client: DynamoDBClient | undefined;
  readonly regions: ReadonlyArray<RegionReplica> | undefined;
  readonly onRegionFailure: 'fail' | 'failover';
}

/** A replica Region of a global table and the endpoint that reaches it (undefined: the Region's own). */
export interface RegionReplica {
  readonly name: string;
  readonly endpoint: string | undefined;
}

/** The aggregate size of the items one DynamoDB TransactWriteItems may carry: the ceiling of `maxSessionBytes`. */
export const MAX_SESSION_BYTES = 4 * 1024 * 1024;

/** Whether a load may read eventually consistently when the request carries its version floor. */
export function eventualReads(config: Pick<ResolvedConfig, 'consistentRead'>): boolean {
  return config.consistentRead !== true;
}

export const DEFAULTS = {
  table: 'Tomcat_SessionState',
  readCapacityUnits: 10,
  writeCapacityUnits: 5,
  createIfNotExist: true,
  billingMode: 'PROVISIONED',
  consistentRead: 'auto',
  ttl: 86_400,
  touchAfter: 'auto',
  locking: 'auto',
  lockLeaseMs: 10_000,
  maxLockHoldMs: 60_000,
  maxLockWaitMs: 10_000,
  maxSaveAttempts: 100,
  compression: true,
  compressionThreshold: 1024,
  // One item: a session past DynamoDB's 400 KB item limit (chunks, up to 4 MB, ~1,030 write units a MiB saved) is opt-in.
  maxSessionBytes: 400 * 1024,
  // A 256 MB container: Node, the SDK, Express and the store take ~113 MiB of RSS, the cache at most ~19 MiB
  // beside it (1.2x), half of it for the app (docs/benchmarks.md, Memory). On a 128 MB Lambda: less, or 0.
  decodedCacheBytes: 16 * 1024 * 1024,
  deleteCorruptSessions: false,
  reapIntervalMs: 0,
  maxAttempts: 3,
  retryMode: 'standard' as const,
  requestTimeoutMs: 3_000,
  skipTableCheck: false,
  returnConsumedCapacity: false,
} as const;

/** The default region of the Tomcat manager, used when nothing else names one. */
export const FALLBACK_REGION = 'us-east-1';
export const DEFAULT_USER_INDEX = 'userId-index';

type Check = (value: unknown, name: string) => void;

const got = (value: unknown): string => {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (typeof value === 'function') return 'a function';
  if (Buffer.isBuffer(value)) return 'a Buffer';
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return String(value);
};

// Secrets are never echoed back in an error message.
const secret = (check: Check): Check => (value, name) => {
  try {
    check(value, name);
  } catch {
    throw new ConfigError(`option "${name}" must be a non-empty string (got ${typeof value})`);
  }
};

const string: Check = (value, name) => {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ConfigError(`option "${name}" must be a non-empty string (got ${got(value)})`);
  }
};
const boolean: Check = (value, name) => {
  if (typeof value !== 'boolean') throw new ConfigError(`option "${name}" must be true or false (got ${got(value)})`);
};
const positiveInt: Check = (value, name) => {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new ConfigError(`option "${name}" must be a positive integer (got ${got(value)})`);
  }
};
const nonNegativeInt: Check = (value, name) => {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new ConfigError(`option "${name}" must be an integer of 0 or more (got ${got(value)})`);
  }
};
const oneOf =
  (...allowed: string[]): Check =>
  (value, name) => {
    if (typeof value !== 'string' || !allowed.includes(value)) {
      throw new ConfigError(`option "${name}" must be one of ${allowed.map((a) => `"${a}"`).join(', ')} (got ${got(value)})`);
    }
  };
const fn: Check = (value, name) => {
  if (typeof value !== 'function') throw new ConfigError(`option "${name}" must be a function (got ${got(value)})`);
};

const tableName: Check = (value, name) => {
  string(value, name);
  if (!/^[A-Za-z0-9_.-]{3,255}$/.test(value as string)) {
    throw new ConfigError(
      `option "${name}" must be a DynamoDB table name: 3-255 characters of A-Z a-z 0-9 _ . - (got ${got(value)})`,
    );
  }
};
const url: Check = (value, name) => {
  string(value, name);
  let parsed: URL;
  try {
    parsed = new URL(value as string);
  } catch {
    throw new ConfigError(`option "${name}" must be a URL such as http://127.0.0.1:8000 (got ${got(value)})`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ConfigError(`option "${name}" must be an http:// or https:// URL (got ${got(value)})`);
  }
};

const CHECKS: Record<keyof SessionStoreOptions, Check> = {
  table: tableName,
  region: (value, name) => {
    string(value, name);
    if (!/^[a-z]{2}(-[a-z0-9]+)+-\d+$|^local$|^[a-z0-9-]+$/.test(value as string)) {
      throw new ConfigError(`option "${name}" must be an AWS Region such as "eu-west-1" (got ${got(value)})`);
    }
  },
  endpoint: url,
  accessKeyId: secret(string),
  secretAccessKey: secret(string),
  sessionToken: secret(string),
  credentialsFile: string,
  readCapacityUnits: positiveInt,
  writeCapacityUnits: positiveInt,
  createIfNotExist: boolean,
  billingMode: oneOf('PROVISIONED', 'PAY_PER_REQUEST'),
  consistentRead: (value, name) => {
    if (value !== 'auto' && typeof value !== 'boolean') throw new ConfigError(`option "${name}" must be "auto", true or false (got ${got(value)})`);
  },
  ttl: positiveInt,
  touchAfter: (value, name) => {
    if (value === 'auto') return;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      throw new ConfigError(`option "${name}" must be "auto" or a number of seconds, 0 or more (got ${got(value)})`);
    }
  },
  locking: oneOf('auto', 'optimistic', 'pessimistic', 'none'),
  lockLeaseMs: (value, name) => {
    positiveInt(value, name);
    if ((value as number) < 100) throw new ConfigError(`option "${name}" must be at least 100 ms (got ${got(value)})`);
  },
  maxLockWaitMs: nonNegativeInt,
  maxLockHoldMs: positiveInt,
  maxSaveAttempts: positiveInt,
  onConflict: fn,
  compression: boolean,
  compressionThreshold: nonNegativeInt,
  maxSessionBytes: (value, name) => {
    positiveInt(value, name);
    if ((value as number) > MAX_SESSION_BYTES) {
      throw new ConfigError(
        `option "${name}" must be at most ${MAX_SESSION_BYTES} (4 MB: the decode cap, and what a login's transaction carries) (got ${got(value)})`,
      );
    }
  },
  decodedCacheBytes: nonNegativeInt,
  encryptionKeys: (value, name) => {
    if (!Array.isArray(value) || value.length === 0) {
      throw new ConfigError(`option "${name}" must be a non-empty array of { id, key } (got ${got(value)})`);
    }
    const seen = new Set<string>();
    value.forEach((entry: unknown, i) => {
      const e = entry as Partial<EncryptionKey> | null;
      if (!e || typeof e !== 'object' || typeof e.id !== 'string' || !/^[\x21-\x7e]{1,32}$/.test(e.id)) {
        throw new ConfigError(`option "${name}[${i}].id" must be 1-32 printable ASCII characters`);
      }
      if (seen.has(e.id)) throw new ConfigError(`option "${name}" lists the key id "${e.id}" twice: key ids must be unique`);
      seen.add(e.id);
      if (keyBytes(e.key) === undefined) {
        throw new ConfigError(
          `option "${name}[${i}].key" must be 32 bytes: a Buffer, or a base64 or hex string of 32 bytes (make one with \`openssl rand -base64 32\`)`,
        );
      }
    });
  },
  hashSessionIds: (value, name) => {
    const ok = (typeof value === 'string' && value.length >= 16) || (Buffer.isBuffer(value) && value.length >= 16);
    if (!ok) throw new ConfigError(`option "${name}" must be a secret string or Buffer of at least 16 characters`);
  },
  deleteCorruptSessions: boolean,
  reapIntervalMs: (value, name) => {
    nonNegativeInt(value, name);
    if ((value as number) > 0 && (value as number) < 100) {
      throw new ConfigError(`option "${name}" must be 0 (no in-process reaper) or at least 100 ms (got ${String(value)}); a minute or more is typical`);
    }
  },
  userIndex: (value, name) => {
    if (typeof value === 'boolean') return;
    tableName(value, name);
  },
  userId: (value, name) => {
    if (typeof value === 'function') return;
    string(value, name);
  },
  maxLifetime: positiveInt,
  maxSessionsPerUser: positiveInt,
  onSessionLimit: oneOf('evict-oldest', 'refuse'),
  trackDevices: boolean,
  maxAttempts: positiveInt,
  retryMode: oneOf('standard', 'adaptive'),
  requestTimeoutMs: positiveInt,
  skipTableCheck: boolean,
  returnConsumedCapacity: boolean,
  fallback: (value, name) => {
    if (typeof value === 'function') return;
    const f = value as { get?: unknown; destroy?: unknown } | null;
    if (!f || typeof f !== 'object' || typeof f.get !== 'function' || (f.destroy !== undefined && typeof f.destroy !== 'function')) {
      throw new ConfigError(`option "${name}" must be a function (id) => { data, expiresAt } | null, or an object with get(id) and optionally destroy(id) (got ${got(value)})`);
    }
  },
  logger: (value, name) => {
    const l = value as Record<string, unknown> | null;
    if (!l || typeof l !== 'object' || typeof l.warn !== 'function' || typeof l.error !== 'function') {
      throw new ConfigError(`option "${name}" must be a logger with warn() and error() (a pino logger, or console)`);
    }
  },
  client: (value, name) => {
    const c = value as { send?: unknown } | null;
    if (!c || typeof c !== 'object' || typeof c.send !== 'function') {
      throw new ConfigError(`option "${name}" must be a DynamoDBClient from @aws-sdk/client-dynamodb`);
    }
  },
  regions: (value, name) => {
    const names = Array.isArray(value) ? value : value && typeof value === 'object' ? Object.keys(value) : undefined;
    if (!names || names.length < 2) throw new ConfigError(`option "${name}" must list the table's replica Regions, two or more (got ${got(value)})`);
    names.forEach((region, i) => CHECKS.region(region, `${name}[${i}]`));
    if (!Array.isArray(value)) {
      for (const [region, endpoint] of Object.entries(value as object)) if (endpoint !== null) url(endpoint, `${name}.${region}`);
    }
  },
  onRegionFailure: oneOf('fail', 'failover'),
};

export const OPTION_NAMES = Object.keys(CHECKS) as Array<keyof SessionStoreOptions>;

/** Decodes a 32-byte key given as a Buffer or a base64/hex string; undefined when it is not 32 bytes. */
export function keyBytes(key: unknown): Buffer | undefined {
  let bytes: Buffer | undefined;
  if (Buffer.isBuffer(key)) bytes = key;
  else if (typeof key === 'string' && /^[0-9a-fA-F]{64}$/.test(key)) bytes = Buffer.from(key, 'hex');
  else if (typeof key === 'string' && /^[A-Za-z0-9+/_-]+={0,2}$/.test(key)) bytes = Buffer.from(key, 'base64');
  return bytes && bytes.length === 32 ? bytes : undefined;
}

function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}

/** The known option a misspelt one most likely meant (case slips, typos of up to a third of it). */
function closest(name: string): string | undefined {
  const lower = name.toLowerCase();
  let best: { option: string; d: number } | undefined;
  for (const option of OPTION_NAMES) {
    const d = distance(lower, option.toLowerCase());
    if (d <= Math.max(2, Math.floor(option.length / 3)) && (!best || d < best.d)) best = { option, d };
  }
  return best?.option;
}

/** Validates options and fills in defaults; every problem is a ConfigError naming the option. */
export function resolveConfig(options: SessionStoreOptions = {}): ResolvedConfig {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new ConfigError(`options must be an object (got ${got(options)})`);
  }
  for (const [name, value] of Object.entries(options)) {
    const check = CHECKS[name as keyof SessionStoreOptions];
    if (!check) {
      const hint = closest(name);
      throw new ConfigError(
        `unknown option "${name}"${hint ? `: did you mean "${hint}"?` : ''} (known options: ${OPTION_NAMES.join(', ')})`,
      );
    }
    if (value !== undefined) check(value, name);
  }
  if ((options.accessKeyId === undefined) !== (options.secretAccessKey === undefined)) {
    const missing = options.accessKeyId === undefined ? 'accessKeyId' : 'secretAccessKey';
    throw new ConfigError(
      `option "${missing}" is missing: give both accessKeyId and secretAccessKey (context.xml AwsAccessKey and AwsSecretKey), or neither to use the credentials file or the default chain`,
    );
  }
  if ((options.maxSessionsPerUser !== undefined || options.onSessionLimit !== undefined) && options.userId === undefined) {
    throw new ConfigError(
      'option "maxSessionsPerUser" needs "userId" (where a session names its user, e.g. userId: "user.id"): without it the store cannot tell whose sessions to count',
    );
  }
  if (options.sessionToken !== undefined && options.accessKeyId === undefined) {
    throw new ConfigError('option "sessionToken" needs accessKeyId and secretAccessKey beside it');
  }
  if (options.billingMode === 'PAY_PER_REQUEST' && (options.readCapacityUnits !== undefined || options.writeCapacityUnits !== undefined)) {
    throw new ConfigError(
      'options "readCapacityUnits"/"writeCapacityUnits" apply to billingMode "PROVISIONED" only: drop them, or set billingMode: "PROVISIONED"',
    );
  }
  if (options.regions !== undefined && options.client !== undefined) {
    throw new ConfigError('option "regions" needs the store to make its own client for each Region: drop "client", or drop "regions"');
  }
  if (options.regions !== undefined && (options.region === undefined || !regionNames(options.regions).includes(options.region))) {
    throw new ConfigError(`option "regions" needs "region", this server's own Region, to be one of them (got ${got(options.region)})`);
  }
  const userIndex = options.userIndex === true ? DEFAULT_USER_INDEX : options.userIndex || undefined;
  return Object.freeze({
    table: options.table ?? DEFAULTS.table,
    region: options.region,
    endpoint: options.endpoint,
    accessKeyId: options.accessKeyId,
    secretAccessKey: options.secretAccessKey,
    sessionToken: options.sessionToken,
    credentialsFile: options.credentialsFile,
    readCapacityUnits: options.readCapacityUnits ?? DEFAULTS.readCapacityUnits,
    writeCapacityUnits: options.writeCapacityUnits ?? DEFAULTS.writeCapacityUnits,
    createIfNotExist: options.createIfNotExist ?? DEFAULTS.createIfNotExist,
    billingMode: options.billingMode ?? DEFAULTS.billingMode,
    consistentRead: options.consistentRead ?? DEFAULTS.consistentRead,
    ttl: options.ttl ?? DEFAULTS.ttl,
    touchAfter: options.touchAfter ?? DEFAULTS.touchAfter,
    locking: options.locking ?? DEFAULTS.locking,
    lockLeaseMs: options.lockLeaseMs ?? DEFAULTS.lockLeaseMs,
    maxLockHoldMs: options.maxLockHoldMs ?? DEFAULTS.maxLockHoldMs,
    maxLockWaitMs: options.maxLockWaitMs ?? DEFAULTS.maxLockWaitMs,
    maxSaveAttempts: options.maxSaveAttempts ?? DEFAULTS.maxSaveAttempts,
    onConflict: options.onConflict,
    compression: options.compression ?? DEFAULTS.compression,
    compressionThreshold: options.compressionThreshold ?? DEFAULTS.compressionThreshold,
    maxSessionBytes: options.maxSessionBytes ?? DEFAULTS.maxSessionBytes,
    decodedCacheBytes: options.decodedCacheBytes ?? DEFAULTS.decodedCacheBytes,
    encryptionKeys: Object.freeze([...(options.encryptionKeys ?? [])]),
    hashSessionIds: options.hashSessionIds,
    deleteCorruptSessions: options.deleteCorruptSessions ?? DEFAULTS.deleteCorruptSessions,
    reapIntervalMs: options.reapIntervalMs ?? DEFAULTS.reapIntervalMs,
    userIndex,
    userId: options.userId,
    maxLifetime: options.maxLifetime,
    maxSessionsPerUser: options.maxSessionsPerUser,
    onSessionLimit: options.onSessionLimit ?? 'evict-oldest',
    trackDevices: options.trackDevices ?? false,
    maxAttempts: options.maxAttempts ?? DEFAULTS.maxAttempts,
    retryMode: options.retryMode ?? DEFAULTS.retryMode,
    requestTimeoutMs: options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs,
    skipTableCheck: options.skipTableCheck ?? DEFAULTS.skipTableCheck,
    returnConsumedCapacity: options.returnConsumedCapacity ?? DEFAULTS.returnConsumedCapacity,
    fallback: toFallback(options.fallback),
    logger: options.logger,
    client: options.client,
    regions: options.regions === undefined ? undefined : replicas(options.regions, options.region!, options.endpoint),
    onRegionFailure: options.onRegionFailure ?? 'fail',
  });
}

function regionNames(regions: string[] | Record<string, string | null>): string[] {
  return Array.isArray(regions) ? regions : Object.keys(regions);
}

/** Sorted by name, so that every server derives the same home for a session whose id names none. */
function replicas(regions: string[] | Record<string, string | null>, own: string, endpoint: string | undefined): ReadonlyArray<RegionReplica> {
  const list = regionNames(regions).map((name) => ({
    name,
    endpoint: (Array.isArray(regions) ? undefined : regions[name]) ?? (name === own ? endpoint : undefined),
  }));
  return Object.freeze(list.sort((a, b) => (a.name < b.name ? -1 : 1)));
}

/** What stands in a printable config for a secret that is set. */
export const REDACTED = '[redacted]';

/**
 * `config` as the store shows it (`store.config`, util.inspect, JSON): the
 * secret access key, the session token, the id-hashing secret and every
 * encryption key replaced by REDACTED, whether they are set still visible.
 * The store keeps the real ones where nothing prints them.
 */
export function redactConfig(config: ResolvedConfig): ResolvedConfig {
  const hide = <T>(value: T | undefined): T | string | undefined => (value === undefined ? undefined : REDACTED);
  return Object.freeze({
    ...config,
    secretAccessKey: hide(config.secretAccessKey) as string | undefined,
    sessionToken: hide(config.sessionToken) as string | undefined,
    hashSessionIds: hide(config.hashSessionIds) as string | undefined,
    encryptionKeys: Object.freeze(config.encryptionKeys.map(({ id }) => Object.freeze({ id, key: REDACTED }))),
  });
}
