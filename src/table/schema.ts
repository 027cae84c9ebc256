import type { CreateTableCommandInput, TableDescription } from '@aws-sdk/client-dynamodb';
import type { ResolvedConfig } from '../config/options.js';

/** The seed's table: one string hash key named `sessionId`, no range key. */
export const HASH_KEY = 'sessionId';
export const TTL_ATTRIBUTE = 'expiresAt';
export const USER_ATTRIBUTE = 'userId';
/**
 * The cheapest stream view type that gives a TTL deletion's `expired` event its
 * payload: the old image holds the key, `userId` and the expiry (KEYS_ONLY
 * lacks the owner; NEW_AND_OLD_IMAGES would carry every write's new image too).
 */
export const STREAM_VIEW_TYPE = 'OLD_IMAGE';

/**
 * The CreateTable request for the configured table: the seed's key schema, billing and capacity;
 * with `streams`, a stream (OLD_IMAGE) for the `expired` events of TTL deletions.
 */
export function createTableInput(
  config: Pick<ResolvedConfig, 'table' | 'billingMode' | 'readCapacityUnits' | 'writeCapacityUnits' | 'userIndex'> & { streams?: boolean },
): CreateTableCommandInput {
  const provisioned = config.billingMode === 'PROVISIONED';
  const throughput = provisioned
    ? { ProvisionedThroughput: { ReadCapacityUnits: config.readCapacityUnits, WriteCapacityUnits: config.writeCapacityUnits } }
    : {};
  return {
    TableName: config.table,
    KeySchema: [{ AttributeName: HASH_KEY, KeyType: 'HASH' }],
    AttributeDefinitions: [
      { AttributeName: HASH_KEY, AttributeType: 'S' },
      ...(config.userIndex ? [{ AttributeName: USER_ATTRIBUTE, AttributeType: 'S' as const }] : []),
    ],
    BillingMode: config.billingMode,
    ...throughput,
    ...(config.streams ? { StreamSpecification: { StreamEnabled: true, StreamViewType: STREAM_VIEW_TYPE } } : {}),
    ...(config.userIndex
      ? {
          GlobalSecondaryIndexes: [
            {
              IndexName: config.userIndex,
              KeySchema: [{ AttributeName: USER_ATTRIBUTE, KeyType: 'HASH' }],
              // Keys only: revoking a user's sessions needs their ids, nothing more, and a
              // thin index costs the least write capacity on every session save.
              Projection: { ProjectionType: 'KEYS_ONLY' },
              ...throughput,
            },
          ],
        }
      : {}),
  };
}

/** Why a table's key schema is not the seed's, or undefined when it is. */
export function schemaProblem(table: TableDescription): string | undefined {
  const keys = table.KeySchema ?? [];
  const hash = keys.find((k) => k.KeyType === 'HASH');
  const range = keys.find((k) => k.KeyType === 'RANGE');
  const type = table.AttributeDefinitions?.find((a) => a.AttributeName === hash?.AttributeName)?.AttributeType;
  if (hash?.AttributeName !== HASH_KEY) return `its hash key is "${hash?.AttributeName}", not "${HASH_KEY}" (names are case-sensitive)`;
  if (type !== 'S') return `its hash key "${HASH_KEY}" is of type ${type}, not S (string)`;
  if (range) return `it has a range key "${range.AttributeName}"; the session table must have none`;
  return undefined;
}
