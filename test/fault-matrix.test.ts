/**
 * Lost answers, stalls, throttling and server errors between the store and
 * DynamoDB, at set (seeded) rates, through every server entry and the Web
 * entry, in each locking mode, on both engines. One browser appends 1, 2, 3…
 * to a list, one POST at a time, retrying a 503 as a user would, while a
 * second tab increments a counter; two servers share the table. What must
 * hold: nothing acknowledged is lost, nothing is applied twice, the order is
 * kept, and no 5xx but 503 reaches a client.
 */
import { contextOf } from '../src/store/session-store.js';
import { allSessions } from '../src/core/table-scan.js';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { SessionStoreOptions } from '../src/config/options.js';
import { ENGINES } from './helpers/dynamo.js';
import { rateRule } from './helpers/fault-proxy.js';
import { faultyEngine, LOCKING_MODES } from './helpers/faulty-engine.js';
import { FRAMEWORKS, startApp } from './helpers/lifecycle-apps.js';
import { CookieClient } from './helpers/servers.js';
import { SECRET, startWebApp } from './helpers/web-app.js';

const ENTRIES = [...FRAMEWORKS, 'web'] as const;
type Entry = (typeof ENTRIES)[number];

/** Per scenario: appends by one tab, increments by the other. */
const APPENDS = 10;
const INCREMENTS = 10;
/** A 503 is retried (a user pressing the button again) at most this many times. */
const TRIES = 8;

interface Served {
  url: string;
  close(): Promise<void>;
}

async function serve(entry: Entry, store: SessionStoreOptions): Promise<Served> {
  if (entry === 'web') return startWebApp({ ...store, secret: SECRET });
  const app = await startApp(entry, { store });
  return { url: app.url, close: async () => {
    await app.close();
    await app.store.close();
  } };
}

/** POSTs until a 200, retrying 503s; any other status fails the test. */
async function post(client: CookieClient, url: string, statuses: number[]): Promise<Record<string, unknown>> {
  for (let i = 1; ; i++) {
    const res = await client.request(url, { method: 'POST' });
    const text = await res.text();
    statuses.push(res.status);
    if (res.status === 200) return JSON.parse(text) as Record<string, unknown>;
    assert.equal(res.status, 503, `${url} answered ${res.status}: ${text.slice(0, 300)}`);
    assert.ok(i < TRIES, `${url}: ${TRIES} answers in a row were 503`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

for (const engine of ENGINES) {
  describe(`${engine.name}: lost answers, stalls and throttling under every entry`, { timeout: 600_000 }, () => {
    const faulty = faultyEngine(engine, 'fault_matrix', 700);

    let seed = 1;
    for (const entry of ENTRIES) {
      for (const [mode, options] of Object.entries(LOCKING_MODES)) {
        it(`${entry}, ${mode}: every acknowledged append and increment kept once, in order, only 503s`, async (t) => {
          const { proxy, direct } = faulty;
          const store = faulty.through({ requestTimeoutMs: 400, ...options });
          const servers = [await serve(entry, store), await serve(entry, store)];
          const statuses: number[] = [];
          const client = new CookieClient();
          // The first element marks this scenario's session among the table's others.
          const marker = 1000 * seed;
          try {
            // The session is created before the faults begin: its cookie is what both tabs share.
            await post(client, `${servers[0]!.url}/app/append?n=${marker}`, statuses);
            proxy.rule(rateRule({ seed: seed++, lose: 0.05, stall: 0.01, throttle: 0.03, throttling: 0.02, internal: 0.02 }));
            const appends = (async () => {
              for (let n = 1; n <= APPENDS; n++) await post(client, `${servers[n % 2]!.url}/app/append?n=${n}`, statuses);
            })();
            const increments = (async () => {
              for (let n = 1; n <= INCREMENTS; n++) await post(client, `${servers[(n + 1) % 2]!.url}/app/incr`, statuses);
            })();
            await Promise.all([appends, increments]);
          } finally {
            proxy.rule(undefined);
            await Promise.all(servers.map((s) => s.close()));
          }
          const all = await allSessions(contextOf(direct));
          const mine = Object.values(all).filter((data) => Array.isArray(data.list) && (data.list as number[])[0] === marker);
          assert.equal(mine.length, 1, 'one session holds this scenario');
          t.diagnostic(`${statuses.length} answers, ${statuses.filter((s) => s === 503).length} of them 503`);
          assert.deepEqual(mine[0]!.list, [marker, ...Array.from({ length: APPENDS }, (_, i) => i + 1)], 'every append once, in order');
          assert.equal(mine[0]!.n, INCREMENTS, 'every increment once');
        });
      }
    }
  });
}

