/**
 * The facts `dynamodb-session doctor` checks: the table as DynamoDB describes
 * it, its TTL, whether each call the store makes is allowed, and the clock.
 * Every probe is harmless: reads, and writes whose condition is built to fail.
 */
import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  UpdateItemCommand,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import { isConditionalFailure, isDenied, isUnsupportedOperation } from '../aws/errors.js';
import { MAX_ITEM_BYTES } from '../core/item.js';
import { contextOf, type SessionStore } from './session-store.js';
import { SessionStoreError, TableNotFoundError } from '../errors.js';

/** A key no session has (ids come from cookies, which cannot hold spaces). */
export const PROBE_KEY = 'dynamodb-session-manager doctor probe';

export interface ProbeResult {
  /** The IAM action, e.g. `dynamodb:GetItem`. */
  action: string;
  /** unsupported: the engine has no such operation (dynalite's TTL calls), which no permission changes. */
  outcome: 'allowed' | 'denied' | 'error' | 'unsupported';
  /** DynamoDB's error, when not allowed. */
  reason?: string;
}

export interface TtlState {
  status: string;
  attribute: string | undefined;
}

/** The table's description, or undefined when it does not exist. */
export async function describeSessionTable(store: SessionStore): Promise<TableDescription | undefined> {
  const { gateway } = contextOf(store);
  try {
    const out = await gateway.send<{ Table?: TableDescription }>('DescribeTable', new DescribeTableCommand({ TableName: store.config.table }));
    return out.Table;
  } catch (err) {
    if (err instanceof TableNotFoundError) return undefined;
    throw err;
  }
}

export async function ttlState(store: SessionStore): Promise<TtlState> {
  const { gateway } = contextOf(store);
  const out = await gateway.send<{ TimeToLiveDescription?: { TimeToLiveStatus?: string; AttributeName?: string } }>(
    'DescribeTimeToLive',
    new DescribeTimeToLiveCommand({ TableName: store.config.table }),
  );
  return { status: out.TimeToLiveDescription?.TimeToLiveStatus ?? 'DISABLED', attribute: out.TimeToLiveDescription?.AttributeName };
}

async function probe(action: string, call: () => Promise<unknown>): Promise<ProbeResult> {
  try {
    await call();
    return { action, outcome: 'allowed' };
  } catch (err) {
    // The condition was evaluated, so the call itself was allowed.
    if (isConditionalFailure(err)) return { action, outcome: 'allowed' };
    const reason = err instanceof SessionStoreError ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
    return { action, outcome: isDenied(err) ? 'denied' : isUnsupportedOperation(err) ? 'unsupported' : 'error', reason: reason.split('\n')[0] };
  }
}

/**
 * Tries every call the store and the CLI make, on a key no session uses.
 * UpdateItem and DeleteItem carry a condition that cannot hold, so they
 * change nothing; the batch deletes the probe key, which does not exist.
 */
export async function probePermissions(store: SessionStore): Promise<ProbeResult[]> {
  const { gateway } = contextOf(store);
  const table = store.config.table;
  const key = { sessionId: { S: PROBE_KEY } };
  const never = 'attribute_exists(sessionId) AND attribute_not_exists(sessionId)';
  const results = [
    await probe('dynamodb:DescribeTable', () => gateway.send('DescribeTable', new DescribeTableCommand({ TableName: table }))),
    await probe('dynamodb:GetItem', () => gateway.send('GetItem', new GetItemCommand({ TableName: table, Key: key }))),
    await probe('dynamodb:UpdateItem', () =>
      gateway.send(
        'UpdateItem',
        new UpdateItemCommand({
          TableName: table,
          Key: key,
          UpdateExpression: 'SET probe = :p',
          ConditionExpression: never,
          ExpressionAttributeValues: { ':p': { S: 'x' } },
        }),
        { expectConditionFailure: true },
      ),
    ),
    await probe('dynamodb:DeleteItem', () =>
      gateway.send('DeleteItem', new DeleteItemCommand({ TableName: table, Key: key, ConditionExpression: never }), { expectConditionFailure: true }),
    ),
    // A session past 400 KB: its chunks are PutItems before the head's UpdateItem, read with a BatchGetItem.
    ...(store.config.maxSessionBytes > MAX_ITEM_BYTES
      ? [
          await probe('dynamodb:PutItem', () =>
            gateway.send('PutItem', new PutItemCommand({ TableName: table, Item: key, ConditionExpression: never }), { expectConditionFailure: true }),
          ),
          await probe('dynamodb:BatchGetItem', () =>
            gateway.send('BatchGetItem', new BatchGetItemCommand({ RequestItems: { [table]: { Keys: [key] } } })),
          ),
        ]
      : []),
    await probe('dynamodb:DescribeTimeToLive', () => gateway.send('DescribeTimeToLive', new DescribeTimeToLiveCommand({ TableName: table }))),
    await probe('dynamodb:Scan', () => gateway.send('Scan', new ScanCommand({ TableName: table, Limit: 1, ProjectionExpression: 'sessionId' }))),
    await probe('dynamodb:BatchWriteItem', () =>
      gateway.send('BatchWriteItem', new BatchWriteItemCommand({ RequestItems: { [table]: [{ DeleteRequest: { Key: key } }] } })),
    ),
  ];
  const index = store.config.userIndex;
  if (index) {
    results.push(
      await probe('dynamodb:Query', () =>
        gateway.send(
          'Query',
          new QueryCommand({
            TableName: table,
            IndexName: index,
            KeyConditionExpression: 'userId = :u',
            ExpressionAttributeValues: { ':u': { S: PROBE_KEY } },
            Limit: 1,
          }),
        ),
      ),
    );
  }
  return results;
}

type Middleware = (next: (args: unknown) => Promise<{ response: unknown }>) => (args: unknown) => Promise<{ response: unknown }>;

/**
 * DynamoDB's clock minus ours, in ms, from the Date header of a GetItem reply
 * (1 s resolution), or undefined when the reply had none. Expiry is decided by
 * this machine's clock, TTL deletion by AWS's: a skew shifts every session's life.
 */
export async function clockSkewMs(store: SessionStore): Promise<number | undefined> {
  const { gateway } = contextOf(store);
  const command = new GetItemCommand({ TableName: store.config.table, Key: { sessionId: { S: PROBE_KEY } } });
  let date: string | undefined;
  const capture: Middleware = (next) => async (args) => {
    const out = await next(args);
    const headers = (out.response as { headers?: Record<string, string> }).headers ?? {};
    date = headers.date ?? headers.Date;
    return out;
  };
  (command.middlewareStack as unknown as { add(m: Middleware, o: object): void }).add(capture, { step: 'deserialize', name: 'dsmDateHeader' });
  const sent = Date.now();
  await gateway.send('GetItem', command, { ownMiddleware: true });
  const received = Date.now();
  if (!date) return undefined;
  const server = Date.parse(date);
  if (!Number.isFinite(server)) return undefined;
  // The header is whole seconds, stamped somewhere between send and receive: compare with the midpoint, half a second on.
  return server + 500 - (sent + received) / 2;
}

/**
 * Whether the engine returns the item a failed conditional write found
 * (ReturnValuesOnConditionCheckFailure), which the store otherwise reads with
 * one more GetItem per conflict. Needs an item to fail on: writes the probe key
 * with an expiry in the past (it never reads as a session), fails a condition
 * on it, and deletes it. The store's client remembers the answer.
 */
export async function probeConditionFailure(store: SessionStore): Promise<{ engine: string | undefined; returnsItem: boolean | undefined }> {
  const { gateway } = contextOf(store);
  const table = store.config.table;
  const key = { sessionId: { S: PROBE_KEY } };
  await gateway.send(
    'UpdateItem',
    new UpdateItemCommand({
      TableName: table,
      Key: key,
      UpdateExpression: 'SET expiresAt = :zero',
      ExpressionAttributeValues: { ':zero': { N: '0' } },
    }),
  );
  try {
    await gateway.send(
      'UpdateItem',
      new UpdateItemCommand({
        TableName: table,
        Key: key,
        UpdateExpression: 'SET probe = :p',
        ConditionExpression: 'attribute_not_exists(sessionId)',
        ExpressionAttributeValues: { ':p': { S: 'x' } },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
      { expectConditionFailure: true },
    );
  } catch (err) {
    if (!isConditionalFailure(err)) throw err;
    await gateway.itemAfterConditionFailure(err, PROBE_KEY);
  } finally {
    await gateway.send('DeleteItem', new DeleteItemCommand({ TableName: table, Key: key }));
  }
  const engine = gateway.engine;
  return { engine: engine.name, returnsItem: engine.returnsItemOnConditionFailure };
}
