/**
 * Does a server's memory stay inside the decoded-session cache's bound?
 * `npm run bench:memory [-- --sessions 200000 --round 25000 --again 2000 --concurrency 64]`
 *
 * As issue 35 measured it: one Express server (bench/memory-server.ts) with
 * default options, sessions of about 200 bytes created 25,000 a round, 2,000
 * of each round read and changed again. After each round the server collects
 * its garbage and reports RSS, heap in use, and the sizes of the store's
 * per-session structures. Run twice: with the default bound, and with the
 * cache off (`decodedCacheBytes: 0`), whose growth is what the server needs
 * beside the cache. Loopback only; stops what it started, by pid.
 *
 * `npm run bench:memory -- --saves` measures instead what a cache hit saves:
 * the CPU of decoding (inflating, decrypting) a session against a lookup,
 * beside what the entry costs the cache's bound.
 */
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { startDynamoDBLocal } from '../src/embedded/dynamodb-local.js';
import { randomBytes } from 'node:crypto';
import { createCodec } from '../src/codec/codec.js';
import { describeFormat } from '../src/codec/format.js';
import { DEFAULTS } from '../src/config/options.js';
import { resolveConfig } from '../src/config/resolve-config.js';
import { DecodedCache, entryBytes } from '../src/core/decoded-cache.js';
import { realisticSession } from '../test/helpers/session-fixtures.js';
import type { StoreSizes } from '../src/core/sizes.js';
import { startServer } from '../test/helpers/servers.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { values: args } = parseArgs({
  options: {
    sessions: { type: 'string', default: '200000' },
    round: { type: 'string', default: '25000' },
    again: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '64' }, // the two servers' together
    report: { type: 'string', default: '50000,100000,200000' },
    saves: { type: 'boolean', default: false },
  },
});
const total = Number(args.sessions);
const round = Number(args.round);
const again = Number(args.again);
const concurrency = Math.max(1, Math.floor(Number(args.concurrency) / 2));
const reportAt = new Set(args.report.split(',').map(Number));

interface Memory {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  sizes: StoreSizes;
}

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

async function measure(label: string, bound: number | undefined): Promise<Array<{ sessions: number; memory: Memory; seconds: number }>> {
  const env: Record<string, string> = { DSM_TEST_ENDPOINT: db.endpoint, TABLE: `memory_${Date.now()}` };
  if (bound !== undefined) env.DECODED_CACHE_BYTES = String(bound);
  const server = await startServer('bench/memory-server.ts', env);
  const agent = new Agent({ connections: concurrency, keepAliveTimeout: 60_000 });
  const get = async (path: string, cookie?: string): Promise<string | undefined> => {
    const res = await request(`${server.url}${path}`, { dispatcher: agent, headers: cookie ? { cookie } : {} });
    await res.body.text();
    if (res.statusCode !== 200) throw new Error(`${path} → ${res.statusCode}`);
    const set = res.headers['set-cookie'];
    const first = Array.isArray(set) ? set : set ? [set] : [];
    return first.length > 0 ? first.map((c) => c.split(';')[0]).join('; ') : cookie;
  };
  const memory = async (): Promise<Memory> => (await (await fetch(`${server.url}/memory`)).json()) as Memory;
  const rows: Array<{ sessions: number; memory: Memory; seconds: number }> = [];
  try {
    // Warm-up on one session (JIT, sockets, the SDK's first calls): the base the growth is counted from.
    const warm = await get('/login');
    for (let i = 0; i < 500; i++) await get('/visit', warm);
    const base = await memory();
    rows.push({ sessions: 0, memory: base, seconds: 0 });
    console.log(`  ${label}, base after warm-up: RSS ${mb(base.rss)} MiB, heap ${mb(base.heapUsed)} MiB`);
    const started = Date.now();
    for (let made = 0; made < total; ) {
      const count = Math.min(round, total - made);
      const kept: string[] = [];
      let next = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < count) {
            const i = next++;
            const cookie = await get('/login');
            if (i % Math.max(1, Math.floor(count / again)) === 0 && cookie) kept.push(cookie);
          }
        }),
      );
      next = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < kept.length) await get('/visit', kept[next++]);
        }),
      );
      made += count;
      if (reportAt.has(made)) {
        const m = await memory();
        rows.push({ sessions: made, memory: m, seconds: (Date.now() - started) / 1000 });
        console.log(`  ${label}, ${made} sessions: RSS ${mb(m.rss)} MiB, heap ${mb(m.heapUsed)} MiB (committed ${mb(m.heapTotal)}, external ${mb(m.external)}, array buffers ${mb(m.arrayBuffers)}), cache ${m.sizes.decodedEntries} entries / ${mb(m.sizes.decodedBytes)} MiB, ${Math.round(made / ((Date.now() - started) / 1000))} sessions/s`);
      }
    }
  } finally {
    await agent.close();
    await server.stop();
  }
  return rows;
}

/** CPU µs per call of `work`: the median of 9 rounds of about 100 ms, after a warm-up. */
function cpuMicros(work: () => void): number {
  const time = (n: number) => {
    const start = process.cpuUsage();
    for (let i = 0; i < n; i++) work();
    const used = process.cpuUsage(start);
    return (used.user + used.system) / n;
  };
  const n = Math.max(20, Math.round(100_000 / Math.max(time(20), 0.05)));
  time(n);
  const rounds = Array.from({ length: 9 }, () => time(n)).sort((a, b) => a - b);
  return rounds[4]!;
}

function saves(): void {
  const key = { id: 'bench', key: randomBytes(32) };
  console.log(`# What a decoded-cache hit saves (Node ${process.version}; CPU µs a read, median of 9 rounds)\n`);
  console.log('| session JSON | stored as | decode (a miss) µs | lookup (a hit) µs | counted against the bound |');
  console.log('|---:|---|---:|---:|---:|');
  for (const target of [200, 2 * 1024, 10 * 1024, 50 * 1024]) {
    const json = JSON.stringify(target <= 200 ? { user: { id: 'u-1234567890', name: 'Ada Lovelace', roles: ['reader'] }, cookie: { originalMaxAge: 3600000, httpOnly: true, path: '/' }, visits: 3 } : realisticSession(target, 7));
    for (const [label, encrypted] of [['default codec', false], ['+ encryptionKeys', true]] as const) {
      const codec = createCodec(resolveConfig({ ...(encrypted ? { encryptionKeys: [key] } : {}) }));
      const frame = codec.frame(json, 100);
      const form = describeFormat(frame).compression;
      const cache = new DecodedCache(DEFAULTS.decodedCacheBytes);
      const id = randomBytes(24).toString('base64url');
      cache.set(id, 'writeid-1234567', json);
      const miss = cpuMicros(() => codec.unframe(frame));
      const hit = cpuMicros(() => cache.get(id, 'writeid-1234567'));
      console.log(`| ${(json.length / 1024).toFixed(1)} KB | ${form}${encrypted ? ' + AES-GCM' : ''}, ${frame.length} B | ${miss.toFixed(1)} | ${hit.toFixed(2)} | ${entryBytes(id, 'writeid-1234567', json)} B |`);
    }
  }
}

if (args.saves) {
  saves();
  process.exit(0);
}

const db = await startDynamoDBLocal();
try {
  console.log(`bench:memory: ${total} sessions, ${round} a round, ${again} of each again, ${concurrency} at a time to each of two servers; DynamoDB Local pid ${db.pid}`);
  // Both servers at once, each with its own table and half the connections: on a shared machine they
  // see the same load over the same minutes, and a long run yields both columns as it goes.
  const configs = [
    { label: `default bound (${mb(DEFAULTS.decodedCacheBytes)} MiB)`, bound: DEFAULTS.decodedCacheBytes },
    { label: 'cache off (decodedCacheBytes: 0)', bound: 0 },
  ];
  const runs = await Promise.all(configs.map(async (c) => ({ ...c, rows: await measure(c.label, c.bound === DEFAULTS.decodedCacheBytes ? undefined : c.bound) })));
  const off = runs[1]!.rows;
  console.log('\n| cache | sessions | RSS, MiB | RSS growth, MiB | heap after GC, MiB | heap growth, MiB | cache account, MiB (entries) | RSS growth beyond cache off, MiB |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const run of runs) {
    const base = run.rows[0]!.memory;
    for (const row of run.rows.slice(1)) {
      const m = row.memory;
      const offRow = off.find((r) => r.sessions === row.sessions);
      const beyond = offRow ? `${mb(m.rss - base.rss - (offRow.memory.rss - off[0]!.memory.rss))}` : '—';
      console.log(
        `| ${run.label} | ${row.sessions.toLocaleString('en')} | ${mb(m.rss)} | ${mb(m.rss - base.rss)} | ${mb(m.heapUsed)} | ${mb(m.heapUsed - base.heapUsed)} | ${mb(m.sizes.decodedBytes)} (${m.sizes.decodedEntries}) | ${beyond} |`,
      );
    }
  }
  const last = runs.map((r) => r.rows.at(-1)!.memory);
  console.log(`\nper-session structures at the end, default bound: ${JSON.stringify(last[0]!.sizes)}`);
  console.log(`target: RSS growth beyond cache off ≤ 1.2 × ${mb(DEFAULTS.decodedCacheBytes)} MiB = ${mb(1.2 * DEFAULTS.decodedCacheBytes)} MiB`);
} finally {
  await db.stop();
}
