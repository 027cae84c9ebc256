/**
 * `dynamodb-session-manager/streams`: the `expired` events of DynamoDB's own
 * TTL deletions, from the session table's stream. For Lambda,
 * `createStreamsHandler({ onExpired })`; for a server (or DynamoDB Local),
 * `startStreamsPoller(store, { onExpired })`, which needs the optional peer
 * `@aws-sdk/client-dynamodb-streams`.
 */
export { createStreamsHandler } from './lambda.js';
export type { StreamsHandlerOptions, DynamoDBStreamsLambdaEvent, StreamsBatchResponse } from './lambda.js';
export { startStreamsPoller } from './poller.js';
export type { StreamsPoller, StreamsPollerOptions, StreamsPollerStats } from './poller.js';
export { expiredEventFromRecord, isTtlDeletion, TTL_PRINCIPAL } from './records.js';
export type { SessionStreamRecord } from './records.js';
export type { ExpiredEvent } from '../core/events.js';
