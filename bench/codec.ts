/**
 * CPU cost of the codec per session, and what compression saves.
 * `node --import tsx bench/codec.ts` prints markdown tables.
 *
 * CPU time (process.cpuUsage, user + system) rather than wall time, so a busy
 * machine inflates the figures less; each figure is the median of ROUNDS
 * rounds of many operations, after a warm-up that lets V8 optimise.
 */
import { randomBytes } from 'node:crypto';
import { createCodec, type CodecOptions } from '../src/codec/codec.js';
import { realisticSession } from '../test/helpers/session-fixtures.js';

const ROUNDS = 9;
/** Enough operations per round that one round takes about this long. */
const ROUND_BUDGET_US = 150_000;

function cpuMicros(work: () => void, iterations: number): number {
  const start = process.cpuUsage();
  for (let i = 0; i < iterations; i++) work();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / iterations;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/** Median µs per call of `work`, with the iteration count sized from a trial run. */
function measure(work: () => void): number {
  const trial = Math.max(cpuMicros(work, 20), 0.5);
  const iterations = Math.max(20, Math.round(ROUND_BUDGET_US / trial));
  cpuMicros(work, iterations); // warm-up
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) rounds.push(cpuMicros(work, iterations));
  return median(rounds);
}

const key = { id: 'bench', key: randomBytes(32) };
const variants: Array<[string, CodecOptions]> = [
  ['plain', { compression: false, compressionThreshold: 1024, encryptionKeys: [] }],
  ['brotli', { compression: true, compressionThreshold: 1024, encryptionKeys: [] }],
  ['AES-GCM', { compression: false, compressionThreshold: 1024, encryptionKeys: [key] }],
  ['brotli + AES-GCM', { compression: true, compressionThreshold: 1024, encryptionKeys: [key] }],
];
const fmt = (us: number): string => (us >= 100 ? us.toFixed(0) : us.toFixed(1));
const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KB`;

console.log(`# Codec benchmark (Node ${process.version}, ${process.arch}; CPU µs per operation, median of ${ROUNDS} rounds)\n`);

for (const target of [2 * 1024, 50 * 1024]) {
  const session = realisticSession(target, 7);
  const json = JSON.stringify(session);
  console.log(`## ${kb(Buffer.byteLength(json))} session JSON\n`);
  console.log('| variant | encode µs | decode µs | encode + decode µs | stored bytes |');
  console.log('|---|---:|---:|---:|---:|');
  const baseEncode = measure(() => JSON.stringify(session));
  const baseDecode = measure(() => JSON.parse(json));
  console.log(`| bare JSON.stringify / JSON.parse (reference) | ${fmt(baseEncode)} | ${fmt(baseDecode)} | ${fmt(baseEncode + baseDecode)} | ${Buffer.byteLength(json)} |`);
  for (const [name, options] of variants) {
    const codec = createCodec(options);
    const bytes = codec.encode(session);
    const encode = measure(() => codec.encode(session));
    const decode = measure(() => codec.decode(bytes));
    console.log(`| ${name} | ${fmt(encode)} | ${fmt(decode)} | ${fmt(encode + decode)} | ${bytes.length} |`);
  }
  // What the safety walk costs over a bare stringify: the price of refusing
  // functions, NaN and friends instead of silently losing them.
  const plain = createCodec(variants[0]![1]);
  const checked = measure(() => plain.stringify(session));
  console.log(`\nchecked stringify ${fmt(checked)} µs vs bare JSON.stringify ${fmt(baseEncode)} µs (+${(((checked - baseEncode) / baseEncode) * 100).toFixed(0)} %)\n`);
}

console.log('## Compression ratio (brotli, realistic sessions, seeds 1-5)\n');
console.log('| session JSON | stored, brotli | ratio | write units clear → brotli | stored, brotli + AES-GCM | ratio |');
console.log('|---:|---:|---:|---:|---:|---:|');
const brotli = createCodec(variants[1]![1]);
const sealed = createCodec(variants[3]![1]);
for (const target of [2 * 1024, 10 * 1024, 50 * 1024]) {
  let raw = 0;
  let packed = 0;
  let packedSealed = 0;
  let unitsClear = 0;
  let unitsPacked = 0;
  for (let seed = 1; seed <= 5; seed++) {
    const session = realisticSession(target, seed);
    const size = Buffer.byteLength(JSON.stringify(session)) + 2;
    const small = brotli.encode(session).length;
    raw += size;
    packed += small;
    packedSealed += sealed.encode(session).length;
    // A write is billed per started KB of the whole item; ~150 bytes of key and bookkeeping attributes.
    unitsClear += Math.ceil((size + 150) / 1024);
    unitsPacked += Math.ceil((small + 150) / 1024);
  }
  console.log(
    `| ${kb(raw / 5)} | ${kb(packed / 5)} | ${(raw / packed).toFixed(2)}× | ${(unitsClear / 5).toFixed(1)} → ${(unitsPacked / 5).toFixed(1)} WCU | ${kb(packedSealed / 5)} | ${(raw / packedSealed).toFixed(2)}× |`,
  );
}
