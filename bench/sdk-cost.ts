/**
 * Client CPU the AWS SDK spends on one DynamoDB call, network excluded: the
 * client's request handler is replaced by one that answers at once with a
 * fixed body, so what is timed is the SDK alone (middleware, serializing,
 * signing, parsing the answer). Side by side, on this store's own request
 * shapes: with and without `cacheMiddleware` (the middleware stack resolved
 * once per command class, as the store's own client does), and with and
 * without `ReturnConsumedCapacity` in the answer (the `returnConsumedCapacity`
 * option). Then the HTTP handler, over a real loopback connection to a
 * server process that answers at once (bench/fixed-answer-server.ts): the
 * SDK's NodeHttpHandler, as the store configured it before, next to the
 * undici-based handler its own client uses now (src/aws/http-handler.ts).
 *
 * `node --import tsx bench/sdk-cost.ts` (or `npm run bench:sdk`).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { UndiciHttpHandler } from '../src/aws/http-handler.js';
import { captureStoreRequests } from './store-requests.js';
import { realisticSession } from '../test/helpers/session-fixtures.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** A request handler that answers every request with `body`, as DynamoDB would, without any I/O. */
function answering(body: () => string) {
  return {
    handle: async () => ({
      response: {
        statusCode: 200,
        headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'bench' },
        body: Readable.from([Buffer.from(body())]),
      },
    }),
    updateHttpClientConfig() {},
    httpHandlerConfigs: () => ({}),
    destroy() {},
  };
}

const key = 'k'.repeat(32);
// What the store sends for a load and a save, and the item a load gets back.
const requests = await captureStoreRequests('bench_sessions', key, realisticSession(2048, 3));
const capacity = (units: number) => ({ ConsumedCapacity: { TableName: 'bench_sessions', CapacityUnits: units } });
const item = Object.fromEntries(
  Object.entries(requests.item).map(([name, value]) => [name, value.B ? { B: Buffer.from(value.B).toString('base64') } : value]),
);

let answer = '{}';
function client(cacheMiddleware: boolean): DynamoDBClient {
  return new DynamoDBClient({
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:9',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    cacheMiddleware,
    requestHandler: answering(() => answer) as never,
  });
}

const withCapacity = <T extends object>(input: T, rcc: boolean): T => (rcc ? { ...input, ReturnConsumedCapacity: 'TOTAL' as const } : input);
const get = (rcc: boolean) => new GetItemCommand(withCapacity(requests.get, rcc));
const update = (rcc: boolean) => new UpdateItemCommand(withCapacity(requests.save, rcc));

/** Median CPU µs per call over 7 rounds of 2,000 calls, one after another, after a warm-up round. */
async function measure(c: DynamoDBClient, command: () => GetItemCommand | UpdateItemCommand): Promise<number> {
  const round = async (n: number) => {
    const start = process.cpuUsage();
    for (let i = 0; i < n; i++) await c.send(command() as never);
    const used = process.cpuUsage(start);
    return (used.user + used.system) / n;
  };
  await round(500);
  const rounds: number[] = [];
  for (let r = 0; r < 7; r++) rounds.push(await round(2000));
  return rounds.sort((a, b) => a - b)[3]!;
}

export interface SdkCost {
  /** µs per GetItem + UpdateItem pair (a changing request's two calls). */
  pair: { cached: number; uncached: number; cachedWithCapacity: number; uncachedWithCapacity: number };
  /** µs per GetItem over loopback HTTP, SDK included (cacheMiddleware on), by request handler. */
  handler: { node: number; undici: number };
}

/** Client CPU per GetItem through each HTTP handler, to a server process answering at once, 10 calls in flight. */
async function measureHandlers(): Promise<SdkCost['handler']> {
  const server = spawn(process.execPath, ['--import', 'tsx', new URL('./fixed-answer-server.ts', import.meta.url).pathname], {
    env: { ...process.env, ANSWER: JSON.stringify({ Item: item }) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const [line] = (await once(server.stdout!, 'data')) as [Buffer];
    const endpoint = `http://127.0.0.1:${Number(String(line).trim())}`;
    const over = (requestHandler: unknown) =>
      new DynamoDBClient({ region: 'us-east-1', endpoint, credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' }, cacheMiddleware: true, requestHandler: requestHandler as never });
    const clients = {
      node: over(new NodeHttpHandler({ requestTimeout: 3000, connectionTimeout: 3000, throwOnRequestTimeout: true, httpAgent: { keepAlive: true } })),
      undici: over(new UndiciHttpHandler({ requestTimeoutMs: 3000, connectionTimeoutMs: 3000 })),
    };
    const round = async (c: DynamoDBClient, n: number) => {
      let next = 0;
      const start = process.cpuUsage();
      await Promise.all(Array.from({ length: 10 }, async () => {
        while (next++ < n) await c.send(get(false));
      }));
      const used = process.cpuUsage(start);
      return (used.user + used.system) / n;
    };
    const runs = { node: [] as number[], undici: [] as number[] };
    for (const c of Object.values(clients)) await round(c, 1000);
    // Alternating order over 7 rounds; the median of each.
    for (let r = 0; r < 7; r++) {
      for (const name of (r % 2 ? ['undici', 'node'] : ['node', 'undici']) as Array<keyof typeof runs>) runs[name].push(await round(clients[name], 3000));
    }
    for (const c of Object.values(clients)) c.destroy();
    return { node: runs.node.sort((a, b) => a - b)[3]!, undici: runs.undici.sort((a, b) => a - b)[3]! };
  } finally {
    server.kill('SIGTERM');
  }
}

export async function measureSdkCost(): Promise<SdkCost> {
  const cached = client(true);
  const uncached = client(false);
  const pair = async (c: DynamoDBClient, rcc: boolean) => {
    answer = JSON.stringify({ Item: item, ...(rcc ? capacity(1) : {}) });
    const g = await measure(c, () => get(rcc));
    answer = JSON.stringify(rcc ? capacity(2) : {});
    const u = await measure(c, () => update(rcc));
    return g + u;
  };
  // Interleaved, so that a noisy moment of a shared machine does not land on one variant only.
  const result = { cached: 0, uncached: 0, cachedWithCapacity: 0, uncachedWithCapacity: 0 };
  const runs = { cached: [] as number[], uncached: [] as number[], cachedWithCapacity: [] as number[], uncachedWithCapacity: [] as number[] };
  for (let r = 0; r < 3; r++) {
    runs.cached.push(await pair(cached, false));
    runs.uncached.push(await pair(uncached, false));
    runs.cachedWithCapacity.push(await pair(cached, true));
    runs.uncachedWithCapacity.push(await pair(uncached, true));
  }
  for (const k of Object.keys(runs) as Array<keyof typeof runs>) result[k] = runs[k].sort((a, b) => a - b)[1]!;
  return { pair: result, handler: await measureHandlers() };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { pair, handler } = await measureSdkCost();
  const f = (v: number) => v.toFixed(0).padStart(5);
  console.log('AWS SDK client CPU per GetItem + UpdateItem (a changing request), network excluded, µs:');
  console.log(`  cacheMiddleware: true  (the store's client): ${f(pair.cached)}   with ReturnConsumedCapacity: ${f(pair.cachedWithCapacity)}`);
  console.log(`  cacheMiddleware: false (the SDK's default):  ${f(pair.uncached)}   with ReturnConsumedCapacity: ${f(pair.uncachedWithCapacity)}`);
  console.log('Client CPU per GetItem over loopback HTTP (SDK included, 10 in flight, a server process answering at once), µs:');
  console.log(`  NodeHttpHandler (the SDK's, keep-alive):       ${f(handler.node)}`);
  console.log(`  UndiciHttpHandler (the store's own client):    ${f(handler.undici)}   ${((1 - handler.undici / handler.node) * 100).toFixed(0)} % less`);
}
