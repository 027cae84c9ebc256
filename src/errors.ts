/**
 * Every error this library throws is a SessionStoreError with a stable `code`.
 * Messages say what happened, where (table, hashed session id) and what to do;
 * they never carry a secret or a raw session id.
 */
export class SessionStoreError extends Error {
  // Spelled out in every class: bundlers that minify (Next.js, a Lambda bundle) rename classes.
  override name = 'SessionStoreError';
  readonly code: string;
  /** Whether retrying the same call later may succeed (outages, lock time-outs). */
  readonly retryable: boolean;

  constructor(code: string, message: string, options?: { cause?: unknown; retryable?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options?.retryable ?? false;
  }
}

/** An option is unknown, ill-typed or out of range; thrown at construction. */
export class ConfigError extends SessionStoreError {
  override name = 'ConfigError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('DSM_CONFIG', message, options);
  }
}

/** Credentials could not be read from the configured source. */
export class CredentialsError extends SessionStoreError {
  override name = 'CredentialsError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('DSM_CREDENTIALS', message, options);
  }
}

/** The session table does not exist and `createIfNotExist` is false. */
export class TableNotFoundError extends SessionStoreError {
  override name = 'TableNotFoundError';
  readonly table: string;
  constructor(table: string, message: string) {
    super('DSM_TABLE_NOT_FOUND', message);
    this.table = table;
  }
}

/** The table exists but its key schema is not a single string hash key `sessionId`. */
export class TableSchemaError extends SessionStoreError {
  override name = 'TableSchemaError';
  readonly table: string;
  constructor(table: string, message: string) {
    super('DSM_TABLE_SCHEMA', message);
    this.table = table;
  }
}

/** The encoded session would exceed DynamoDB's 400 KB item limit; nothing was written. */
export class SessionTooLargeError extends SessionStoreError {
  override name = 'SessionTooLargeError';
  readonly size: number;
  readonly limit: number;
  constructor(message: string, size: number, limit: number) {
    super('DSM_SESSION_TOO_LARGE', message);
    this.size = size;
    this.limit = limit;
  }
}

/** The session holds a value JSON cannot carry (BigInt, a cycle, a function); nothing was written. */
export class SessionSerializationError extends SessionStoreError {
  override name = 'SessionSerializationError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('DSM_SESSION_SERIALIZATION', message, options);
  }
}

/** A stored item could not be decoded (garbage bytes, wrong attribute types, unknown format). */
export class CorruptSessionError extends SessionStoreError {
  override name = 'CorruptSessionError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('DSM_CORRUPT_SESSION', message, options);
  }
}

/**
 * An encrypted session could not be opened with this server's `encryptionKeys`:
 * its key id is not listed, or it failed authentication (another key under
 * the same id, or an item altered or moved). A configuration error until
 * proven otherwise: the session is kept, never deleted, and the request is
 * answered 503, so a server deployed with the wrong keys, or one step of a
 * rolling rotation, cannot wipe the sessions it reads.
 */
export class EncryptionKeyError extends SessionStoreError {
  override name = 'EncryptionKeyError';
  readonly keyId: string;
  readonly retryAfterSeconds: number;
  constructor(keyId: string, message: string, options?: { cause?: unknown }) {
    super('DSM_ENCRYPTION_KEY', message, { cause: options?.cause, retryable: true });
    this.keyId = keyId;
    this.retryAfterSeconds = 30;
  }
}

/**
 * No longer thrown: every server decodes LZ4 sessions in JavaScript. Kept
 * exported so that code which catches it still compiles.
 */
export class CodecUnavailableError extends SessionStoreError {
  override name = 'CodecUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('DSM_CODEC_UNAVAILABLE', message, options);
  }
}

/** A session id is empty, too long or not a string; refused without a DynamoDB call. */
export class InvalidSessionIdError extends SessionStoreError {
  override name = 'InvalidSessionIdError';
  constructor(message: string) {
    super('DSM_INVALID_SESSION_ID', message);
  }
}

/**
 * A new session's first write found its id in use by another session: the id
 * generator (`genid`) repeated itself. Nothing was written, and the existing
 * session was not joined. The adapters draw a new id themselves when the
 * generator is theirs; a custom `genid` must produce unguessable, unique ids.
 */
export class SessionIdTakenError extends SessionStoreError {
  override name = 'SessionIdTakenError';
  constructor(message: string) {
    super('DSM_SESSION_ID_TAKEN', message);
  }
}

/** A pessimistic lock could not be taken within `maxLockWaitMs`. Answer 503 and retry. */
/**
 * A login would give a user more live sessions than `maxSessionsPerUser`, and
 * `onSessionLimit` is `'refuse'`: nothing was written. Answer it as the app
 * answers a refused login (e.g. 409 with a page listing the user's devices).
 */
export class SessionLimitError extends SessionStoreError {
  override name = 'SessionLimitError';
  readonly limit: number;
  constructor(message: string, limit: number) {
    super('DSM_SESSION_LIMIT', message);
    this.limit = limit;
  }
}

/** The DynamoDB engine lacks an operation a configured feature needs (dynalite has no transactions). */
export class EngineFeatureError extends SessionStoreError {
  override name = 'EngineFeatureError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('DSM_ENGINE_FEATURE', message, options);
  }
}

export class LockTimeoutError extends SessionStoreError {
  override name = 'LockTimeoutError';
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number) {
    super('DSM_LOCK_TIMEOUT', message, { retryable: true });
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** The store could not reach DynamoDB (network, throttling beyond retries, time-out). */
export class StoreUnavailableError extends SessionStoreError {
  override name = 'StoreUnavailableError';
  readonly retryAfterSeconds: number;
  constructor(message: string, options?: { cause?: unknown; retryAfterSeconds?: number }, code = 'DSM_STORE_UNAVAILABLE') {
    super(code, message, { cause: options?.cause, retryable: true });
    this.retryAfterSeconds = options?.retryAfterSeconds ?? 1;
  }
}

/**
 * A save was sent and its answer lost, and what would tell whether it landed
 * did not come either: the reads after it went unanswered, or more requests
 * wrote the session since than its item remembers. It may have been applied.
 * Adapters answer 503 as for any outage; a client that retries a request
 * which is not idempotent may apply it twice, which only it can prevent (an
 * idempotency key of its own). Rare: it takes DynamoDB falling silent right
 * after a write landed (docs/reliability.md).
 */
export class SaveOutcomeUnknownError extends StoreUnavailableError {
  override name = 'SaveOutcomeUnknownError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options, 'DSM_OUTCOME_UNKNOWN');
  }
}

/** `dynamodb-session import` could not read its source (a Redis server away, or failing mid-import); the checkpoint holds. */
export class ImportSourceError extends SessionStoreError {
  override name = 'ImportSourceError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('DSM_IMPORT_SOURCE', message, { cause: options?.cause, retryable: true });
  }
}

/** The embedded DynamoDB Local could not start (Java missing, port taken, jar absent). */
export class EmbeddedDynamoDBError extends SessionStoreError {
  override name = 'EmbeddedDynamoDBError';
  constructor(code: 'DSM_JAVA_NOT_FOUND' | 'DSM_EMBEDDED_START', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/**
 * A feature was called whose optional peer package is not installed (say
 * `fastifyDynamoSession` without `@fastify/session`). Entries load their
 * optional peers only where they are used, so this comes when the feature is
 * first used, not when the entry is imported.
 */
export class MissingPeerError extends SessionStoreError {
  override name = 'MissingPeerError';
  readonly packageName: string;
  constructor(packageName: string, feature: string, options?: { cause?: unknown }) {
    super('DSM_MISSING_PEER', `${feature} needs the package "${packageName}", which is not installed: run \`npm install ${packageName}\``, options);
    this.packageName = packageName;
  }
}

/**
 * A session was saved where the framework lets nothing set a cookie: in
 * Next.js, a Server Component (only Server Actions and Route Handlers may).
 * Nothing was written. Read the session there; change it in a Server Action
 * or Route Handler.
 */
export class ReadOnlySessionError extends SessionStoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('DSM_READ_ONLY_SESSION', message, options);
    // Spelled out: Next.js bundles and minifies server code, class names included.
    this.name = 'ReadOnlySessionError';
  }
}
