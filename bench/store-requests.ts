/**
 * The DynamoDB requests SessionStore really sends for one changing request (a
 * load, then a save), captured from a store whose client is a TableInMemory,
 * so that the benchmarks that time the SDK or DynamoDB Local on "our request
 * shapes" send exactly those, not a copy that could drift.
 */
import type { AttributeValue, DynamoDBClient, GetItemCommandInput, UpdateItemCommandInput } from '@aws-sdk/client-dynamodb';
import { SessionStore } from '../src/store/session-store.js';
import { TableInMemory } from './table-in-memory.js';

export interface StoreRequests {
  /** The load's GetItem. */
  get: GetItemCommandInput;
  /** The save's conditional UpdateItem, on an item loaded at version 1. */
  save: UpdateItemCommandInput;
  /** The item as stored after that save (what a later GetItem returns). */
  item: Record<string, AttributeValue>;
}

export async function captureStoreRequests(table: string, key: string, data: Record<string, unknown>): Promise<StoreRequests> {
  const memory = new TableInMemory();
  memory.record = true;
  const store = new SessionStore({ client: memory as unknown as DynamoDBClient, table, skipTableCheck: true, reapIntervalMs: 0 });
  await store.set(key, data);
  memory.sent.length = 0;
  const loaded = await store.load(key);
  if (!loaded) throw new Error('bench/store-requests: the captured store lost its session');
  await store.commit(loaded.handle, key, { ...loaded.data, visits: Number(loaded.data.visits ?? 0) + 1 });
  await store.close();
  const get = memory.sent.find((s) => s.name === 'GetItemCommand');
  const save = memory.sent.find((s) => s.name === 'UpdateItemCommand');
  const item = memory.items.get(key);
  if (!get || !save || !item) throw new Error(`bench/store-requests: expected a GetItem and an UpdateItem, saw ${memory.sent.map((s) => s.name).join(', ')}`);
  return { get: get.input as unknown as GetItemCommandInput, save: save.input as unknown as UpdateItemCommandInput, item };
}

/** The save for `key` over the item at `version`: the captured request with its key, version and write id replaced. */
export function saveAt(template: UpdateItemCommandInput, key: string, version: number, writeId: string): UpdateItemCommandInput {
  const values = { ...template.ExpressionAttributeValues };
  values[':v'] = { N: String(version) };
  if (values[':nv']) values[':nv'] = { N: String(version + 1) };
  values[':wid'] = { S: writeId };
  return { ...template, Key: { sessionId: { S: key } }, ExpressionAttributeValues: values };
}
