/**
 * The save, lease and merge protocol under orderings and faults that no fixed
 * test reaches: fast-check draws which calls lose their answer, stall past
 * the time-out or are throttled, and its scheduler decides in which order
 * three concurrent writers (two appending to lists of their own, one
 * incrementing a counter; on two stores) start each request. Every writer
 * retries a 503 as a user would, except a SaveOutcomeUnknownError: that save
 * may have landed, and only a client that can tell (an idempotency key of its
 * own) may retry it. After each run: every list holds what was acknowledged,
 * once each and in order, plus at most the unknown ones; the counter is at
 * least the increments acknowledged and at most those plus the unknown ones.
 * `DSM_PROPERTY_SEED` replays a run fast-check reported.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SessionStore } from '../src/store/session-store.js';
import { StoreUnavailableError, LockTimeoutError, SaveOutcomeUnknownError } from '../src/errors.js';
import { ENGINES } from './helpers/dynamo.js';
import type { FaultAction } from './helpers/fault-proxy.js';
import { faultyEngine, LOCKING_MODES } from './helpers/faulty-engine.js';

const OPS = 3;
const RUNS = Number(process.env.DSM_PROPERTY_RUNS ?? 4);

type Data = { a?: number[]; b?: number[]; n?: number };

/**
 * One request: load as a POST, change, save; a 503-class failure gives the lease back and is retried.
 * Returns whether the save was acknowledged (true) or its outcome is unknown (false).
 */
async function request(store: SessionStore, id: string, change: (data: Data) => void): Promise<boolean> {
  for (let tries = 1; ; tries++) {
    let handle;
    try {
      const loaded = await store.load(id, { method: 'POST' });
      assert.ok(loaded, 'the session exists');
      handle = loaded.handle;
      const data = loaded.data as Data;
      change(data);
      await store.commit(handle, id, data);
      return true;
    } catch (err) {
      if (!(err instanceof StoreUnavailableError || err instanceof LockTimeoutError)) throw err;
      if (process.env.DSM_PROPERTY_DEBUG) console.error(`${id}: ${(err as Error).message.slice(0, 160)}`);
      if (handle) await store.release(handle).catch(() => undefined);
      if (err instanceof SaveOutcomeUnknownError) return false;
      assert.ok(tries < 12, `12 tries in a row failed: ${(err as Error).message}`);
    }
  }
}

/** Each of `acknowledged` once and in order, with at most the `unknown` ones among them. */
function assertList(list: number[] | undefined, acknowledged: number[], unknown: number[], name: string): void {
  const stored = list ?? [];
  assert.ok(stored.every((v, i) => i === 0 || v > stored[i - 1]!), `${name}: in order, none twice: ${JSON.stringify(stored)}`);
  for (const v of acknowledged) assert.ok(stored.includes(v), `${name}: acknowledged ${v} kept: ${JSON.stringify(stored)}`);
  for (const v of stored) assert.ok(acknowledged.includes(v) || unknown.includes(v), `${name}: ${v} never sent: ${JSON.stringify(stored)}`);
}

for (const engine of ENGINES) {
  describe(`${engine.name}: any ordering and any lost answers keep every acknowledged change once`, { timeout: 600_000 }, () => {
    const faulty = faultyEngine(engine, 'property', 500);

    for (const [mode, options] of Object.entries(LOCKING_MODES)) {
      it(`${mode}: every acknowledged change kept once and in order`, async () => {
        const { proxy, direct } = faulty;
        const make = () => new SessionStore(faulty.through({ requestTimeoutMs: 300, lockLeaseMs: 2_000, maxLockWaitMs: 4_000, ...options }));
        const stores = [make(), make()];
        let run = 0;
        let unknownOutcomes = 0;
        const fault = fc.constantFrom<FaultAction>('forward', 'forward', 'forward', 'forward', 'lose-response', 'lose-response', 'throttle', 'stall');
        try {
          await fc.assert(
            fc.asyncProperty(fc.scheduler(), fc.array(fault, { minLength: 64, maxLength: 64 }), async (s, faults) => {
              const id = `${mode}-${run++}`;
              await direct.set(id, { a: [], b: [], n: 0 });
              let call = 0;
              proxy.rule(() => faults[call++ % faults.length]!);
              const outcomes = { a: { ok: [] as number[], unknown: [] as number[] }, b: { ok: [] as number[], unknown: [] as number[] }, n: { ok: [] as number[], unknown: [] as number[] } };
              try {
                const writer = (store: SessionStore, name: keyof typeof outcomes, change: (i: number) => (data: Data) => void) => async () => {
                  for (let i = 1; i <= OPS; i++) {
                    await s.schedule(Promise.resolve(), `${id} op ${i}`);
                    outcomes[name][(await request(store, id, change(i))) ? 'ok' : 'unknown'].push(i);
                  }
                };
                const done = Promise.all([
                  writer(stores[0]!, 'a', (i) => (d) => void (d.a = [...(d.a ?? []), i]))(),
                  writer(stores[1]!, 'b', (i) => (d) => void (d.b = [...(d.b ?? []), i]))(),
                  writer(stores[1]!, 'n', () => (d) => void (d.n = (d.n ?? 0) + 1))(),
                ]);
                // The scheduler releases one waiting start at a time, in the order it chose, until all are done.
                while (s.count() > 0 || !(await Promise.race([done.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5))]))) {
                  if (s.count() > 0) await s.waitOne();
                }
                await done;
              } catch (err) {
                // fast-check reports the counterexample; this says what broke in it.
                console.error(`${id}: ${(err as Error).message}`);
                throw err;
              } finally {
                proxy.rule(undefined);
              }
              const stored = (await direct.get(id)) as Data;
              unknownOutcomes += outcomes.a.unknown.length + outcomes.b.unknown.length + outcomes.n.unknown.length;
              if (JSON.stringify(stored) !== JSON.stringify({ a: [1, 2, 3], b: [1, 2, 3], n: 3 })) console.error(`${id}: stored ${JSON.stringify(stored)}, ${JSON.stringify(outcomes)}`);
              assertList(stored.a, outcomes.a.ok, outcomes.a.unknown, 'a');
              assertList(stored.b, outcomes.b.ok, outcomes.b.unknown, 'b');
              const n = stored.n ?? 0;
              assert.ok(n >= outcomes.n.ok.length && n <= outcomes.n.ok.length + outcomes.n.unknown.length, `counter ${n}: ${outcomes.n.ok.length} acknowledged, ${outcomes.n.unknown.length} unknown`);
            }).beforeEach(() => undefined),
            { numRuns: RUNS, ...(process.env.DSM_PROPERTY_SEED ? { seed: Number(process.env.DSM_PROPERTY_SEED) } : {}) },
          );
        } finally {
          await Promise.all(stores.map((st) => st.close()));
          console.log(`# ${engine.name}, ${mode}: ${run} runs, ${unknownOutcomes} saves of unknown outcome`);
        }
      });
    }
  });
}
