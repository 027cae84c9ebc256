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
 * and reports acknowledged writes per second (as a ratio of the fault-free
 * run), 503s, and what the sessions hold afterwards: appends stored twice,
 * acknowledged appends or increments missing.
 *
 * `npm run bench:faults [-- --seconds 8]`
 */
import { parseArgs } from 'node:util';
import { startDynamoDBLocal } from '../src/embedded/dynamodb-local.js';
import type { SessionStoreOptions } from '../src/config/options.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { values: args } = parseArgs({ options: { seconds: { type: 'string', default: '8' }, browsers: { type: 'string', default: '12' } } });
const SECONDS = Number(args.seconds);
const BROWSERS = Number(args.browsers);

const db = await startDynamoDBLocal();
// The apps of the test suite, pointed at this DynamoDB Local (test/helpers/dynamo.ts reads these).
process.env.DSM_TEST_ENDPOINT = db.endpoint;
process.env.DSM_TEST_DYNALITE_ENDPOINT = db.endpoint;
const { SessionStore } = await import('../src/core/session-store.js');
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

const results: Result[] = [];
for (const [i, condition] of CONDITIONS.entries()) {
  const result = await run(condition, 1000 + i);
  results.push(result);
  console.error(`${condition.name}: ${result.acknowledged} acknowledged, ${result.unavailable} answered 503`);
}

const base = results[0]!.perSecond;
console.log(`\n${BROWSERS} browsers × (appends + increments), three Express servers, default options, ${SECONDS} s a condition, DynamoDB Local ${db.endpoint}\n`);
console.log('| faults in the calls | acknowledged writes/s | of fault-free | answered 503 | appends stored twice | acknowledged but missing |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const r of results) {
  console.log(`| ${r.name} | ${r.perSecond.toFixed(0)} | ${(r.perSecond / base).toFixed(2)} | ${r.unavailable} | ${r.twice} | ${r.missing} |`);
}

await direct.close();
await proxy.close();
await db.stop();
