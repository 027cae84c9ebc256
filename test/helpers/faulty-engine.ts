/**
 * An engine of the matrix behind a fault proxy, for the suites that run
 * writers through faults: the proxy, a store straight to the engine (to read
 * what is stored), the table, and the locking modes those suites run, each
 * set up before the suite and stopped after it.
 */
import { before, after } from 'node:test';
import { SessionStore } from '../../src/store/session-store.js';
import type { SessionStoreOptions } from '../../src/config/options.js';
import { localOptions, uniqueTable, type Engine } from './dynamo.js';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';

/** `optimistic` keeps concurrent increments only with a rule that adds both sides' deltas. */
export const addDeltas = (_path: ReadonlyArray<string | number>, base: unknown, mine: unknown, theirs: unknown): unknown =>
  typeof base === 'number' && typeof mine === 'number' && typeof theirs === 'number' ? theirs + (mine - base) : mine;

/** The locking modes a fault suite runs: the default, optimistic with deltas added, pessimistic. */
export const LOCKING_MODES: Record<string, SessionStoreOptions> = {
  auto: {},
  optimistic: { locking: 'optimistic', onConflict: addDeltas },
  pessimistic: { locking: 'pessimistic' },
};

export interface FaultyEngine {
  readonly proxy: FaultProxy;
  /** Reads and writes the engine directly, past the proxy. */
  readonly direct: SessionStore;
  readonly table: string;
  /** Options of a store whose calls pass the proxy. */
  through(extra?: SessionStoreOptions): SessionStoreOptions;
}

/** Registers before/after hooks in the calling suite; the fields are there from its first test on. */
export function faultyEngine(engine: Engine, prefix: string, stallMs: number): FaultyEngine {
  const table = uniqueTable(prefix);
  const state = { table } as { proxy: FaultProxy; direct: SessionStore; table: string };
  before(async () => {
    state.proxy = await startFaultProxy(Number(new URL(engine.endpoint).port));
    state.proxy.stallFor(stallMs);
    state.direct = new SessionStore(localOptions({ endpoint: engine.endpoint, table }));
    await state.direct.ready();
  });
  after(async () => {
    state.proxy.rule(undefined);
    await state.direct.close();
    await state.proxy.close();
  });
  return {
    get proxy() {
      return state.proxy;
    },
    get direct() {
      return state.direct;
    },
    table,
    through: (extra = {}) => ({ ...localOptions({ table, endpoint: state.proxy.endpoint, skipTableCheck: true }), ...extra }),
  };
}
