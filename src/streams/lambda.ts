import type { ExpiredEvent } from '../core/events.js';
import { ConfigError } from '../errors.js';
import { expiredEventFromRecord, type SessionStreamRecord } from './records.js';
import { announcedIn } from '../regions/stream-owner.js';

export interface StreamsHandlerOptions {
  /**
   * Called once for each session DynamoDB's TTL deleted, in stream order. A
   * rejection stops the batch there: the handler reports that record as the
   * batch's failure, and Lambda delivers it again with those after it.
   */
  onExpired: (event: ExpiredEvent) => unknown;
  /** A global table: this function's Region and the table's replica Regions; each expiry is told in one Region only. */
  region?: string;
  regions?: string[];
}

/** The event a DynamoDB Streams event source mapping gives a Lambda function (the fields read here). */
export interface DynamoDBStreamsLambdaEvent {
  Records: SessionStreamRecord[];
}

/** The answer Lambda reads with `FunctionResponseTypes: ['ReportBatchItemFailures']`. */
export interface StreamsBatchResponse {
  batchItemFailures: Array<{ itemIdentifier: string }>;
}

/**
 * A Lambda handler for the session table's stream: `export const handler =
 * createStreamsHandler({ onExpired })`. It turns each REMOVE signed by
 * DynamoDB's TTL principal into an `expired` event (source 'ttl') and passes
 * every other record by (writes, and deletes the store made, which it reports
 * itself). With ReportBatchItemFailures on the event source mapping, a
 * rejected `onExpired` is retried from that record, so no expiry is skipped;
 * without it Lambda retries the whole batch, and earlier records of it are
 * told again.
 */
export function createStreamsHandler(options: StreamsHandlerOptions): (event: DynamoDBStreamsLambdaEvent) => Promise<StreamsBatchResponse> {
  if (!options || typeof options.onExpired !== 'function') {
    throw new ConfigError('option "onExpired" of createStreamsHandler must be a function: createStreamsHandler({ onExpired: (event) => … })');
  }
  return async (event) => {
    for (const record of event?.Records ?? []) {
      const expired = expiredEventFromRecord(record);
      if (!expired || !announcedIn(record, options.region, options.regions)) continue;
      try {
        await options.onExpired(expired);
      } catch {
        // Records of a shard are in order: report the first failure; Lambda resends from it.
        const id = record.dynamodb?.SequenceNumber ?? record.eventID ?? '';
        return { batchItemFailures: [{ itemIdentifier: id }] };
      }
    }
    return { batchItemFailures: [] };
  };
}
