/**
 * Does a request cost more in a big table? Fills one table with 1,000 and one
 * with 100,000 sessions (BatchWriteItem, 25 items a call, several calls in
 * flight), then serves the same load of random existing sessions from each
 * through SessionStore: calls, capacity and latency per request should not
 * grow, because every request is a key lookup, never a scan.
 *
 * Run by `npm run bench -- --scale`, or alone: `node --import tsx bench/scale.ts [--sessions 100000]`.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { BatchWriteItemCommand, DynamoDBClient, GetItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { SessionStore } from '../src/store/session-store.js';
import { startDynamoDBLocal } from '../src/embedded/dynamodb-local.js';
import { realisticSession } from '../test/helpers/session-fixtures.js';
import { startCountingProxy, type CountingProxy } from './counting-proxy.js';

const BATCH = 25;
const FILL_PARALLEL = 4;
const REQUESTS = 2000;
const CONCURRENCY = 10;
/** One request in this many changes its session. */
const WRITE_EVERY = 20;

const silent = { debug() {}, info() {}, warn() {}, error() {} };

export interface ScaleRow {
  sessions: number;
  fillSeconds: number;
  requestsPerSecond: number;
  callsPerRequest: number;
  rcuPer1000: number;
  wcuPer1000: number;
  p50: number;
  p99: number;
}

/** A session id shaped like express-session's (24 random bytes, base64url). */
const newId = (): string => randomBytes(24).toString('base64url');

async function fill(client: DynamoDBClient, table: string, template: Record<string, AttributeValue>, count: number): Promise<string[]> {
  const ids = Array.from({ length: count }, newId);
  let next = 0;
  const worker = async () => {
    while (next < ids.length) {
      const slice = ids.slice(next, next + BATCH);
      next += BATCH;
      let pending = slice.map((id) => ({ PutRequest: { Item: { ...template, sessionId: { S: id } } } }));
      // DynamoDB may hand back part of a batch unprocessed; it has to be sent again.
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt > 10) throw new Error(`bench: BatchWriteItem left ${pending.length} items unprocessed after 10 retries`);
        const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [table]: pending } }));
        pending = (out.UnprocessedItems?.[table] ?? []) as typeof pending;
      }
    }
  };
  await Promise.all(Array.from({ length: FILL_PARALLEL }, worker));
  return ids;
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

async function measure(store: SessionStore, ids: string[], proxy: CountingProxy): Promise<Omit<ScaleRow, 'sessions' | 'fillSeconds'>> {
  const one = async (i: number) => {
    const id = ids[Math.floor(Math.random() * ids.length)]!;
    const loaded = await store.load(id);
    if (!loaded) throw new Error(`bench: session ${i} vanished from the scale table`);
    const data = i % WRITE_EVERY === WRITE_EVERY - 1 ? { ...loaded.data, visits: i } : loaded.data;
    await store.commit(loaded.handle, id, data, { expires: new Date(Date.now() + 3_600_000) });
  };
  for (let i = 0; i < 200; i++) await one(i); // warm-up
  proxy.reset();
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < REQUESTS) {
        const i = next++;
        const t = performance.now();
        await one(i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const tally = proxy.snapshot();
  latencies.sort((a, b) => a - b);
  return {
    requestsPerSecond: REQUESTS / seconds,
    callsPerRequest: tally.calls / REQUESTS,
    rcuPer1000: (tally.rcu * 1000) / REQUESTS,
    wcuPer1000: (tally.wcu * 1000) / REQUESTS,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

async function oneTable(endpoint: string, proxy: CountingProxy, sessions: number): Promise<ScaleRow> {
  const table = `bench_scale_${sessions}_${randomBytes(3).toString('hex')}`;
  const options = { endpoint: proxy.endpoint, region: 'us-east-1', accessKeyId: 'bench', secretAccessKey: 'bench', table, billingMode: 'PAY_PER_REQUEST' as const, logger: silent };
  const store = new SessionStore(options);
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
  try {
    await store.ready();
    // One real session written by the store is the template: the fill copies its exact item under new keys.
    const seedId = newId();
    await store.commit(null, seedId, realisticSession(2048, 11), { expires: new Date(Date.now() + 3_600_000) });
    const seed = await client.send(new GetItemCommand({ TableName: table, Key: { sessionId: { S: seedId } }, ConsistentRead: true }));
    if (!seed.Item) throw new Error('bench: the template session was not stored');
    const t = performance.now();
    const ids = await fill(client, table, seed.Item, sessions);
    const fillSeconds = (performance.now() - t) / 1000;
    return { sessions, fillSeconds, ...(await measure(store, ids, proxy)) };
  } finally {
    client.destroy();
    await store.close();
  }
}

const n = (v: number, d = 1): string => v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });

/** Runs both sizes and returns the markdown section. */
export async function runScale(endpoint: string, proxy: CountingProxy, big = 100_000): Promise<string> {
  const rows: ScaleRow[] = [];
  for (const sessions of [1_000, big]) {
    process.stdout.write(`bench: scale, ${sessions.toLocaleString('en-US')} sessions … `);
    const row = await oneTable(endpoint, proxy, sessions);
    rows.push(row);
    console.log(`filled in ${n(row.fillSeconds)} s; ${n(row.callsPerRequest, 3)} calls/req, p50 ${n(row.p50)} ms`);
  }
  return [
    `### Scale: 1,000 vs ${big.toLocaleString('en-US')} sessions in the table`,
    '',
    `${REQUESTS.toLocaleString('en-US')} requests on random existing 2 KB sessions (1 in ${WRITE_EVERY} changes its session), ${CONCURRENCY} at a time, straight through SessionStore (no HTTP), after a 200-request warm-up.`,
    '',
    '| sessions in table | fill (BatchWriteItem) | req/s | DynamoDB calls per request | RCU / 1k req | WCU / 1k req | p50 ms | p99 ms |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.sessions.toLocaleString('en-US')} | ${n(r.fillSeconds)} s (${n(r.sessions / r.fillSeconds, 0)} items/s) | ${n(r.requestsPerSecond, 0)} | ${n(r.callsPerRequest, 3)} | ${n(r.rcuPer1000)} | ${n(r.wcuPer1000)} | ${n(r.p50)} | ${n(r.p99)} |`,
    ),
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { values } = parseArgs({ options: { sessions: { type: 'string', default: '100000' } } });
  const db = await startDynamoDBLocal();
  let proxy: CountingProxy | undefined;
  try {
    proxy = await startCountingProxy(db.endpoint);
    console.log(await runScale(db.endpoint, proxy, Number(values.sessions)));
  } finally {
    await proxy?.close();
    await db.stop();
  }
}
