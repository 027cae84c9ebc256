export { SessionStore } from './store/session-store.js';
export type { SessionData, SessionHandle, LoadedSession, LoadOptions, CommitOptions, CommitOutcome, TouchOptions } from './store/session-store.js';
export type { Lease } from './core/lease-lock.js';
export type { EnsureTableResult } from './table/ensure-table.js';
export type { SessionEvents, CreatedEvent, RegeneratedEvent, DestroyedEvent, ExpiredEvent, DestroyReason, ExpirySource } from './core/events.js';
export type { StoreStats } from './core/stats.js';
export type { FallbackOption, FallbackSession, SessionFallback } from './core/fallback.js';
export type { Logger } from './logger.js';
export type { SessionStoreOptions, ResolvedConfig, LockingMode, BillingMode, ConflictResolver, EncryptionKey, RegionReplica } from './config/options.js';
export { loadContextXml } from './config/context-xml.js';
export { describeCredentials } from './aws/credentials.js';
export type { CredentialSource, CredentialsDescription } from './aws/credentials.js';
export { createTableInput } from './table/schema.js';
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
  SaveOutcomeUnknownError,
  EmbeddedDynamoDBError,
  MissingPeerError,
  SessionLimitError,
  EngineFeatureError,
  ImportSourceError,
} from './errors.js';
export { purgeExpired, startReaper, destroyUserSessions, listUserSessionKeys } from './admin.js';
export type { PurgeOptions, PurgeProgress } from './core/purge.js';
export type { Reaper, ReaperOptions, ReaperTick } from './core/reaper.js';
export type { UserSessionsResult, UserSessionList, UserSession } from './core/user-sessions.js';
export { iamPolicy } from './table/iam-policy.js';
export { homeRegionIds, homeSessionId } from './regions/home-region.js';
export type { IamPolicyDocument, IamPolicyOptions, PolicyFeature } from './table/iam-policy.js';
