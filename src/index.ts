export { SessionStore } from './core/session-store.js';
export type { SessionData, SessionHandle, LoadedSession, LoadOptions, CommitOptions, CommitOutcome } from './core/session-store.js';
export type { SessionEvents, CreatedEvent, RegeneratedEvent, DestroyedEvent, ExpiredEvent, DestroyReason, ExpirySource } from './core/events.js';
export type { StoreStats } from './core/stats.js';
export type { FallbackOption, FallbackSession, SessionFallback } from './core/fallback.js';
export type { Logger } from './core/logger.js';
export { resolveConfig, DEFAULTS } from './config/options.js';
export type { SessionStoreOptions, ResolvedConfig, LockingMode, BillingMode, ConflictResolver, EncryptionKey } from './config/options.js';
export { loadContextXml, parseContextXml, loadContextXmlDetailed, parseContextXmlDetailed } from './config/context-xml.js';
export type { ContextXmlResult } from './config/context-xml.js';
export { describeCredentials } from './aws/credentials.js';
export type { CredentialSource } from './aws/credentials.js';
export { createTableInput } from './table/schema.js';
export { startDynamoDBLocal } from './embedded/dynamodb-local.js';
export type { EmbeddedDynamoDB, EmbeddedDynamoDBOptions } from './embedded/dynamodb-local.js';
export {
  SessionStoreError,
  ConfigError,
  CredentialsError,
  TableNotFoundError,
  TableSchemaError,
  SessionTooLargeError,
  SessionSerializationError,
  CodecUnavailableError,
  CorruptSessionError,
  EncryptionKeyError,
  InvalidSessionIdError,
  SessionIdTakenError,
  LockTimeoutError,
  StoreUnavailableError,
  EmbeddedDynamoDBError,
  MissingPeerError,
  SessionLimitError,
  EngineFeatureError,
  ImportSourceError,
} from './errors.js';
export { purgeExpired } from './core/purge.js';
export type { PurgeOptions, PurgeProgress } from './core/purge.js';
export { startReaper } from './core/reaper.js';
export type { Reaper, ReaperOptions, ReaperTick } from './core/reaper.js';
export { destroyUserSessions, listUserSessions } from './core/user-sessions.js';
export type { UserSessionsResult } from './core/user-sessions.js';
export { iamPolicy } from './table/iam-policy.js';
export { homeRegionIds, homeSessionId } from './regions/home-region.js';
export type { IamPolicyDocument, IamPolicyOptions, PolicyFeature } from './table/iam-policy.js';
