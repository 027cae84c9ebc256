/**
 * Which Region's stream announces a session's end. In a global table every
 * Region's stream carries every change, replicated ones included, so a TTL
 * deletion reaches a stream consumer in each Region; told by all of them, one
 * expiry would be told once per Region. One Region owns each record: the one
 * that wrote the item last, which the store records on the item (`writtenIn`,
 * as AWS advises stream consumers of global tables to do), else the session's
 * home Region (home-region.ts). Both are the same in every Region's copy of
 * the record, so exactly one consumer announces it.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { homeRegionOf } from './home-region.js';

/** The item attribute naming the Region that received its last write. */
export const WRITTEN_IN = 'writtenIn';

type Image = Record<string, AttributeValue | { S?: string }> | undefined;

/** Whether the consumer in `region`, of a table with replicas `regions`, announces this record. Without regions: yes. */
export function announcedIn(
  record: { dynamodb?: { Keys?: Image; OldImage?: Image } },
  region: string | undefined,
  regions: readonly string[] | undefined,
): boolean {
  if (!regions || regions.length < 2 || region === undefined) return true;
  const writer = (record.dynamodb?.OldImage?.[WRITTEN_IN] as { S?: string } | undefined)?.S;
  if (writer !== undefined && regions.includes(writer)) return writer === region;
  const key = (record.dynamodb?.Keys?.sessionId as { S?: string } | undefined)?.S ?? '';
  return homeRegionOf(key, [...regions].sort()) === region;
}
