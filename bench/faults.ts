/**
 * Goodput under faults between the store and DynamoDB: three Express servers
 * with default options share one table on DynamoDB Local behind the test
 * suite's fault proxy; 12 browsers each append 1, 2, 3… to a list in their
 * session, one POST at a time, while a second tab increments a counter; a 503
 * is retried with the same value, as a user would. Each condition runs for
 * the same time, one after the other in one run:
 *
 *   none · 2 % and 5 % of calls lose their answer (applied, never answered) ·
 *   25 % throttled (ProvisionedThroughputExceeded and Throttling, half each),
 *   with retryMode 'standard' and 'adaptive' · 2 % of answers stalled 2 s
 *
 * Each faulty condition runs in pairs with the fault-free one, in alternating
 * order, and is reported as the median ratio of its pairs' acknowledged writes
 * per second, with its 503s and what the sessions hold afterwards: appends
 * stored twice, acknowledged appends or increments missing.
 *
 * `npm run bench:faults [-- --seconds 5 --rounds 3]`
 */
import { parseArgs } from 'node:util';
import { startDynamoDBLocal } from '../src/embedded/dynamodb-local.js';
import type { SessionStoreOptions } from '../src/config/options.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { values: args } = parseArgs({ options: { seconds: { type: 'string', default: '5' }, browsers: { type: 'string', default: '12' }, rounds: { type: 'string', default: '3' } } });
const SECONDS = Number(args.seconds);
const ROUNDS = Number(args.rounds);
const BROWSERS = Number(args.browsers);

const db = await startDynamoDBLocal();
// The apps of the test suite, pointed at this DynamoDB Local (test/helpers/dynamo.ts reads these).
process.env.DSM_TEST_ENDPOINT = db.endpoint;
process.env.DSM_TEST_DYNALITE_ENDPOINT = db.endpoint;
const { SessionStore } = await import('../src/store/session-store.js');
const { localOptions, uniqueTable } = await import('../test/helpers/dynamo.js');
const { rateRule, startFaultProxy } = await import('../test/helpers/fault-proxy.js');
const { startApp } = await import('../test/helpers/lifecycle-apps.js');
const { CookieClient } = await import('../test/helpers/servers.js');

interface Condition {
  name: string;
  rates: { lose?: number; stall?: number; throttle?: number; throttling?: number };
  store?: SessionStoreOptions;
}

const CONDITIONS: Condition[] = [
  { name: 'none', rates: {} },
  { name: '2 % lose their answer', rates: { lose: 0.02 } },
  { name: '5 % lose their answer', rates: { lose: 0.05 } },
  { name: '25 % throttled, standard', rates: { throttle: 0.125, throttling: 0.125 } },
  { name: '25 % throttled, adaptive', rates: { throttle: 0.125, throttling: 0.125 }, store: { retryMode: 'adaptive' } },
  { name: '2 % stalled 2 s', rates: { stall: 0.02 } },
];

interface Result {
  name: string;
  acknowledged: number;
  perSecond: number;
  unavailable: number;
  twice: number;
  missing: number;
}

const proxy = await startFaultProxy(Number(new URL(db.endpoint).port));
proxy.stallFor(2_000);
const table = uniqueTable('bench_faults');
const direct = new SessionStore(localOptions({ table }));
await direct.ready();

/** The session id in an express-session cookie: `s:<id>.<signature>`, URL-encoded. */
const idOf = (cookie: string) => {
  const value = decodeURIComponent(cookie).slice(2);
  return value.slice(0, value.lastIndexOf('.'));
};

async function run(condition: Condition, seed: number): Promise<Result> {
  const store: SessionStoreOptions = { ...localOptions({ table, endpoint: proxy.endpoint, skipTableCheck: true }), ...condition.store };
  const servers = await Promise.all([0, 1, 2].map(() => startApp('express', { store })));
  let acknowledged = 0;
  let unavailable = 0;
  const post = async (client: InstanceType<typeof CookieClient>, path: string, i: number) => {
    for (;;) {
      const res = await client.request(`${servers[i % servers.length]!.url}${path}`, { method: 'POST' });
      await res.text();
      if (res.status === 200) return;
      if (res.status !== 503) throw new Error(`${path} answered ${res.status}`);
      unavailable += 1;
      i += 1;
    }
  };
  const browsers = Array.from({ length: BROWSERS }, () => ({ client: new CookieClient(), appended: 0, incremented: 0 }));
  for (const [b, browser] of browsers.entries()) await post(browser.client, '/app/append?n=0', b);
  proxy.rule(rateRule({ seed, ...condition.rates }));
  const until = Date.now() + SECONDS * 1000;
  const started = Date.now();
  await Promise.all(
    browsers.flatMap((browser, b) => [
      (async () => {
        for (let n = 1; Date.now() < until; n++) {
          await post(browser.client, `/app/append?n=${n}`, b + n);
          browser.appended = n;
          acknowledged += 1;
        }
      })(),
      (async () => {
        for (let n = 1; Date.now() < until; n++) {
          await post(browser.client, '/app/incr', b + n + 1);
          browser.incremented = n;
          acknowledged += 1;
        }
      })(),
    ]),
  );
  const elapsed = (Date.now() - started) / 1000;
  proxy.rule(undefined);
  await Promise.all(servers.map(async (s) => {
    await s.close();
    await s.store.close();
  }));
  let twice = 0;
  let missing = 0;
  for (const browser of browsers) {
    const data = (await direct.get(idOf(browser.client.cookie('connect.sid')!))) as { list?: number[]; n?: number } | null;
    const list = data?.list ?? [];
    twice += list.length - new Set(list).size;
    for (let n = 0; n <= browser.appended; n++) if (!list.includes(n)) missing += 1;
    if ((data?.n ?? 0) < browser.incremented) missing += browser.incremented - (data?.n ?? 0);
  }
  return { name: condition.name, acknowledged, perSecond: acknowledged / elapsed, unavailable, twice, missing };
}

// A first run warms the JIT and DynamoDB Local's JVM, and is not reported. Then each faulty
// condition is run in pairs with the fault-free one, in alternating order, and reported as the
// median of its pairs' ratios: this machine's speed drifts between runs more than within a pair.
await run({ name: 'warm-up', rates: {} }, 999);
const [none, ...faulty] = CONDITIONS as [Condition, ...Condition[]];
interface Row { name: string; ratios: number[]; perSecond: number[]; unavailable: number; twice: number; missing: number }
const rows: Row[] = [];
const baseline: Row = { name: none.name, ratios: [], perSecond: [], unavailable: 0, twice: 0, missing: 0 };
let seed = 1000;
const add = (row: Row, r: Result) => {
  row.perSecond.push(r.perSecond);
  row.unavailable += r.unavailable;
  row.twice += r.twice;
  row.missing += r.missing;
};
for (const condition of faulty) {
  const row: Row = { name: condition.name, ratios: [], perSecond: [], unavailable: 0, twice: 0, missing: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    const pair = round % 2 === 0 ? [none, condition] : [condition, none];
    const [first, second] = [await run(pair[0]!, seed++), await run(pair[1]!, seed++)];
    const [plain, faults] = round % 2 === 0 ? [first, second] : [second, first];
    add(baseline, plain);
    add(row, faults);
    row.ratios.push(faults.perSecond / plain.perSecond);
    console.error(`${condition.name}, round ${round + 1}: ${faults.perSecond.toFixed(0)} vs ${plain.perSecond.toFixed(0)} acknowledged writes/s, ${faults.unavailable} answered 503`);
  }
  rows.push(row);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
console.log(`\n${BROWSERS} browsers × (appends + increments), three Express servers, default options, ${SECONDS} s a run, ${ROUNDS} pairs a condition, DynamoDB Local\n`);
console.log('| faults in the calls | acknowledged writes/s (median) | of fault-free (median of pairs) | answered 503 | appends stored twice | acknowledged but missing |');
console.log('|---|---:|---:|---:|---:|---:|');
console.log(`| ${baseline.name} | ${median(baseline.perSecond).toFixed(0)} | 1.00 | ${baseline.unavailable} | ${baseline.twice} | ${baseline.missing} |`);
for (const r of rows) {
  console.log(`| ${r.name} | ${median(r.perSecond).toFixed(0)} | ${median(r.ratios).toFixed(2)} (${r.ratios.map((x) => x.toFixed(2)).join(', ')}) | ${r.unavailable} | ${r.twice} | ${r.missing} |`);
}

await direct.close();
await proxy.close();
await db.stop();
