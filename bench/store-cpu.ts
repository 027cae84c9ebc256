/**
 * CPU the store spends per request on its own work, network excluded: the
 * express adapter's Store methods, as express-session calls them, and the
 * SessionStore behind them, running their real code (load, decode, cookie
 * reshaping, change detection, checked serialization, framing (LZ4 or brotli),
 * the conditional write's request, stats, queues). Only the DynamoDB client
 * is replaced: `TableInMemory` (bench/table-in-memory.ts) answers GetItem and UpdateItem from a Map in
 * the same process, so neither the network, DynamoDB nor the AWS SDK (request
 * signing, HTTP, marshalling, which every store pays alike) is in the figure;
 * express-session's middleware is not either, for the same reason (its
 * Session construction is: the adapter's createSession calls it).
 *
 * Four kinds of request, each a load and an end:
 * - read, cold: the item was last written by another server, so its bytes are
 *   new to this process and are inflated and parsed;
 * - read, decoded before: this process wrote or read those very bytes before
 *   (same writeId), so the decode cache skips the inflate;
 * - change, cold and decoded before: the same loads, then a changed field, a
 *   conditional write, and the written JSON kept for the next load.
 *
 * And a fleet: the read-heavy mix (95 % reads) served by 1, 3 or 10 servers
 * behind a balancer that picks one at random for each request, every server a
 * store of its own (its own decode cache) on one shared table. A server reads
 * an item cold when another one wrote it since this server last saw it, which
 * is the share of cold reads a real deployment of that size has.
 *
 * Beside them, in the same rounds, express-session's MemoryStore driven the
 * same way: it parses on every get and serializes on every touch and set, and
 * nothing else, so the ratio to it holds across machines of different speed
 * (and across the minutes of a shared one) where the µs do not.
 *
 * `node --import tsx bench/store-cpu.ts` prints the figures; run.ts imports it.
 */
import { EventEmitter } from 'node:events';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import session from 'express-session';
import { DynamoDBStore } from '../src/adapters/express.js';
import { createCodec, describeFormat } from '../src/codec/codec.js';
import { itemBytesBesideData } from '../src/core/item.js';
import { toStored } from '../src/adapters/cookie-shape.js';
import { random, realisticSession } from '../test/helpers/session-fixtures.js';
import { TableInMemory } from './table-in-memory.js';

export interface StoreCpu {
  sessionBytes: number;
  /** µs per request that only reads its session, written last by another server. */
  readUs: number;
  /** µs per read-only request whose item this process decoded or wrote before (same writeId: no inflate). */
  readCachedUs: number;
  /** µs per request that changes its session, written last by another server. */
  writeUs: number;
  /** µs per changing request whose item this process wrote before. */
  writeCachedUs: number;
  /** µs per request of the read-heavy mix (95 % reads, 5 % changes), every item written last by another server. */
  readHeavyColdUs: number;
  /** The same mix when this server wrote or read every item before (one server, or sticky balancing). */
  readHeavyWarmUs: number;
  /**
   * express-session's MemoryStore in the same harness and rounds, as express-session drives it
   * (get, createSession, then touch or set): a store that only parses and serializes, the
   * reference that makes figures of runs on machines of different speed comparable.
   */
  memoryReadUs: number;
  memoryWriteUs: number;
}

export interface FleetCpu {
  servers: number;
  /** µs per request of the read-heavy mix (95 % reads, 5 % changes) across the fleet. */
  us: number;
  /** Share of the reads that found their bytes new to the server that served them (measured: loads minus decode-cache hits). */
  coldReadShare: number;
}

export interface Compression {
  jsonBytes: number;
  storedBytes: number;
  ratio: number;
  /** The compression kinds the five sessions were stored with. */
  forms: string[];
}

function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

interface Kind {
  /** Run before each round of this kind, outside the timing. */
  prepare(): Promise<void>;
  request(i: number): Promise<void>;
}

/**
 * Median µs per request of each kind, over 7 rounds of `count` requests one
 * after another. The kinds take turns, in alternating order, after two
 * untimed rounds of each: a server's steady state, in which every path has
 * been compiled with the type feedback of all the others (one kind measured
 * alone first would run on code that the next kinds then deoptimize).
 */
async function measureKinds(count: number, kinds: Kind[]): Promise<number[]> {
  const round = async (kind: Kind) => {
    await kind.prepare();
    const start = cpuMicros();
    for (let i = 0; i < count; i++) await kind.request(i);
    return (cpuMicros() - start) / count;
  };
  for (let warm = 0; warm < 2; warm++) for (const kind of kinds) await round(kind);
  const rounds: number[][] = kinds.map(() => []);
  for (let r = 0; r < 7; r++) {
    const order = kinds.map((_, k) => k);
    if (r % 2) order.reverse();
    for (const k of order) rounds[k]!.push(await round(kinds[k]!));
  }
  return rounds.map((list) => list.sort((a, b) => a - b)[3]!);
}

type Store = DynamoDBStore;

// As express-session's sessions look when they reach the store: the Cookie class, a one-hour maxAge.
function benchCookie() {
  return new (session.Cookie as unknown as new (options: object) => session.Cookie & { toJSON(): object })({ maxAge: 3_600_000 });
}

function benchStore(table: TableInMemory): Store {
  return new DynamoDBStore({ client: table as unknown as DynamoDBClient, skipTableCheck: true, table: 'cpu_bench', reapIntervalMs: 0, ...(process.env.CPU_LOCKING ? { locking: process.env.CPU_LOCKING as 'optimistic' } : {}) });
}

const SESSIONS = 200;
const ids = Array.from({ length: SESSIONS }, (_, i) => `bench-session-${String(i).padStart(4, '0')}-${'x'.repeat(16)}`);

async function fillTable(store: Store, data: Record<string, unknown>, cookie: session.Cookie): Promise<void> {
  for (const id of ids) await store.set(id, { ...data, visits: 0, cookie } as unknown as session.SessionData);
}

/** One request, as express-session drives a Store: get, createSession, then set when changed, else touch. */
async function serve(store: Store, sid: string, change: boolean): Promise<void> {
  const loaded = await store.get(sid);
  const req = { sessionID: sid, sessionStore: store, res: new EventEmitter() } as unknown as Parameters<DynamoDBStore['createSession']>[0];
  const sess = store.createSession(req, loaded!) as unknown as session.Session & { visits: number };
  if (change) sess.visits += 1;
  // As dynamoSession() ends a request: one serialization decides whether to save, and the save reuses it.
  const json = store.changedJson(sess);
  if (json === undefined) await store.touch(sid, sess);
  else await new Promise<void>((resolve, reject) => store.saveWith(sess, json, (err) => (err ? reject(err) : resolve())));
  (req as unknown as { res: EventEmitter }).res.emit('close');
}

export async function measureStoreCpu(targetBytes = 2048): Promise<StoreCpu> {
  const table = new TableInMemory();
  const store = benchStore(table);
  await store.ready();
  const cookie = benchCookie();
  const { cookie: _fixtureCookie, ...data } = realisticSession(targetBytes, 3);
  await fillTable(store, data, cookie);

  const request = (change: boolean) => (i: number) => serve(store, ids[i % SESSIONS]!, change);
  const count = 2000;
  const cold = async () => {
    table.foreign = true;
  };
  // This process reads the bytes once, as a previous request would have, so the decode cache holds them.
  const warm = async () => {
    table.foreign = false;
    for (const id of ids) await store.get(id);
  };
  const memory = new session.MemoryStore();
  for (const id of ids) await new Promise<void>((resolve) => memory.set(id, { ...data, visits: 0, cookie } as unknown as session.SessionData, () => resolve()));
  const memoryRequest = (change: boolean) => async (i: number) => {
    const sid = ids[i % SESSIONS]!;
    const loaded = await new Promise<session.SessionData>((resolve) => memory.get(sid, (_err, sess) => resolve(sess!)));
    const req = { sessionID: sid, sessionStore: memory } as unknown as Parameters<session.Store['createSession']>[0];
    const sess = memory.createSession(req, loaded) as unknown as session.Session & { visits: number };
    if (change) sess.visits += 1;
    await new Promise<void>((resolve) => (change ? memory.set(sid, sess, () => resolve()) : memory.touch(sid, sess, () => resolve())));
  };
  const nothing = async () => undefined;
  const [readUs, writeUs, readCachedUs, writeCachedUs, memoryReadUs, memoryWriteUs] = (await measureKinds(count, [
    { prepare: cold, request: request(false) },
    { prepare: cold, request: request(true) },
    { prepare: warm, request: request(false) },
    { prepare: warm, request: request(true) },
    { prepare: nothing, request: memoryRequest(false) },
    { prepare: nothing, request: memoryRequest(true) },
  ])) as [number, number, number, number, number, number];
  const sessionBytes = Buffer.byteLength(JSON.stringify(toStored({ ...data, visits: 0, cookie: cookie.toJSON() })));
  await store.store.close();
  return {
    sessionBytes,
    readUs,
    readCachedUs,
    writeUs,
    writeCachedUs,
    readHeavyColdUs: 0.95 * readUs + 0.05 * writeUs,
    readHeavyWarmUs: 0.95 * readCachedUs + 0.05 * writeCachedUs,
    memoryReadUs,
    memoryWriteUs,
  };
}

/**
 * The read-heavy mix on fleets of each size: per fleet, a table of its own and
 * one store per server; each request picks a session, a server and whether it
 * changes (1 in 20) from a seeded generator, so every run serves the same
 * sequence. The fleets take turns as measureKinds does.
 */
export async function measureFleets(sizes: number[] = [1, 3, 10], targetBytes = 2048): Promise<FleetCpu[]> {
  const cookie = benchCookie();
  const { cookie: _fixtureCookie, ...data } = realisticSession(targetBytes, 3);
  const fleets = await Promise.all(
    sizes.map(async (servers, f) => {
      const table = new TableInMemory();
      const stores = Array.from({ length: servers }, () => benchStore(table));
      for (const store of stores) await store.ready();
      await fillTable(stores[0]!, data, cookie);
      const next = random(1000 + f);
      const kind: Kind = {
        prepare: async () => undefined,
        request: async () => {
          const sid = ids[Math.floor(next() * SESSIONS)]!;
          const store = stores[Math.floor(next() * servers)]!;
          await serve(store, sid, next() < 0.05);
        },
      };
      const loads = () => stores.reduce((sum, s) => sum + (s.store.stats().calls.GetItem ?? 0), 0);
      const hits = () => stores.reduce((sum, s) => sum + s.store.stats().decodeCacheHits, 0);
      return { servers, stores, kind, loads, hits };
    }),
  );
  // Past the first read of every session by its first server (the table was filled without one), before counting.
  for (const f of fleets) for (let i = 0; i < 2000; i++) await f.kind.request(i);
  const before = fleets.map((f) => ({ loads: f.loads(), hits: f.hits() }));
  const us = await measureKinds(2000, fleets.map((f) => f.kind));
  const out = fleets.map((f, i) => {
    const loads = f.loads() - before[i]!.loads;
    // A change loads too; the share is of every load, reads and changes alike.
    return { servers: f.servers, us: us[i]!, coldReadShare: 1 - (f.hits() - before[i]!.hits) / loads };
  });
  for (const f of fleets) for (const store of f.stores) await store.store.close();
  return out;
}

/**
 * Mean ratio over five realistic sessions of about `targetBytes` JSON, each
 * framed as the store frames it (the form billing the fewest units, the item's
 * other attributes counted), and the forms chosen.
 */
export function measureCompression(targetBytes: number): Compression {
  const codec = createCodec({ compression: true, compressionThreshold: 1024, encryptionKeys: [] });
  const beside = itemBytesBesideData(ids[0]!, undefined);
  let json = 0;
  let storedBytes = 0;
  const forms = new Set<string>();
  for (let seed = 1; seed <= 5; seed++) {
    const text = codec.stringify(realisticSession(targetBytes, seed));
    json += Buffer.byteLength(text);
    const frame = codec.frame(text, beside);
    forms.add(describeFormat(frame).compression);
    storedBytes += frame.length;
  }
  return { jsonBytes: json / 5, storedBytes: storedBytes / 5, ratio: json / storedBytes, forms: [...forms].sort() };
}

if (import.meta.url === `file://${process.argv[1]}` && process.argv.includes('--json')) {
  // For run.ts: one pass in a process of its own, whose heap holds nothing but the stores measured.
  const cpu = await measureStoreCpu();
  const fleets = await measureFleets();
  process.stdout.write(`${JSON.stringify({ cpu, fleets })}\n`);
} else if (import.meta.url === `file://${process.argv[1]}`) {
  const cpu = await measureStoreCpu();
  const f = (v: number) => v.toFixed(1);
  console.log(`store CPU per request, ${cpu.sessionBytes} B session (express adapter + SessionStore, network and SDK excluded):`);
  console.log(`  read:   ${f(cpu.readUs)} µs cold, ${f(cpu.readCachedUs)} µs decoded before`);
  console.log(`  change: ${f(cpu.writeUs)} µs cold, ${f(cpu.writeCachedUs)} µs decoded before`);
  console.log(`  read-heavy mix (95 % reads): ${f(cpu.readHeavyColdUs)} µs all cold, ${f(cpu.readHeavyWarmUs)} µs all decoded before`);
  console.log(`  express-session's MemoryStore, same rounds: read ${f(cpu.memoryReadUs)} µs, change ${f(cpu.memoryWriteUs)} µs (a cold read is ${(cpu.readUs / cpu.memoryReadUs).toFixed(2)}× its read)`);
  for (const fleet of await measureFleets()) {
    console.log(`  read-heavy mix on ${fleet.servers} server${fleet.servers > 1 ? 's' : ''}, random balancing: ${f(fleet.us)} µs (${(fleet.coldReadShare * 100).toFixed(0)} % of loads cold)`);
  }
  for (const size of [2048, 10 * 1024, 50 * 1024]) {
    const c = measureCompression(size);
    console.log(`${(c.jsonBytes / 1024).toFixed(1)} KB JSON: ${(c.storedBytes / 1024).toFixed(1)} KB stored (${c.forms.join(', ')}), ${c.ratio.toFixed(2)}×`);
  }
}
