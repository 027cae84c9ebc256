/**
 * Sustained load on two server processes sharing one table:
 * `node --import tsx bench/soak.ts [--duration 60] [--connections 200] [--warmup 40]`
 * (the warm-up runs the same load before the measured `--duration`).
 *
 * Each virtual user keeps its own session cookie and alternates between the
 * two servers, counting its own successful increments; at the end every
 * session is read back and compared with that count (a missing session is a
 * lost session, a smaller counter lost updates). RSS of both servers is taken
 * after the warm-up and at the end. Loopback only; it stops by itself and
 * stops everything it started, by pid.
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { startDynamoDBLocal } from '../src/embedded/dynamodb-local.js';
import { startServer, type ServerProcess } from '../test/helpers/servers.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { values: args } = parseArgs({
  options: { duration: { type: 'string', default: '60' }, connections: { type: 'string', default: '200' }, warmup: { type: 'string', default: '40' } },
});
const durationMs = Number(args.duration) * 1000;
const users = Number(args.connections);
// Load before the measured window, long enough for the servers' memory to reach its working size
// (on the 2-core test machine RSS levels off after 30-40 s at ~200 req/s; 10 and 20 s were too short).
const warmupMs = Number(args.warmup) * 1000;

interface User {
  cookie?: string;
  ok: number;
}

async function request(url: string, user: User): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { headers: user.cookie ? { cookie: user.cookie } : {} });
  const set = res.headers.getSetCookie()[0];
  if (set) user.cookie = set.split(';')[0];
  return { status: res.status, body: await res.text() };
}

async function memory(server: ServerProcess): Promise<{ rss: number; heapUsed: number }> {
  return (await (await fetch(`${server.url}/rss`)).json()) as { rss: number; heapUsed: number };
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

const db = await startDynamoDBLocal();
const servers: ServerProcess[] = [];
try {
  const env: Record<string, string> = { DSM_TEST_ENDPOINT: db.endpoint, TABLE: `soak_${Date.now()}`, QUIET: '1' };
  if (process.env.MALLOC_ARENA_MAX) env.MALLOC_ARENA_MAX = process.env.MALLOC_ARENA_MAX;
  // One after the other: the first creates the table.
  servers.push(await startServer('test/fixtures/counter-server.ts', env));
  servers.push(await startServer('test/fixtures/counter-server.ts', env));
  console.log(`soak: ${users} users, ${warmupMs / 1000} s warm-up + ${durationMs / 1000} s, two servers (pids ${servers.map((s) => s.child.pid).join(', ')}), DynamoDB Local pid ${db.pid}`);

  const population: User[] = Array.from({ length: users }, () => ({ ok: 0 }));
  const latencies: number[] = [];
  let errors = 0;
  let total = 0;
  const started = Date.now();
  const end = started + warmupMs + durationMs;
  let warm: Array<{ rss: number; heapUsed: number }> | undefined;
  const warmup = new Promise<void>((resolve) =>
    setTimeout(async () => {
      warm = await Promise.all(servers.map(memory));
      resolve();
    }, warmupMs),
  );

  // RSS every 10 s: growth that levels off is the allocator settling, growth that keeps going is a leak.
  const samples: number[][] = [];
  const sampler = setInterval(() => void Promise.all(servers.map(memory)).then((m) => samples.push(m.map((x) => x.rss)), () => undefined), 10_000);
  await Promise.all(
    population.map(async (user, u) => {
      for (let i = u; Date.now() < end; i++) {
        const t0 = performance.now();
        try {
          const { status } = await request(`${servers[i % 2]!.url}/count`, user);
          latencies.push(performance.now() - t0);
          total += 1;
          if (status === 200) user.ok += 1;
          else errors += 1;
        } catch {
          total += 1;
          errors += 1;
        }
      }
    }),
  );
  clearInterval(sampler);
  const elapsed = (Date.now() - started) / 1000;
  await warmup;
  const ended = await Promise.all(servers.map(memory));

  let lostSessions = 0;
  let lostUpdates = 0;
  for (const [u, user] of population.entries()) {
    const { body } = await request(`${servers[u % 2]!.url}/peek`, user);
    const views = (JSON.parse(body) as { views: number }).views;
    if (views === 0 && user.ok > 0) lostSessions += 1;
    else if (views < user.ok) lostUpdates += user.ok - views;
  }

  latencies.sort((a, b) => a - b);
  const rows = [
    ['requests', total.toLocaleString('en-US')],
    ['requests/s', (total / elapsed).toFixed(0)],
    ['p50 / p99 latency', `${percentile(latencies, 50).toFixed(1)} / ${percentile(latencies, 99).toFixed(1)} ms`],
    ['errors (non-200 or network)', String(errors)],
    ['lost sessions', String(lostSessions)],
    ['lost updates', String(lostUpdates)],
    ...servers.flatMap((_, i) => [
      [`server ${i + 1} RSS after ${warmupMs / 1000} s warm-up → end`, `${mb(warm![i]!.rss)} → ${mb(ended[i]!.rss)} (${((ended[i]!.rss / warm![i]!.rss - 1) * 100).toFixed(1)} %)`],
      [`server ${i + 1} heap used after warm-up → end`, `${mb(warm![i]!.heapUsed)} → ${mb(ended[i]!.heapUsed)}`],
    ]),
  ];
  rows.push(...servers.map((_, i) => [`server ${i + 1} RSS every 10 s`, samples.map((m) => (m[i]! / 1024 / 1024).toFixed(0)).join(', ') + ' MB']));
  const table = ['| figure | value |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join('\n');
  console.log(`\n${table}\n`);
  console.log(`machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}; ${new Date().toISOString()}`);
} finally {
  await Promise.all(servers.map((s) => s.stop()));
  await db.stop();
}
