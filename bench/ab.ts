/**
 * `npm run bench:ab -- --a ours-auto --b ours-optimistic [--workload read-heavy] [--pairs 6] [--duration 10]`:
 * two stores of bench/stores.ts measured in turns, one pair after another, on
 * one DynamoDB Local (no counting proxy: speed only). Each run is a fresh app
 * process, 200 signed-in clients, 3 s of unmeasured load, then `--duration`
 * seconds measured; the first store of a pair alternates, so neither always
 * meets the machine's minute first. On a shared machine a store's speed moves
 * by a third from minute to minute; the ratio within a pair moves much less,
 * so it is what this prints: requests/s and the app's CPU per request for
 * both, each pair's ratio B/A, and their median.
 */
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { startDynamoDBLocal } from '../src/embedded/dynamodb-local.js';
import { ConfigError } from '../src/errors.js';
import { startServer } from '../test/helpers/servers.js';
import { storeSpec } from './stores.js';
import { WORKLOADS, drive, signIn } from './load.js';
import { median } from './report.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { values: flags } = parseArgs({
  options: {
    a: { type: 'string', default: 'ours-optimistic' },
    b: { type: 'string', default: 'ours-auto' },
    workload: { type: 'string', default: 'read-heavy' },
    pairs: { type: 'string', default: '6' },
    duration: { type: 'string', default: '10' },
  },
});
const [a, b] = [storeSpec(flags.a!), storeSpec(flags.b!)];
const workload = WORKLOADS.find((w) => w.name === flags.workload && !w.burst);
if (!workload) throw new ConfigError(`bench:ab: --workload must be one of ${WORKLOADS.filter((w) => !w.burst).map((w) => w.name).join(', ')}`);
const pairs = Number(flags.pairs);
const seconds = Number(flags.duration);
if (!Number.isInteger(pairs) || pairs < 1 || !(seconds > 0)) throw new ConfigError('bench:ab: --pairs takes a whole number ≥ 1 and --duration a number of seconds > 0');
if (!a.dynamo || !b.dynamo) throw new ConfigError('bench:ab: compare two DynamoDB-backed stores (not memory)');

const APP = fileURLToPath(new URL('./app-server.ts', import.meta.url));
type Measured = { rps: number; cpuMs: number };

async function measure(endpoint: string, name: string): Promise<Measured> {
  const table = `ab_${name}_${randomBytes(3).toString('hex')}`.replace(/-/g, '_');
  const app = await startServer(APP, { STORE: name, ENDPOINT: endpoint, TABLE: table, SIZE: String(workload!.size) }, 60_000);
  try {
    const cookies = await signIn(app.url, 200);
    await drive(app.url, workload!, cookies, { durationSeconds: 3, connections: 10 });
    const cpu = async () => ((await (await fetch(`${app.url}/_counts`)).json()) as { cpuMs: number }).cpuMs;
    const before = await cpu();
    const load = await drive(app.url, workload!, cookies, { durationSeconds: seconds, connections: 10 });
    return { rps: load.requestsPerSecond, cpuMs: ((await cpu()) - before) / load.requests };
  } finally {
    await app.stop();
  }
}

const db = await startDynamoDBLocal();
const f = (v: number, d = 0) => v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
try {
  console.log(`bench:ab: ${workload.name}, ${pairs} pairs of ${seconds} s runs: A ${a.name}, B ${b.name}`);
  const rpsRatios: number[] = [];
  const cpuRatios: number[] = [];
  for (let i = 0; i < pairs; i++) {
    const first = i % 2 === 0 ? a : b;
    const second = first === a ? b : a;
    const m1 = await measure(db.endpoint, first.name);
    const m2 = await measure(db.endpoint, second.name);
    const [ma, mb] = first === a ? [m1, m2] : [m2, m1];
    rpsRatios.push(mb.rps / ma.rps);
    cpuRatios.push(mb.cpuMs / ma.cpuMs);
    console.log(
      `pair ${i + 1} (${first.name} first): A ${f(ma.rps)} req/s, ${f(ma.cpuMs, 2)} ms CPU/req · B ${f(mb.rps)} req/s, ${f(mb.cpuMs, 2)} ms CPU/req · B/A ${f(mb.rps / ma.rps, 2)} req/s, ${f(mb.cpuMs / ma.cpuMs, 2)} CPU`,
    );
  }
  console.log(`median B/A: ${f(median(rpsRatios), 2)} req/s, ${f(median(cpuRatios), 2)} app CPU per request`);
} finally {
  await db.stop();
}
