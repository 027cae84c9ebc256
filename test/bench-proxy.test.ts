/**
 * The benchmark's counting proxy: every call and every capacity unit the
 * client spends must be counted, whether or not the client asked for them.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { ENDPOINT, uniqueTable } from './helpers/dynamo.js';
import { startCountingProxy, type CountingProxy } from '../bench/counting-proxy.js';

let proxy: CountingProxy;
let client: DynamoDBClient;
const table = uniqueTable('proxy');

before(async () => {
  proxy = await startCountingProxy(ENDPOINT);
  client = new DynamoDBClient({
    endpoint: proxy.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  await client.send(
    new CreateTableCommand({
      TableName: table,
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
});

after(async () => {
  client?.destroy();
  await proxy?.close();
});

const blob = (bytes: number) => ({ B: new Uint8Array(bytes).fill(7) });

test('counts each call by the operation named in X-Amz-Target', async () => {
  proxy.reset();
  await client.send(new PutItemCommand({ TableName: table, Item: { id: { S: 'a' }, data: blob(10) } }));
  await client.send(new GetItemCommand({ TableName: table, Key: { id: { S: 'a' } } }));
  await client.send(new GetItemCommand({ TableName: table, Key: { id: { S: 'a' } } }));
  const t = proxy.snapshot();
  assert.equal(t.calls, 3);
  assert.equal(t.byOperation.PutItem?.calls, 1);
  assert.equal(t.byOperation.GetItem?.calls, 2);
  assert.equal(t.errors, 0);
});

test('capacity is counted for a client that never asked for it, by item size', async () => {
  await client.send(new PutItemCommand({ TableName: table, Item: { id: { S: 'big' }, data: blob(5000) } }));
  proxy.reset();
  // ~5 KB: a strongly consistent read is 2 RCU (per started 4 KB), eventually consistent half that.
  const strong = await client.send(new GetItemCommand({ TableName: table, Key: { id: { S: 'big' } }, ConsistentRead: true }));
  await client.send(new GetItemCommand({ TableName: table, Key: { id: { S: 'big' } }, ConsistentRead: false }));
  // The client sees the answer it asked for: the item, without the capacity the proxy asked for on its behalf.
  assert.equal(strong.ConsumedCapacity, undefined);
  assert.equal(strong.Item?.data?.B?.length, 5000);
  // A 5 KB write is 5 WCU (per started 1 KB); an update is billed on the whole item.
  await client.send(new PutItemCommand({ TableName: table, Item: { id: { S: 'big2' }, data: blob(4500) } }));
  await client.send(
    new UpdateItemCommand({
      TableName: table,
      Key: { id: { S: 'big' } },
      UpdateExpression: 'SET n = :n',
      ExpressionAttributeValues: { ':n': { N: '1' } },
    }),
  );
  const t = proxy.snapshot();
  assert.equal(t.byOperation.GetItem?.rcu, 3);
  assert.equal(t.byOperation.PutItem?.wcu, 5);
  assert.equal(t.byOperation.UpdateItem?.wcu, 5);
  assert.equal(t.rcu, 3);
  assert.equal(t.wcu, 10);
});

test('a client that asked for capacity still gets it in the response, counted once', async () => {
  proxy.reset();
  const out = await client.send(
    new GetItemCommand({ TableName: table, Key: { id: { S: 'a' } }, ConsistentRead: true, ReturnConsumedCapacity: 'TOTAL' }),
  );
  assert.equal(out.ConsumedCapacity?.CapacityUnits, 1);
  assert.equal(out.Item?.id?.S, 'a');
  assert.equal(proxy.snapshot().rcu, 1);
});

test('batch writes sum the capacity of every item in the batch', async () => {
  proxy.reset();
  const items = Array.from({ length: 25 }, (_, i) => ({ PutRequest: { Item: { id: { S: `batch-${i}` }, data: blob(1500) } } }));
  await client.send(new BatchWriteItemCommand({ RequestItems: { [table]: items } }));
  const t = proxy.snapshot();
  assert.equal(t.byOperation.BatchWriteItem?.calls, 1);
  // Each ~1.5 KB item: 2 WCU.
  assert.equal(t.wcu, 50);
});

test('a failed conditional write is counted as a call and an error', async () => {
  proxy.reset();
  await assert.rejects(
    client.send(
      new DeleteItemCommand({ TableName: table, Key: { id: { S: 'a' } }, ConditionExpression: 'attribute_not_exists(id)' }),
    ),
    { name: 'ConditionalCheckFailedException' },
  );
  const t = proxy.snapshot();
  assert.equal(t.byOperation.DeleteItem?.calls, 1);
  assert.equal(t.byOperation.DeleteItem?.errors, 1);
  assert.equal(t.errors, 1);
});

test('a scan reports the read units of the data it went through', async () => {
  proxy.reset();
  const out = await client.send(new ScanCommand({ TableName: table, Select: 'COUNT' }));
  const t = proxy.snapshot();
  assert.equal(t.byOperation.Scan?.calls, 1);
  assert.ok((out.Count ?? 0) >= 28);
  assert.ok(t.rcu > 0, `scan consumed ${t.rcu} RCU`);
});

test('reset starts the tallies from zero', async () => {
  await client.send(new GetItemCommand({ TableName: table, Key: { id: { S: 'a' } } }));
  proxy.reset();
  assert.deepEqual(proxy.snapshot(), { calls: 0, rcu: 0, wcu: 0, errors: 0, byOperation: {} });
});
