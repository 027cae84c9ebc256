/**
 * DynamoDB Local's own CPU per request, by request shape: the JVM's CPU time
 * (from /proc, so Linux only) over rounds of 2,000 requests, 10 in flight, for the
 * writes this store makes next to the plain PutItem a store without
 * concurrency control makes (connect-dynamodb's shape), on the same 2 KB
 * session. It is what the write-heavy benchmark's DynamoDB side costs on a
 * machine the app shares with DynamoDB Local; DynamoDB itself bills the same
 * units for every one of these writes.
 *
 * `node --import tsx bench/engine-cost.ts` (or `npm run bench:engine`).
 */
import { CreateTableCommand, DynamoDBClient, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { startDynamoDBLocal } from '../src/embedded/dynamodb-local.js';
import { processCpuMs } from './process-cpu.js';
import { captureStoreRequests, saveAt } from './store-requests.js';
import { realisticSession } from '../test/helpers/session-fixtures.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** CPU µs DynamoDB Local has used; this benchmark needs /proc (Linux). */
function cpuMicros(pid: number): number {
  const ms = processCpuMs(pid);
  if (ms === undefined) throw new Error(`bench:engine reads DynamoDB Local's CPU time from /proc/${pid}/stat, which this system does not have (Linux only)`);
  return ms * 1000;
}

const SESSIONS = 200;
const sid = (i: number) => `bench-${String(i).padStart(4, '0')}-${'s'.repeat(24)}`;

const db = await startDynamoDBLocal();
const client = new DynamoDBClient({ endpoint: db.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' }, cacheMiddleware: true });
try {
  for (const [table, key] of [['engine_ours', 'sessionId'], ['engine_plain', 'id']] as const) {
    await client.send(new CreateTableCommand({ TableName: table, KeySchema: [{ AttributeName: key, KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: key, AttributeType: 'S' }], BillingMode: 'PAY_PER_REQUEST' }));
  }
  const data = realisticSession(2048, 3);
  const json = JSON.stringify(data);
  // The store's own save request, replayed with each session's key and version.
  const { save, item } = await captureStoreRequests('engine_ours', sid(0), data);
  const version = new Array<number>(SESSIONS).fill(1);
  let writes = 0;
  const ours = (i: number, v: number) => ({ ...item, sessionId: { S: sid(i) }, version: { N: String(v + 1) }, updatedAt: { N: String(Date.now()) }, writeId: { S: `w${writes++}` } });
  const plain = (i: number) => ({ id: { S: `sess:${sid(i)}` }, expires: { N: '1896151563' }, type: { S: 'connect-session' }, sess: { S: json } });
  for (let i = 0; i < SESSIONS; i++) {
    await client.send(new PutItemCommand({ TableName: 'engine_ours', Item: ours(i, 0) }));
    await client.send(new PutItemCommand({ TableName: 'engine_plain', Item: plain(i) }));
  }
  const update = (i: number, condition?: string) => {
    const input = saveAt(save, sid(i), version[i]!++, `w${writes++}`);
    if (condition === undefined) return new UpdateItemCommand(input);
    const values = { ...input.ExpressionAttributeValues };
    if (!condition.includes(':nowSec')) delete values[':nowSec'];
    return new UpdateItemCommand({ ...input, ConditionExpression: condition, ExpressionAttributeValues: values });
  };
  const conditionalPut = (condition: string) => (i: number) => {
    const v = version[i]!++;
    const values = { ':v': { N: String(v) }, ...(condition.includes(':nowSec') ? { ':nowSec': { N: '1796150000' } } : {}) };
    return new PutItemCommand({ TableName: 'engine_ours', Item: ours(i, v), ConditionExpression: condition, ReturnValuesOnConditionCheckFailure: 'ALL_OLD', ExpressionAttributeValues: values });
  };
  // The same save in the legacy parameters (AttributeUpdates + Expected), which DynamoDB Local
  // evaluates without parsing an expression; measured for the record, not used (AWS calls them legacy).
  const legacyUpdate = (i: number) => {
    const input = saveAt(save, sid(i), version[i]!++, `w${writes++}`);
    const values = input.ExpressionAttributeValues!;
    return new UpdateItemCommand({
      TableName: input.TableName,
      Key: input.Key,
      AttributeUpdates: {
        data: { Action: 'PUT', Value: values[':data'] },
        expiresAt: { Action: 'PUT', Value: values[':exp'] },
        updatedAt: { Action: 'PUT', Value: values[':now'] },
        writeId: { Action: 'PUT', Value: values[':wid'] },
        version: { Action: 'PUT', Value: values[':nv'] },
      },
      Expected: { version: { ComparisonOperator: 'EQ', AttributeValueList: [values[':v']!] }, expiresAt: { ComparisonOperator: 'GT', AttributeValueList: [values[':nowSec']!] } },
      ConditionalOperator: 'AND',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
  };
  // The store's save with one part taken away, to see what each part costs the engine.
  const trimmed = (i: number, trim: (input: UpdateItemCommand['input']) => void) => {
    const command = update(i);
    trim(command.input);
    return command;
  };
  const shapes: Array<[string, (i: number) => PutItemCommand | UpdateItemCommand]> = [
    ['PutItem, no condition (connect-dynamodb)', (i) => new PutItemCommand({ TableName: 'engine_plain', Item: plain(i) })],
    ['PutItem of our item, no condition', (i) => new PutItemCommand({ TableName: 'engine_ours', Item: ours(i, version[i]!++) })],
    ['PutItem, version and expiry condition', conditionalPut('version = :v AND expiresAt > :nowSec')],
    ['PutItem, version condition only', conditionalPut('version = :v')],
    [`UpdateItem as the store sends it (${save.ConditionExpression})`, (i) => update(i)],
    ['UpdateItem, version condition only', (i) => update(i, 'version = :v')],
    [
      'UpdateItem, no condition',
      (i) =>
        trimmed(i, (input) => {
          delete input.ConditionExpression;
          delete input.ReturnValuesOnConditionCheckFailure;
          delete input.ExpressionAttributeValues![':v'];
          delete input.ExpressionAttributeValues![':nowSec'];
        }),
    ],
    [
      'UpdateItem, setting only data and version',
      (i) =>
        trimmed(i, (input) => {
          input.UpdateExpression = 'SET #data = :data, version = :nv';
          for (const name of [':exp', ':now', ':wid']) delete input.ExpressionAttributeValues![name];
        }),
    ],
    ['UpdateItem, legacy AttributeUpdates + Expected', legacyUpdate],
  ];
  const results = new Map<string, number[]>();
  // Rounds in alternating order; the first three warm the JVM up (its JIT compiles each request
  // kind's path over the first tens of thousands of requests) and are not kept.
  const WARM_UP_ROUNDS = 3;
  const ROUNDS = 8;
  for (let round = 0; round < WARM_UP_ROUNDS + ROUNDS; round++) {
    for (const [name, make] of round % 2 ? [...shapes].reverse() : shapes) {
      let next = 0;
      const count = 2000;
      const start = cpuMicros(db.pid);
      await Promise.all(Array.from({ length: 10 }, async () => {
        while (next < count) await client.send(make(next++ % SESSIONS) as never);
      }));
      if (round >= WARM_UP_ROUNDS) results.set(name, [...(results.get(name) ?? []), (cpuMicros(db.pid) - start) / count]);
    }
  }
  console.log(`DynamoDB Local CPU per write of a 2 KB session (median of ${ROUNDS} rounds of 2,000, 10 in flight, after ${WARM_UP_ROUNDS} warm-up rounds), µs:`);
  for (const [name, list] of results) {
    const sorted = [...list].sort((a, b) => a - b);
    console.log(`  ${name.padEnd(50)} ${sorted[sorted.length >> 1]!.toFixed(0).padStart(5)}   (rounds: ${list.map((v) => v.toFixed(0)).join(', ')})`);
  }
} finally {
  client.destroy();
  await db.stop();
}
