/**
 * What a 1 MB session costs in capacity units, stored as a head item and
 * chunk items (src/core/chunks.ts), beside a 2 KB one: each operation of a
 * session's life, with the calls it makes and the units DynamoDB Local reports
 * (ReturnConsumedCapacity). Units are DynamoDB's billing rules, not timings:
 * one run is exact.
 *
 * A save is its chunks' PutItems, then the head's UpdateItem (no
 * transaction since issue 31; a login under maxSessionsPerUser still is one).
 * Should a transaction be sent, one correction applies: DynamoDB Local's
 * figure for a TransactWriteItems counts items of equal size once (three 3 KB
 * Puts report 6 units, not 18). So each item of every transaction the store
 * sends is also written alone to a scratch table, and its reported units are
 * summed and doubled (DynamoDB bills a transactional write twice): that is
 * the "transaction, per item" row.
 *
 * The session is incompressible data with compression off, so its stored size
 * is its JSON's: 1 MiB. `node --import tsx bench/large-session-cost.ts` (or
 * `npm run bench:large`).
 */
import { randomInt } from 'node:crypto';
import { DynamoDBClient, GetItemCommand, PutItemCommand, type TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { startDynamoDBLocal } from '../src/embedded/dynamodb-local.js';
import { SessionStore } from '../src/store/session-store.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const MiB = 1024 * 1024;
const PRINTABLE = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).filter((c) => c !== '"' && c !== '\\').join('');
const noise = (chars: number) => Array.from({ length: chars }, () => PRINTABLE[randomInt(PRINTABLE.length)]).join('');

interface Row {
  operation: string;
  calls: string;
  read: number;
  write: number;
}

const db = await startDynamoDBLocal();
const rows: Record<string, Row[]> = {};
try {
  const client = new DynamoDBClient({ endpoint: db.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
  // Every transaction the store sends, to price its items one by one.
  const transactions: TransactWriteItem[][] = [];
  client.middlewareStack.add(
    (next) => async (args) => {
      const input = args.input as { TransactItems?: TransactWriteItem[] };
      if (input.TransactItems) transactions.push(input.TransactItems);
      return next(args);
    },
    { step: 'initialize', name: 'benchCaptureTransactions' },
  );
  const options = {
    client,
    table: 'large_session_cost',
    billingMode: 'PAY_PER_REQUEST' as const,
    compression: false,
    // Sessions past one item are opt-in.
    maxSessionBytes: 4 * MiB,
    returnConsumedCapacity: true,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
  };
  const writer = new SessionStore(options);
  await writer.ready();
  const scratch = new SessionStore({ ...options, table: 'large_session_cost_scratch' });
  await scratch.ready();

  /** Units of the transactions sent since `from`, each item written alone to the scratch table, doubled. */
  const perItem = async (from: number): Promise<number> => {
    let units = 0;
    for (const items of transactions.slice(from)) {
      for (const entry of items) {
        // The head's Update is billed on the head, before or after, whichever is larger: both are a few hundred bytes.
        const item = entry.Put?.Item ?? (entry.Update ? (await client.send(new GetItemCommand({ TableName: options.table, Key: entry.Update.Key!, ConsistentRead: true }))).Item : undefined);
        if (!item) continue;
        const out = await client.send(new PutItemCommand({ TableName: scratch.config.table, Item: item, ReturnConsumedCapacity: 'TOTAL' }));
        units += 2 * (out.ConsumedCapacity?.CapacityUnits ?? 0);
      }
    }
    return units;
  };

  const measure = async (store: SessionStore, operation: string, run: () => Promise<unknown>): Promise<Row> => {
    const before = store.stats();
    await run();
    const after = store.stats();
    const calls = Object.entries(after.calls)
      .map(([op, n]) => [op, n - (before.calls[op] ?? 0)] as const)
      .filter(([, n]) => n > 0)
      .map(([op, n]) => `${n} ${op}`)
      .join(' + ');
    return { operation, calls, read: after.readCapacityUnits - before.readCapacityUnits, write: after.writeCapacityUnits - before.writeCapacityUnits };
  };

  for (const [label, chars] of [['1 MiB', MiB - 64], ['2 KB', 2048 - 64]] as const) {
    const id = `cost-${chars}`;
    const list: Row[] = (rows[label] = []);
    // Another server: its decode cache has not seen the session.
    const reader = new SessionStore({ ...options, skipTableCheck: true });
    let from = transactions.length;
    list.push(await measure(writer, 'create (set)', () => writer.set(id, { blob: noise(chars) })));
    if (transactions.length > from) list.push({ operation: '  the same transaction, per item', calls: '', read: 0, write: await perItem(from) });
    const loaded = await writer.load(id);
    from = transactions.length;
    list.push(await measure(writer, 'change (commit)', () => writer.commit(loaded!.handle, id, { blob: noise(chars) })));
    if (transactions.length > from) list.push({ operation: '  the same transaction, per item', calls: '', read: 0, write: await perItem(from) });
    list.push(await measure(reader, 'read, another server (load)', () => reader.load(id)));
    list.push(await measure(reader, 'read again, same version (load)', () => reader.load(id)));
    list.push(await measure(writer, 'locked request, unchanged (load + release)', async () => writer.release((await writer.load(id, { lock: true }))!.handle)));
    from = transactions.length;
    list.push(
      await measure(writer, 'locked request, changed (load + commit)', async () => {
        const locked = await writer.load(id, { lock: true });
        await writer.commit(locked!.handle, id, { blob: noise(chars) });
      }),
    );
    if (transactions.length > from) list.push({ operation: '  the same transaction, per item', calls: '', read: 0, write: await perItem(from) });
    // The default lifetime is a day; chunks expire a lifetime after their head.
    list.push(await measure(writer, 'expiry refresh (touch), within the chunks\' expiry', () => writer.touch(null, id, { expires: Date.now() + 1.5 * 86_400_000 })));
    list.push(await measure(writer, 'expiry refresh (touch), past the chunks\' expiry', () => writer.touch(null, id, { expires: Date.now() + 3 * 86_400_000 })));
    list.push(await measure(writer, 'destroy', () => writer.destroy(id)));
    await reader.close();
  }
  await writer.close();
  await scratch.close();
  client.destroy();
} finally {
  await db.stop();
}

console.log('Capacity units per operation on DynamoDB Local (R = read units, W = write units; heads read strongly, chunks eventually consistent):\n');
for (const [label, list] of Object.entries(rows)) {
  console.log(`${label} session:\n`);
  console.log('| operation | calls | R | W |');
  console.log('|---|---|---:|---:|');
  for (const r of list) console.log(`| ${r.operation} | ${r.calls} | ${r.read} | ${r.write} |`);
  console.log('');
}
