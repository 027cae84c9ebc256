/**
 * What a pessimistic lease bills, by where it lives: on the session item (what
 * the store does: the lease is taken with the read and given back in the save,
 * each an UpdateItem billed on the whole item) or in a small item of its own
 * (`<key>#lock`: a lock write, a strongly consistent GetItem of the session, the
 * save, and a lock release). Capacity units as DynamoDB Local reports them
 * (ReturnConsumedCapacity), per locked request, for a request that only reads
 * and one that changes the session, at 2 KB and 50 KB; the same save request
 * and the same codec in both. Units are DynamoDB's rules, not timings: one run
 * is exact.
 *
 * `node --import tsx bench/lease-cost.ts` (or `npm run bench:lease`).
 */
import { DeleteItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { startDynamoDBLocal } from '../src/embedded/dynamodb-local.js';
import { SessionStore } from '../src/store/session-store.js';
import { realisticSession } from '../test/helpers/session-fixtures.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const ROUNDS = 20;

interface Units {
  read: number;
  write: number;
  calls: number;
}

const total = (u: Units) => u.read + u.write;

/** Units and calls the store itself counted (returnConsumedCapacity) while `run` ran. */
async function counted(store: SessionStore, run: () => Promise<void>): Promise<Units> {
  const before = store.stats();
  await run();
  const after = store.stats();
  const calls = (s: typeof before) => Object.values(s.calls).reduce((a, b) => a + b, 0);
  return { read: after.readCapacityUnits - before.readCapacityUnits, write: after.writeCapacityUnits - before.writeCapacityUnits, calls: calls(after) - calls(before) };
}

/** The lock item's two writes, as a lock-item design would make them, with their billed units. */
async function lockItemCall(client: DynamoDBClient, table: string, key: string, owner: string, take: boolean): Promise<number> {
  const now = Date.now();
  const out = take
    ? await client.send(
        new UpdateItemCommand({
          TableName: table,
          Key: { sessionId: { S: `${key}#lock` } },
          UpdateExpression: 'SET lockOwner = :owner, lockExpiresAt = :until, expiresAt = :ttl',
          ConditionExpression: 'attribute_not_exists(lockOwner) OR lockExpiresAt < :now',
          ExpressionAttributeValues: { ':owner': { S: owner }, ':until': { N: String(now + 10_000) }, ':now': { N: String(now) }, ':ttl': { N: String(Math.ceil(now / 1000) + 60) } },
          ReturnConsumedCapacity: 'TOTAL',
        }),
      )
    : await client.send(
        new DeleteItemCommand({
          TableName: table,
          Key: { sessionId: { S: `${key}#lock` } },
          ConditionExpression: 'lockOwner = :owner',
          ExpressionAttributeValues: { ':owner': { S: owner } },
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
  return out.ConsumedCapacity?.CapacityUnits ?? 0;
}

const db = await startDynamoDBLocal();
const rows: string[] = [];
try {
  const store = new SessionStore({
    endpoint: db.endpoint,
    region: 'us-east-1',
    accessKeyId: 'bench',
    secretAccessKey: 'bench',
    table: 'lease_cost',
    billingMode: 'PAY_PER_REQUEST',
    locking: 'pessimistic',
    returnConsumedCapacity: true,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
  });
  await store.ready();
  for (const [label, size] of [['2 KB', 2048], ['50 KB', 50 * 1024]] as const) {
    const id = `lease-cost-${size}`;
    const base = realisticSession(size, 7);
    await store.set(id, base);
    const sum = { onItem: { readOnly: { read: 0, write: 0, calls: 0 }, changing: { read: 0, write: 0, calls: 0 } }, lockItem: { readOnly: { read: 0, write: 0, calls: 0 }, changing: { read: 0, write: 0, calls: 0 } } };
    const add = (into: Units, u: Units) => {
      into.read += u.read;
      into.write += u.write;
      into.calls += u.calls;
    };
    for (let round = 0; round < ROUNDS; round++) {
      // On the session item: the store's own pessimistic request.
      add(sum.onItem.readOnly, await counted(store, async () => {
        const loaded = await store.load(id, { lock: true });
        await store.release(loaded!.handle);
      }));
      add(sum.onItem.changing, await counted(store, async () => {
        const loaded = await store.load(id, { lock: true });
        await store.commit(loaded!.handle, id, { ...loaded!.data, visits: round, lastPage: `/products/${round}` });
      }));
      // In a lock item of its own: lock, strongly consistent read, save on the version read, unlock.
      for (const changing of [false, true]) {
        const owner = randomUUID();
        let lockUnits = await lockItemCall(store.client, store.config.table, store.keyOf(id), owner, true);
        const session = await counted(store, async () => {
          const loaded = await store.load(id, { lock: false });
          if (changing) await store.commit(loaded!.handle, id, { ...loaded!.data, visits: round + 100, lastPage: `/cart/${round}` });
        });
        lockUnits += await lockItemCall(store.client, store.config.table, store.keyOf(id), owner, false);
        add(changing ? sum.lockItem.changing : sum.lockItem.readOnly, { read: session.read, write: session.write + lockUnits, calls: session.calls + 2 });
      }
    }
    const per = (u: Units) => ({ read: u.read / ROUNDS, write: u.write / ROUNDS, calls: u.calls / ROUNDS });
    const fmt = (u: Units) => `${total(per(u)).toFixed(1)} (${per(u).write.toFixed(1)} W + ${per(u).read.toFixed(1)} R), ${per(u).calls} calls`;
    rows.push(`| ${label} | read-only | ${fmt(sum.onItem.readOnly)} | ${fmt(sum.lockItem.readOnly)} |`);
    rows.push(`| ${label} | changing | ${fmt(sum.onItem.changing)} | ${fmt(sum.lockItem.changing)} |`);
  }
  await store.close();
} finally {
  await db.stop();
}
console.log('Capacity units per locked request (mean of', ROUNDS, 'rounds; W = write units, R = read units):\n');
console.log('| session | request | lease on the session item | lease in its own item |');
console.log('|---|---|---|---|');
for (const row of rows) console.log(row);
