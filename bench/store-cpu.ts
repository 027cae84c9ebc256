/**
 * CPU the store spends per request on its own work, network excluded: what
 * the express adapter and SessionStore do between DynamoDB's answer and the
 * next call. Covered: unframe + parse of the loaded item, the adapter's
 * cookie reshaping both ways, the checked stringify and the comparison with
 * the loaded JSON that decides whether to write, and, for a change, framing
 * (brotli above 1 KB). Not covered: the AWS SDK (request signing, HTTP,
 * marshalling) and express-session itself, which every store pays alike.
 *
 * `node --import tsx bench/store-cpu.ts` prints the figures; run.ts imports it.
 */
import { createCodec } from '../src/codec/codec.js';
import { fromStored, toStored } from '../src/adapters/cookie-shape.js';
import { realisticSession } from '../test/helpers/session-fixtures.js';

export interface StoreCpu {
  sessionBytes: number;
  /** µs per request that only reads its session. */
  readUs: number;
  /** µs per request that changes its session. */
  writeUs: number;
  /** µs per read-only request whose item this process decoded before (same writeId: no inflate). */
  readCachedUs: number;
}

export interface Compression {
  jsonBytes: number;
  storedBytes: number;
  ratio: number;
}

const codec = createCodec({ compression: true, compressionThreshold: 1024, encryptionKeys: [] });

function cpuMicrosPer(work: () => void, iterations: number): number {
  const start = process.cpuUsage();
  for (let i = 0; i < iterations; i++) work();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / iterations;
}

/** Median of 7 rounds after a warm-up, sized so a round takes ~100 ms. */
function measure(work: () => void): number {
  const trial = Math.max(cpuMicrosPer(work, 20), 0.5);
  const iterations = Math.max(20, Math.round(100_000 / trial));
  cpuMicrosPer(work, iterations);
  const rounds = Array.from({ length: 7 }, () => cpuMicrosPer(work, iterations)).sort((a, b) => a - b);
  return rounds[3]!;
}

export function measureStoreCpu(targetBytes = 2048): StoreCpu {
  const session = realisticSession(targetBytes, 3);
  const stored = toStored(session);
  const storedJson = codec.stringify(stored);
  const frame = codec.frame(storedJson);
  const expiresAt = Math.floor(Date.now() / 1000) + 3600;
  let sink = 0;

  const request = (change: boolean, cached = false) => () => {
    const json = cached ? storedJson : codec.unframe(frame);
    const loaded = fromStored(codec.parse(json), expiresAt);
    if (change) (loaded as { visits?: number }).visits = sink;
    // As SessionStore.commit: plain JSON first; the checked serializer only when it differs from what was loaded.
    const shaped = toStored(loaded);
    const plain = JSON.stringify(shaped);
    const next = plain === json ? plain : codec.stringify(shaped);
    if (next !== json) sink += codec.frame(next).length;
    else sink += 1;
  };
  const readUs = measure(request(false));
  const writeUs = measure(request(true));
  const readCachedUs = measure(request(false, true));
  if (sink < 0) console.log(sink); // keeps the work observable to V8
  return { sessionBytes: Buffer.byteLength(JSON.stringify(session)), readUs, writeUs, readCachedUs };
}

/** Mean brotli ratio over five realistic sessions of about `targetBytes` JSON. */
export function measureCompression(targetBytes: number): Compression {
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
  const cpu = measureStoreCpu();
  console.log(
    `store CPU, ${cpu.sessionBytes} B session: read request ${cpu.readUs.toFixed(1)} µs (${cpu.readCachedUs.toFixed(1)} µs when decoded before), changing request ${cpu.writeUs.toFixed(1)} µs`,
  );
  for (const size of [2048, 10 * 1024, 50 * 1024]) {
    const c = measureCompression(size);
    console.log(`brotli on ${(c.jsonBytes / 1024).toFixed(1)} KB JSON: ${(c.storedBytes / 1024).toFixed(1)} KB stored, ${c.ratio.toFixed(2)}×`);
  }
}
