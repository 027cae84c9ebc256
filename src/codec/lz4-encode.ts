/**
 * An LZ4 *block* encoder in plain JavaScript: what lz4-napi's compressSync
 * wrote (minus the 4-byte length in front, which the caller adds), with no
 * native binding, so the package installs and bundles (Next.js, esbuild,
 * Vite SSR, webpack) on every platform, Lambda on arm64 and Alpine included.
 * Its blocks are standard LZ4, read by lz4-block.ts and by lz4-napi alike.
 *
 * Greedy, as LZ4's fast mode: a hash of the next 4 bytes finds the last place
 * they were seen within 64 KB; a match found is extended as far as it goes;
 * where nothing matches, the step grows so that incompressible data is
 * crossed quickly. No npm package fits: lz4js, the pure-JS one, has had no
 * release since 2017; the others are native or WebAssembly, which is what
 * this file removes. npm run bench:codec compares it with lz4-napi and brotli.
 */

/** The last match must start 12 bytes before the end, and the last 5 bytes are literals (the LZ4 block rules). */
const MF_LIMIT = 12;
const LAST_LITERALS = 5;
const MAX_OFFSET = 65535;
const HASH_BITS = 14;

const read32 = (b: Uint8Array, i: number): number => (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) | 0;

/** The extra length bytes of a count past 15: 255 while more follows, then the rest. */
function writeLength(out: Buffer, o: number, rest: number): number {
  while (rest >= 255) {
    out[o++] = 255;
    rest -= 255;
  }
  out[o++] = rest;
  return o;
}

// One table, reused: a call runs to completion on the one thread. Entries are positions plus `base`,
// which grows past the last call's positions, so an entry of an earlier call reads as empty with no
// clearing: clearing 64 KB costs more than encoding a 2 KB session.
const table = new Int32Array(1 << HASH_BITS);
let base = 0;

/** The LZ4 block of `src`. */
export function encodeLz4Block(src: Uint8Array): Buffer {
  const n = src.length;
  // LZ4's bound: incompressible input grows by one byte in 255, plus a token.
  const out = Buffer.allocUnsafe(n + Math.ceil(n / 255) + 16);
  let o = 0;
  let anchor = 0;
  if (n > MF_LIMIT) {
    if (base > 0x3fffffff - n) {
      table.fill(0);
      base = 0;
    }
    base += MAX_OFFSET + 1;
    const matchEnd = n - LAST_LITERALS;
    const searchEnd = n - MF_LIMIT;
    let i = 0;
    let misses = 0;
    while (i < searchEnd) {
      const seq = read32(src, i);
      const h = Math.imul(seq, 2654435761) >>> (32 - HASH_BITS);
      const ref = table[h]! - base;
      table[h] = i + base;
      if (ref < 0 || i - ref > MAX_OFFSET || read32(src, ref) !== seq) {
        i += 1 + (misses++ >> 6);
        continue;
      }
      misses = 0;
      let end = i + 4;
      let from = ref + 4;
      while (end < matchEnd && src[end] === src[from]) {
        end++;
        from++;
      }
      const literals = i - anchor;
      const match = end - i - 4;
      out[o++] = (Math.min(literals, 15) << 4) | Math.min(match, 15);
      if (literals >= 15) o = writeLength(out, o, literals - 15);
      // A loop, not out.set(src.subarray()): the runs are short, and a subarray per run costs more than its bytes.
      for (let k = anchor; k < i; k++) out[o++] = src[k]!;
      const offset = i - ref;
      out[o++] = offset & 0xff;
      out[o++] = offset >>> 8;
      if (match >= 15) o = writeLength(out, o, match - 15);
      i = end;
      anchor = end;
    }
    base += n;
  }
  const literals = n - anchor;
  out[o++] = Math.min(literals, 15) << 4;
  if (literals >= 15) o = writeLength(out, o, literals - 15);
  out.set(src.subarray(anchor), o);
  o += literals;
  return out.subarray(0, o);
}
