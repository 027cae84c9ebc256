/**
 * A DynamoDB Streams record → the `expired` event it stands for, if any. The
 * same records reach a Lambda function (JSON, `userIdentity.type` and
 * `.principalId`) and a GetRecords caller (the SDK's shape, `.Type` and
 * `.PrincipalId`); both are read here.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { ExpiredEvent } from '../core/events.js';
import { expiredEventOf } from '../core/expired-event.js';
import { REAPER_KEY } from '../core/purge.js';
import { isChunkKey } from '../core/chunks.js';

/** What DynamoDB's TTL process signs its deletions with (DynamoDB developer guide, "TTL and DynamoDB Streams"). */
export const TTL_PRINCIPAL = { type: 'Service', principalId: 'dynamodb.amazonaws.com' } as const;

/** A stream record as GetRecords returns it or Lambda delivers it; only what is read here. */
export interface SessionStreamRecord {
  eventID?: string;
  eventName?: 'INSERT' | 'MODIFY' | 'REMOVE' | string;
  dynamodb?: {
    Keys?: Record<string, AttributeValue | { S?: string; N?: string }>;
    OldImage?: Record<string, AttributeValue | { S?: string; N?: string; B?: unknown }>;
    SequenceNumber?: string;
    StreamViewType?: string;
  };
  /** Lambda's spelling: `type`, `principalId`; the Streams API's (SDK v3): `Type`, `PrincipalId`. */
  userIdentity?: { type?: string; principalId?: string; Type?: string; PrincipalId?: string } | null;
}

/**
 * Whether DynamoDB's TTL process deleted this item: a REMOVE signed by the
 * service principal. Any other REMOVE is a delete someone made (a logout, a
 * revoke, a purge): the store reports those itself, as `destroyed` or as
 * `expired` with source 'purge' or 'reaper'.
 */
export function isTtlDeletion(record: SessionStreamRecord): boolean {
  const who = record.userIdentity;
  return (
    record.eventName === 'REMOVE' &&
    (who?.type ?? who?.Type) === TTL_PRINCIPAL.type &&
    (who?.principalId ?? who?.PrincipalId) === TTL_PRINCIPAL.principalId
  );
}

/**
 * The `expired` event (source 'ttl') of a TTL deletion, else undefined. Its
 * payload comes from the old image (StreamViewType OLD_IMAGE or
 * NEW_AND_OLD_IMAGES); a KEYS_ONLY stream gives the key alone, with no
 * `userId` and no `expiredAt`.
 */
export function expiredEventFromRecord(record: SessionStreamRecord): ExpiredEvent | undefined {
  if (!isTtlDeletion(record)) return undefined;
  const image = (record.dynamodb?.OldImage ?? record.dynamodb?.Keys) as Record<string, AttributeValue> | undefined;
  // The reaper's lease is no session, and neither is a large session's chunk (TTL takes its chunks after it).
  if (!image || image.sessionId?.S === REAPER_KEY || isChunkKey(image.sessionId?.S)) return undefined;
  return expiredEventOf(image, 'ttl');
}
