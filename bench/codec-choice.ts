/**
 * `npm run bench:codec`: the compression choices side by side, in one run, on
 * the benchmark's realistic sessions (2, 10 and 50 KB; test/helpers/
 * session-fixtures.ts, seeds 1-5): the native binding (lz4-napi), LZ4 in plain
 * JavaScript (src/codec/lz4-encode.ts and lz4-block.ts), brotli at quality 1
 * and 4 from node:zlib, and no compression.
 *
 * Per choice: the item's capacity units as DynamoDB bills them (a write per
 * started KB of the whole item, a strong read per started 4 KB), and the CPU
 * of one request: a read-only one decompresses once, a changing one also
 * compresses once. CPU time (process.cpuUsage), median of ROUNDS rounds
 * taken in turns across the choices, so that the machine's load falls on all
 * of them alike; read the ratios (against lz4-napi), not the µs.
 */
import { createRequire } from 'node:module';
import { brotliDecompressSync, constants } from 'node:zlib';
import { brotli } from '../src/codec/compress.js';
import { decodeLz4Block } from '../src/codec/lz4-block.js';
import { encodeLz4Block } from '../src/codec/lz4-encode.js';
import { itemBytesBesideData } from '../src/core/item.js';
import { realisticSession } from '../test/helpers/session-fixtures.js';
import { brotliCompressSync } from 'node:zlib';

const ROUNDS = Number(process.env.ROUNDS ?? 15);
const SEEDS = [1, 2, 3, 4, 5];

interface Choice {
  name: string;
  encode(raw: Buffer): Buffer;
  decode(payload: Buffer, rawLength: number): Buffer;
}

const native = createRequire(import.meta.url)('lz4-napi') as { compressSync(b: Buffer): Buffer; uncompressSync(b: Uint8Array): Buffer };
const brotliAt = (quality: number) => (raw: Buffer) =>
  brotliCompressSync(raw, {
    chunkSize: Math.max(constants.Z_MIN_CHUNK, raw.length),
    params: {
      [constants.BROTLI_PARAM_QUALITY]: quality,
      [constants.BROTLI_PARAM_LGWIN]: Math.max(10, Math.min(24, Math.ceil(Math.log2(raw.length + 1)))),
      [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
      [constants.BROTLI_PARAM_SIZE_HINT]: raw.length,
    },
  });
const unbrotli = (payload: Buffer) => brotliDecompressSync(payload, { chunkSize: Math.max(1024, payload.length * 5) });

const CHOICES: Choice[] = [
  { name: 'lz4-napi (native)', encode: (raw) => native.compressSync(raw), decode: (p) => native.uncompressSync(p) },
  {
    name: 'LZ4 in JavaScript',
    encode: (raw) => {
      const block = encodeLz4Block(raw);
      const out = Buffer.allocUnsafe(4 + block.length);
      out.writeUInt32LE(raw.length, 0);
      block.copy(out, 4);
      return out;
    },
    decode: (p, n) => decodeLz4Block(p.subarray(4), n),
  },
  { name: 'brotli quality 1', encode: brotliAt(1), decode: unbrotli },
  { name: 'brotli quality 4', encode: brotliAt(4), decode: unbrotli },
  { name: "the codec's brotli (q1 < 8 KB ≤ q4)", encode: brotli, decode: unbrotli },
  { name: 'none', encode: (raw) => raw, decode: (p) => p },
];

function cpuMicros(work: () => void, iterations: number): number {
  const start = process.cpuUsage();
  for (let i = 0; i < iterations; i++) work();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / iterations;
}
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const beside = itemBytesBesideData('x'.repeat(43), undefined) + 2;
const fmt = (n: number, digits = 1) => n.toFixed(digits);

console.log(`# Compression choices (Node ${process.version}, ${process.arch}; ${ROUNDS} rounds in turns, sessions of seeds ${SEEDS.join(', ')})\n`);
console.log('Units per item as billed; CPU per request, µs: a read decompresses, a write also compresses; ratios against lz4-napi.\n');

for (const target of [2 * 1024, 10 * 1024, 50 * 1024]) {
  const raws = SEEDS.map((seed) => Buffer.from(JSON.stringify(realisticSession(target, seed))));
  const stored = CHOICES.map((c) => raws.map((raw) => c.encode(raw)));
  // Every choice reads back what it wrote, byte for byte.
  CHOICES.forEach((c, k) => raws.forEach((raw, s) => {
    if (!c.decode(stored[k]![s]!, raw.length).equals(raw)) throw new Error(`${c.name} does not round-trip`);
  }));
  const encodeUs: number[][] = CHOICES.map(() => []);
  const decodeUs: number[][] = CHOICES.map(() => []);
  const iterations = Math.max(20, Math.round(40_000 / target));
  for (let round = -2; round < ROUNDS; round++) {
    CHOICES.forEach((c, k) => {
      const enc = cpuMicros(() => raws.forEach((raw) => c.encode(raw)), iterations) / raws.length;
      const dec = cpuMicros(() => raws.forEach((raw, s) => c.decode(stored[k]![s]!, raw.length)), iterations) / raws.length;
      if (round >= 0) {
        encodeUs[k]!.push(enc);
        decodeUs[k]!.push(dec);
      }
    });
  }
  const rawKb = raws.reduce((a, r) => a + r.length, 0) / raws.length / 1024;
  console.log(`## ${fmt(rawKb)} KB session JSON\n`);
  console.log('| choice | stored KB | ratio | WCU per write | RCU per strong read | read CPU µs | write CPU µs (read + compress) | read CPU ÷ native | write CPU ÷ native | WCU ÷ native |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  const rows = CHOICES.map((c, k) => {
    const bytes = stored[k]!.map((p) => p.length + beside);
    const wcu = bytes.reduce((a, b) => a + Math.ceil(b / 1024), 0) / bytes.length;
    const rcu = bytes.reduce((a, b) => a + Math.ceil(b / 4096), 0) / bytes.length;
    const dec = median(decodeUs[k]!);
    const enc = median(encodeUs[k]!);
    const kb = stored[k]!.reduce((a, p) => a + p.length, 0) / stored[k]!.length / 1024;
    return { c, kb, wcu, rcu, read: dec, write: dec + enc };
  });
  const base = rows[0]!;
  for (const r of rows) {
    console.log(`| ${r.c.name} | ${fmt(r.kb)} | ${fmt(rawKb / r.kb, 2)}× | ${fmt(r.wcu)} | ${fmt(r.rcu)} | ${fmt(r.read)} | ${fmt(r.write)} | ${fmt(r.read / base.read, 2)} | ${fmt(r.write / base.write, 2)} | ${fmt(r.wcu / base.wcu, 2)} |`);
  }
  console.log('');
}
