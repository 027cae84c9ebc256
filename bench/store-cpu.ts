/**
 * CPU the store spends per request on its own work, network excluded: the
 * express adapter's Store methods, as express-session calls them, and the
 * SessionStore behind them, running their real code (load, decode, cookie
 * reshaping, change detection, checked serialization, framing with brotli,
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
 * `node --import tsx bench/store-cpu.ts` prints the figures; run.ts imports it.
 */
import { EventEmitter } from 'node:events';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import session from 'express-session';
import { DynamoDBStore } from '../src/adapters/express.js';
import { createCodec } from '../src/codec/codec.js';
import { toStored } from '../src/adapters/cookie-shape.js';
import { realisticSession } from '../test/helpers/session-fixtures.js';
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
}

export interface Compression {
  jsonBytes: number;
  storedBytes: number;
  ratio: number;
}

function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** Median µs per request over 7 rounds, after a warm-up round; each round runs `count` requests one after another. */
async function measure(count: number, request: (i: number) => Promise<void>): Promise<number> {
  const round = async () => {
    const start = cpuMicros();
    for (let i = 0; i < count; i++) await request(i);
    return (cpuMicros() - start) / count;
  };
  await round();
  const rounds: number[] = [];
  for (let r = 0; r < 7; r++) rounds.push(await round());
  return rounds.sort((a, b) => a - b)[3]!;
}

export async function measureStoreCpu(targetBytes = 2048): Promise<StoreCpu> {
  const table = new TableInMemory();
  const store = new DynamoDBStore({ client: table as unknown as DynamoDBClient, skipTableCheck: true, table: 'cpu_bench', reapIntervalMs: 0 });
  await store.ready();
  // As express-session's sessions look when they reach the store: the Cookie class, a one-hour maxAge.
  const cookie = new (session.Cookie as unknown as new (options: object) => session.Cookie & { toJSON(): object })({ maxAge: 3_600_000 });
  const { cookie: _fixtureCookie, ...data } = realisticSession(targetBytes, 3);
  const sessions = 200;
  const ids = Array.from({ length: sessions }, (_, i) => `bench-session-${String(i).padStart(4, '0')}-${'x'.repeat(16)}`);
  for (const id of ids) await store.set(id, { ...data, visits: 0, cookie } as unknown as session.SessionData);

  // One request, as express-session drives a Store: get, createSession, then set when changed, else touch.
  const request = (change: boolean) => async (i: number) => {
    const sid = ids[i % sessions]!;
    const loaded = await store.get(sid);
    const req = { sessionID: sid, sessionStore: store, res: new EventEmitter() } as unknown as Parameters<DynamoDBStore['createSession']>[0];
    const sess = store.createSession(req, loaded!) as unknown as session.Session & { visits: number };
    if (change) sess.visits += 1;
    // As dynamoSession() ends a request: one serialization decides whether to save, and the save reuses it.
    const json = store.changedJson(sess);
    if (json === undefined) await store.touch(sid, sess);
    else await new Promise<void>((resolve, reject) => store.saveWith(sess, json, (err) => (err ? reject(err) : resolve())));
    (req as unknown as { res: EventEmitter }).res.emit('close');
  };
  const count = 2000;
  table.foreign = true;
  const readUs = await measure(count, request(false));
  const writeUs = await measure(count, request(true));
  table.foreign = false;
  // Prime the decode cache: this process reads the bytes once, as a previous request would have.
  for (const id of ids) await store.get(id);
  const readCachedUs = await measure(count, request(false));
  const writeCachedUs = await measure(count, request(true));
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
  };
}

/** Mean brotli ratio over five realistic sessions of about `targetBytes` JSON. */
export function measureCompression(targetBytes: number): Compression {
  const codec = createCodec({ compression: true, compressionThreshold: 1024, encryptionKeys: [] });
  let json = 0;
  let storedBytes = 0;
  for (let seed = 1; seed <= 5; seed++) {
    const text = codec.stringify(realisticSession(targetBytes, seed));
    json += Buffer.byteLength(text);
    storedBytes += codec.frame(text).length;
  }
  return { jsonBytes: json / 5, storedBytes: storedBytes / 5, ratio: json / storedBytes };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const cpu = await measureStoreCpu();
  const f = (v: number) => v.toFixed(1);
  console.log(`store CPU per request, ${cpu.sessionBytes} B session (express adapter + SessionStore, network and SDK excluded):`);
  console.log(`  read:   ${f(cpu.readUs)} µs cold, ${f(cpu.readCachedUs)} µs decoded before`);
  console.log(`  change: ${f(cpu.writeUs)} µs cold, ${f(cpu.writeCachedUs)} µs decoded before`);
  console.log(`  read-heavy mix (95 % reads): ${f(cpu.readHeavyColdUs)} µs all cold, ${f(cpu.readHeavyWarmUs)} µs all decoded before`);
  for (const size of [2048, 10 * 1024, 50 * 1024]) {
    const c = measureCompression(size);
    console.log(`brotli on ${(c.jsonBytes / 1024).toFixed(1)} KB JSON: ${(c.storedBytes / 1024).toFixed(1)} KB stored, ${c.ratio.toFixed(2)}×`);
  }
}
