/**
 * `npm run bench` (= `node --import tsx bench/run.ts`): session stores side by
 * side on the same DynamoDB Local, each behind the same Express 5 app, loaded
 * with autocannon; DynamoDB calls and capacity counted by a proxy.
 *
 * Flags: --duration <s> (5), --connections <n> (10), --sessions <n> (200),
 * --rounds <n> (1: more rounds, run in rotated order, report the median speed),
 * --warmup <s> (20: seconds of writes per kind of store before anything is measured; 0: none),
 * --only <store,…>, --workload <name,…>, --scale (also bench/scale.ts),
 * --pin (DynamoDB Local on a CPU of its own, the apps, the proxy and the load
 * generator on the others, as in production, where DynamoDB's CPU is not the
 * app server's; Linux, needs taskset), --docs (write docs/benchmarks.md and
 * .svg even for a partial run; a full run always writes them; with --pin the
 * results go to their own section and the chart is left alone), --no-docs.
 */
import { parseArgs } from 'node:util';
import { cpus, loadavg, totalmem } from 'node:os';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startDynamoDBLocal, type EmbeddedDynamoDB } from '../src/embedded/dynamodb-local.js';
import { ConfigError } from '../src/errors.js';
import { startServer, type ServerProcess } from '../test/helpers/servers.js';
import { startCountingProxy, type CountingProxy } from './counting-proxy.js';
import { STORES, storeSpec, type StoreSpec } from './stores.js';
import { WORKLOADS, drive, signIn, type Workload } from './load.js';
import { floorFor, measureItemUnits, type ItemUnits } from './floor.js';
import { measureCompression, type FleetCpu, type StoreCpu } from './store-cpu.js';
import { appCpuPerRequest, callsPerRequest, combineRounds, dynamoCpuPerRequest, httpRequests, lostUpdates, median, per1000, unitsPer1000, workloadTable, writeSection, type RunResult } from './report.js';
import { barChart } from './chart.js';
import { processCpuMs } from './process-cpu.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { values: flags } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '10' },
    sessions: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '1' },
    warmup: { type: 'string', default: '20' },
    only: { type: 'string' },
    workload: { type: 'string' },
    scale: { type: 'boolean', default: false },
    pin: { type: 'boolean', default: false },
    docs: { type: 'boolean' },
    'no-docs': { type: 'boolean', default: false },
  },
});

function positive(name: string, raw: string | undefined): number {
  const v = Number(raw);
  if (!Number.isFinite(v) || v <= 0) throw new ConfigError(`bench: --${name} must be a positive number (got ${JSON.stringify(raw)})`);
  return v;
}
const durationSeconds = positive('duration', flags.duration);
const connections = Math.round(positive('connections', flags.connections));
const poolSize = Math.round(positive('sessions', flags.sessions));
const rounds = Math.round(positive('rounds', flags.rounds));
const warmupSeconds = flags.warmup === '0' ? 0 : positive('warmup', flags.warmup);
const stores: StoreSpec[] = flags.only ? flags.only.split(',').map((s) => storeSpec(s.trim())) : [...STORES];
const workloads: Workload[] = flags.workload
  ? flags.workload.split(',').map((w) => {
      const found = WORKLOADS.find((x) => x.name === w.trim());
      if (!found) throw new ConfigError(`bench: unknown workload "${w}": use one of ${WORKLOADS.map((x) => x.name).join(', ')}`);
      return found;
    })
  : [...WORKLOADS];
const fullRun = !flags.only && !flags.workload;
const writeDocs = !flags['no-docs'] && (flags.docs ?? fullRun);

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const DOC = here('../docs/benchmarks.md');
const SVG = here('../docs/benchmarks.svg');
const APP = here('./app-server.ts');

async function counts(app: ServerProcess): Promise<RunResult['completed'] & { login: number; cpuMs: number }> {
  const res = await fetch(`${app.url}/_counts`);
  return (await res.json()) as RunResult['completed'] & { login: number; cpuMs: number };
}

/** Waits until no DynamoDB call has passed the proxy for a while: the last responses' writes have landed. */
async function quiet(proxy: CountingProxy): Promise<void> {
  let last = -1;
  for (let i = 0; i < 50; i++) {
    const calls = proxy.snapshot().calls;
    if (calls === last) return;
    last = calls;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * DynamoDB Local is a JVM: the first thousands of requests of a kind run slower, until its JIT
 * has compiled their path (bench/engine-cost.ts shows it round by round). Before anything is
 * measured, each kind of store drives its own request shapes (GetItem with UpdateItem, PutItem,
 * …) for a while, so that no store meets a colder DynamoDB than another.
 */
async function warmUp(proxy: CountingProxy, list: StoreSpec[]): Promise<void> {
  const write = WORKLOADS.find((w) => w.name === 'write-heavy')!;
  const kinds = new Map<string, StoreSpec>();
  for (const s of list) if (s.dynamo && !kinds.has(s.kind)) kinds.set(s.kind, s);
  for (const store of kinds.values()) {
    const app = await startServer(APP, { STORE: store.name, ENDPOINT: proxy.endpoint, TABLE: `bench_warmup_${store.kind.replace(/-/g, '_')}`, SIZE: String(write.size) }, 60_000);
    try {
      const cookies = await signIn(app.url, 50);
      await drive(app.url, write, cookies, { durationSeconds: warmupSeconds, connections });
    } finally {
      await app.stop();
    }
  }
  await quiet(proxy);
}

async function runOne(db: EmbeddedDynamoDB, proxy: CountingProxy, store: StoreSpec, workload: Workload): Promise<{ result: RunResult; units?: ItemUnits }> {
  const table = `bench_${store.name}_${workload.name}_${randomBytes(3).toString('hex')}`.replace(/-/g, '_');
  const app = await startServer(APP, { STORE: store.name, ENDPOINT: proxy.endpoint, TABLE: table, SIZE: String(workload.size) }, 60_000);
  try {
    const cookies = await signIn(app.url, workload.burst ? 1 : poolSize);
    // JIT-compiled paths, warm sockets and a warm DynamoDB Local: the first seconds of a fresh process measure start-up, not the store.
    if (!workload.burst) await drive(app.url, workload, cookies, { durationSeconds: Math.min(2, durationSeconds), connections });
    await quiet(proxy);
    const before = await counts(app);
    const dynamoBefore = processCpuMs(db.pid);
    proxy.reset();
    const load = await drive(app.url, workload, cookies, { durationSeconds, connections });
    await quiet(proxy);
    const tally = proxy.snapshot();
    const dynamoAfter = processCpuMs(db.pid);
    const after = await counts(app);
    // Both windows also hold the quiet wait after the load, in which neither side has work left.
    const cpu: RunResult['cpu'] = {
      appMs: after.cpuMs - before.cpuMs,
      ...(dynamoBefore !== undefined && dynamoAfter !== undefined ? { dynamoMs: dynamoAfter - dynamoBefore } : {}),
    };
    const completed = {
      read: after.read - before.read,
      write: after.write - before.write,
      incr: after.incr - before.incr,
      failed: after.failed - before.failed,
      aborted: after.aborted - before.aborted,
    };
    let burst: RunResult['burst'];
    if (workload.burst) {
      const res = await fetch(`${app.url}/counter`, { headers: { cookie: cookies[0]! } });
      const { counter } = (await res.json()) as { counter: number | null };
      burst = { expected: completed.incr, stored: counter ?? 0 };
    }
    const units = store.dynamo ? await measureItemUnits(db.endpoint, table) : undefined;
    return { result: { store, workload, load, tally, completed, cpu, ...(burst ? { burst } : {}) }, ...(units ? { units } : {}) };
  } finally {
    await app.stop();
  }
}

/**
 * --pin: DynamoDB Local's JVM (every thread) on the last CPU; this process
 * (counting proxy, autocannon) on the others, and with it every app it
 * starts from now on (a child inherits its parent's CPUs). Returns how the
 * CPUs were split, for the report.
 */
function pinCpus(dbPid: number): string {
  const last = cpus().length - 1;
  if (last < 1) throw new ConfigError('bench: --pin needs at least 2 CPUs (one for DynamoDB Local, the rest for the apps)');
  const rest = last === 1 ? '0' : `0-${last - 1}`;
  try {
    execFileSync('taskset', ['-a', '-cp', String(last), String(dbPid)], { stdio: 'ignore' });
    execFileSync('taskset', ['-a', '-cp', rest, String(process.pid)], { stdio: 'ignore' });
  } catch (err) {
    throw new ConfigError(`bench: --pin could not set CPU affinity with taskset (${(err as Error).message}): install util-linux, or run without --pin`, { cause: err });
  }
  return `DynamoDB Local on CPU ${last}, the apps, the counting proxy and autocannon on CPU ${rest}`;
}

function machine(): string {
  const cpu = cpus();
  return `${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${cpu.length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GB RAM, Node ${process.version} (${process.platform}/${process.arch}), load average ${loadavg()[0]!.toFixed(2)} at start`;
}

const n = (v: number, d = 1): string => v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const mark = (ok: boolean): string => (ok ? '✅ met' : '❌ not met');

function targets(runs: RunResult[], cpu: StoreCpu & { passes?: number[] }, fleets: FleetCpu[], ratio: number): string[] {
  const find = (store: string, workload: string) => runs.find((r) => r.store.name === store && r.workload.name === workload);
  const lines: string[] = ['| target | measured | |', '|---|---|---|'];
  const ro = find('ours-auto', 'read-only');
  if (ro) lines.push(`| read-only request ≤ 1.02 DynamoDB calls (default locking) | ${n(callsPerRequest(ro), 3)} | ${mark(callsPerRequest(ro) <= 1.02)} |`);
  for (const w of ['read-heavy', 'write-heavy', 'large']) {
    const ours = find('ours-auto', w);
    if (!ours) continue;
    const before = find('ours-optimistic', w);
    if (before) {
      lines.push(
        `| ${w}: throughput of the default (auto) no lower than the former default (optimistic) | auto ${n(ours.load.requestsPerSecond, 0)} vs optimistic ${n(before.load.requestsPerSecond, 0)} req/s; units ${n(unitsPer1000(ours))} vs ${n(unitsPer1000(before))} per 1k req | ${mark(ours.load.requestsPerSecond >= before.load.requestsPerSecond * 0.95)} (within 5 %: noise on a shared machine) |`,
      );
    }
    const peers = runs.filter((r) => r.workload.name === w && (r.store.kind === 'connect-dynamodb' || r.store.kind === 'dynamodb-store'));
    if (peers.length > 0) {
      const cheapest = Math.min(...peers.map(unitsPer1000));
      lines.push(`| ${w}: capacity units no more than every peer's (default options) | ours ${n(unitsPer1000(ours))} vs cheapest peer ${n(cheapest)} per 1k req | ${mark(unitsPer1000(ours) <= cheapest)} |`);
      const fastestPeer = peers.reduce((a, b) => (b.load.requestsPerSecond > a.load.requestsPerSecond ? b : a));
      const fastest = fastestPeer.load.requestsPerSecond;
      // Rounds run every store once, so round i of ours and of the peer shared the machine's mood.
      const peerRates = fastestPeer.roundRates ?? [];
      const ahead = (ours.roundRates ?? []).filter((v, i) => i < peerRates.length && v >= peerRates[i]!).length;
      const rounds = peerRates.length > 1 ? `; ours ahead of it in ${ahead} of ${peerRates.length} rounds` : '';
      const dynamoOurs = dynamoCpuPerRequest(ours);
      const dynamoPeer = dynamoCpuPerRequest(fastestPeer);
      const cpuText =
        `; CPU per request, ours vs that peer: the app ${n(appCpuPerRequest(ours), 2)} vs ${n(appCpuPerRequest(fastestPeer), 2)} ms` +
        (dynamoOurs !== undefined && dynamoPeer !== undefined ? `, DynamoDB Local ${n(dynamoOurs, 2)} vs ${n(dynamoPeer, 2)} ms` : '');
      lines.push(`| ${w}: throughput ≥ every DynamoDB-backed peer | ours ${n(ours.load.requestsPerSecond, 0)} vs fastest peer ${n(fastest, 0)} req/s (median round${rounds})${cpuText} | ${mark(ours.load.requestsPerSecond >= fastest)} |`);
    }
    if (ours.floor) {
      const d = ((unitsPer1000(ours) - ours.floor.unitsPer1000) / ours.floor.unitsPer1000) * 100;
      lines.push(`| ${w}: within 10 % of the floor | ${d >= 0 ? '+' : ''}${n(d)} % (${n(unitsPer1000(ours))} vs ${n(ours.floor.unitsPer1000)}) | ${mark(d <= 10)} |`);
    }
  }
  const b = find('ours-auto', 'burst');
  if (b) lines.push(`| burst on one session, default options: updates lost | ${lostUpdates(b)} of ${b.burst?.expected} | ${mark(lostUpdates(b) === 0)} |`);
  const bo = find('ours-optimistic', 'burst');
  if (bo) lines.push(`| burst on one session, optimistic without onConflict: updates lost | ${lostUpdates(bo)} of ${bo.burst?.expected} | (reported) |`);
  const bp = find('ours-pessimistic', 'burst');
  if (bp) lines.push(`| burst on one session, pessimistic: updates lost | ${lostUpdates(bp)} of ${bp.burst?.expected} | ${mark(lostUpdates(bp) === 0)} |`);
  const fleetText = fleets.map((f) => `${f.servers} server${f.servers > 1 ? 's' : ''} ${n(f.us)} µs (${n(f.coldReadShare * 100, 0)} % of loads cold)`).join(', ');
  const fleetsMet = fleets.every((f) => f.us < 50);
  lines.push(
    `| store CPU < 50 µs per request, ${cpu.sessionBytes} B session, read-heavy mix | servers picked at random per request: ${fleetText}; every load cold (the limit of a fleet so large that no server sees an item twice between writes): ${n(cpu.readHeavyColdUs)} µs${cpu.passes && cpu.passes.length > 1 ? ` (passes: ${cpu.passes.map((v) => n(v)).join(' · ')})` : ''}; per request: read ${n(cpu.readUs)} µs cold / ${n(cpu.readCachedUs)} µs decoded before, change ${n(cpu.writeUs)} / ${n(cpu.writeCachedUs)} µs; express-session's MemoryStore in the same rounds: read ${n(cpu.memoryReadUs)} µs, change ${n(cpu.memoryWriteUs)} µs (a cold read ${n(cpu.readUs / cpu.memoryReadUs, 2)}× its read) | ${mark(fleetsMet)} (${fleets.map((f) => f.servers).join(', ')} servers), ${mark(cpu.readHeavyColdUs < 50)} (every load cold) |`,
  );
  lines.push(`| ≥ 3× compression on realistic JSON ≥ 10 KB | ${n(ratio, 2)}× (10 KB) | ${mark(ratio >= 3)} |`);
  return lines;
}

function chart(runs: RunResult[]): string {
  const rh = runs.filter((r) => r.workload.name === 'read-heavy');
  const dynamo = rh.filter((r) => r.store.dynamo);
  const floor = dynamo.find((r) => r.floor)?.floor;
  const ours = (r: RunResult) => r.store.kind === 'ours';
  return barChart('Session stores on DynamoDB: read-heavy workload (95 % reads, 2 KB sessions)', `Express 5 + express-session, autocannon ${connections} connections × ${durationSeconds} s, DynamoDB Local; shared noisy 2-core machine`, [
    {
      title: 'Capacity units per 1,000 requests (lower is better)',
      unit: 'units',
      bars: dynamo.map((r) => ({
        label: r.store.label,
        highlight: ours(r),
        segments: [
          { name: 'read units', value: per1000(r, r.tally.rcu), color: '#4c78a8' },
          { name: 'write units', value: per1000(r, r.tally.wcu), color: '#f58518' },
        ],
      })),
      ...(floor ? { reference: { value: floor.unitsPer1000, label: `floor ${n(floor.unitsPer1000)}` } } : {}),
    },
    {
      title: 'Requests per second (higher is better)',
      unit: 'req/s',
      bars: rh.map((r) => ({ label: r.store.label, highlight: ours(r), segments: [{ name: 'req/s', value: r.load.requestsPerSecond, color: ours(r) ? '#54a24b' : '#9d9d9d' }] })),
    },
  ]);
}

const started = Date.now();
const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
console.log(`bench: ${machine()}`);
const db = await startDynamoDBLocal();
let pinned: string | undefined;
let proxy: CountingProxy | undefined;
const runs: RunResult[] = [];
const unitsByStore = new Map<string, ItemUnits>();
try {
  if (flags.pin) pinned = pinCpus(db.pid);
  proxy = await startCountingProxy(db.endpoint);
  console.log(`bench: DynamoDB Local pid ${db.pid} at ${db.endpoint}, counting proxy at ${proxy.endpoint}${pinned ? `; ${pinned}` : ''}`);
  if (warmupSeconds > 0) {
    process.stdout.write(`bench: warming up DynamoDB Local, ${warmupSeconds} s per kind of store … `);
    await warmUp(proxy, stores);
    console.log('done');
  }
  const measured = new Map<string, RunResult[]>();
  for (let round = 0; round < rounds; round++) {
    for (const workload of workloads) {
      // Each round starts the list at a different store, so no store always runs first (on a colder machine) or last.
      const order = stores.map((_, i) => stores[(i + round) % stores.length]!);
      for (const store of order) {
        if (store.kind === 'ours' && store.workloads && !store.workloads.includes(workload.name)) continue;
        process.stdout.write(`bench: ${rounds > 1 ? `round ${round + 1}/${rounds}, ` : ''}${workload.name} × ${store.name} … `);
        const { result, units } = await runOne(db, proxy, store, workload);
        const key = `${workload.name}|${store.name}`;
        measured.set(key, [...(measured.get(key) ?? []), result]);
        if (units && !unitsByStore.has(key)) unitsByStore.set(key, units);
        console.log(
          `${n(result.load.requestsPerSecond, 0)} req/s, ${n(callsPerRequest(result), 2)} calls/req, ${n(unitsPer1000(result))} units/1k` +
            (result.burst ? `, lost ${lostUpdates(result)} of ${result.burst.expected}` : '') +
            (result.load.non2xx ? `, ${result.load.non2xx} non-2xx` : ''),
        );
      }
    }
  }
  for (const workload of workloads) {
    for (const store of stores) {
      const list = measured.get(`${workload.name}|${store.name}`);
      if (list) runs.push(combineRounds(list));
    }
  }
  // The floor is billed on our stored item (the one a store has to read and write at least).
  for (const r of runs) {
    const units = unitsByStore.get(`${r.workload.name}|ours-optimistic`) ?? unitsByStore.get(`${r.workload.name}|${r.store.name}`);
    if (units) r.floor = floorFor(units, httpRequests(r), r.completed.write + r.completed.incr);
  }
  if (flags.scale) {
    const { runScale } = await import('./scale.js');
    const scale = await runScale(db.endpoint, proxy);
    if (writeDocs) writeSection(DOC, 'scale', scale);
    console.log(`\n${scale}`);
  }
} finally {
  await proxy?.close();
  await db.stop();
}

// As many passes as load rounds, each figure the median of its passes: a single pass lands on
// whatever minute of a shared machine it gets (the same code has measured 41 and 55 µs per request).
const cpuPasses: StoreCpu[] = [];
const fleetPasses: FleetCpu[][] = [];
// Each pass in a fresh process, as a server is: this one's heap, after the load runs, makes every
// collection dearer (the every-load-cold mix measured 50 and 56 µs in two passes in this process, 41-48 µs in processes of its own).
for (let pass = 0; pass < rounds; pass++) {
  const out = execFileSync(process.execPath, ['--import', 'tsx', here('./store-cpu.ts'), '--json'], {
    encoding: 'utf8',
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const { cpu: c, fleets: f } = JSON.parse(out.trim().split('\n').pop()!) as { cpu: StoreCpu; fleets: FleetCpu[] };
  cpuPasses.push(c);
  fleetPasses.push(f);
}
const cpu = Object.fromEntries(
  Object.keys(cpuPasses[0]!).map((key) => [key, median(cpuPasses.map((c) => c[key as keyof StoreCpu]))]),
) as unknown as StoreCpu & { passes: number[] };
cpu.passes = cpuPasses.map((c) => c.readHeavyColdUs);
const fleets: FleetCpu[] = fleetPasses[0]!.map((f, i) => ({
  servers: f.servers,
  us: median(fleetPasses.map((p) => p[i]!.us)),
  coldReadShare: median(fleetPasses.map((p) => p[i]!.coldReadShare)),
}));
const compression = [2048, 10 * 1024, 50 * 1024].map((size) => measureCompression(size));
const tables = workloads.map((w) => workloadTable(w, runs)).filter(Boolean);
const rhOurs = runs.find((r) => r.store.name === 'ours-optimistic' && r.workload.name === 'read-heavy');
const rhEventual = runs.find((r) => r.store.name === 'ours-eventual' && r.workload.name === 'read-heavy');
const eventual =
  rhOurs && rhEventual
    ? `Read-heavy, consistentRead true vs false: ${n(per1000(rhOurs, rhOurs.tally.rcu))} vs ${n(per1000(rhEventual, rhEventual.tally.rcu))} RCU per 1,000 requests (${n((per1000(rhEventual, rhEventual.tally.rcu) / Math.max(per1000(rhOurs, rhOurs.tally.rcu), 1e-9)) * 100, 0)} %).`
    : '';

const results = [
  `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC with \`${command}\` in ${n((Date.now() - started) / 1000, 0)} s.`,
  `Machine: ${machine().replace(/load average .*$/, '')}shared with other jobs, so throughput and latency are noisy (capacity and call counts are not).${pinned ? ` CPUs split: ${pinned}.` : ''}`,
  `Each run${rounds > 1 ? ` (${rounds} rounds, stores in rotated order; speed is the median round, each round's in brackets, counts and units are totals)` : ''}: ${connections} connections for ${durationSeconds} s over ${poolSize} signed-in clients (each with its own session cookie); the burst: ${WORKLOADS.find((w) => w.burst)?.burst?.requests} requests over ${connections} connections on one session. DynamoDB Local was warmed up first with ${warmupSeconds} s of writes per kind of store.`,
  '',
  ...tables.flatMap((t) => [t, '']),
  '### Targets',
  '',
  ...targets(runs, cpu, fleets, compression[1]!.ratio),
  '',
  `Store CPU (\`bench/store-cpu.ts\`) is the express adapter and SessionStore doing a whole request (load, decode, cookie reshaping, change detection, checked serialization, framing (LZ4 or brotli, whichever the item bills the fewest units with) and the write's request when the session changed, stats) with the DynamoDB client replaced by an in-process table, so that neither the network, DynamoDB, the AWS SDK nor express-session's middleware (which every store pays alike) is in it; express-session's Session construction, which the adapter's createSession calls, is. The four kinds of request, and express-session's MemoryStore reading and changing the same sessions (it parses on every get and serializes on every touch and set: the reference for machines of other speeds), take turns, 7 rounds of 2,000 each after 2 untimed rounds of each (a server's steady state); the median round${rounds > 1 ? `, and of ${rounds} such passes (one per load round), the median` : ''}. The fleets serve the read-heavy mix (1 request in 20 changes its session) from stores of their own (a decode cache each) on a shared table, a server picked at random for every request: a load is cold when another server wrote the item since this one last read it.`,
  '',
  '| realistic session JSON | stored | as | ratio |',
  '|---:|---:|---|---:|',
  ...compression.map((c) => `| ${n(c.jsonBytes / 1024)} KB | ${n(c.storedBytes / 1024)} KB | ${c.forms.join(', ')} | ${n(c.ratio, 2)}× |`),
  '',
  eventual,
].join('\n');

console.log(`\n${results}`);
if (writeDocs) {
  writeSection(DOC, pinned ? 'pinned' : 'results', results);
  const drawn = !pinned && runs.some((r) => r.workload.name === 'read-heavy');
  if (drawn) writeFileSync(SVG, chart(runs));
  console.log(`\nbench: wrote ${DOC}${drawn ? ` and ${SVG}` : ''}`);
}
