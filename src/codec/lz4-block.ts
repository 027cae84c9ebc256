import { CorruptSessionError } from '../errors.js';

/**
 * An LZ4 *block* decoder in plain JavaScript: the one LZ4 reader of the
 * store, for what lz4-encode.ts writes and for what earlier versions wrote
 * with lz4-napi (a native binding, dropped: it broke bundlers and platforms
 * without a prebuilt binary, to save a few µs; npm run bench:codec).
 *
 * The format is lz4_flex's (what lz4-napi's compressSync wrote, minus the
 * 4-byte length in front, which the caller reads and caps): sequences of a
 * token (literal count in the high nibble, match length − 4 in the low one,
 * 15 meaning "more bytes follow, each added, until one is not 255"), the
 * literals, then a 2-byte little-endian offset back into the output and the
 * match length's extra bytes. The last sequence is literals only and ends the
 * block.
 *
 * No npm package fits: lz4js (the pure-JS one) has not been released since
 * 2017 and checks no offset or length, so bad bytes decode to garbage without
 * an error; `lz4` builds a native addon at install; the others are
 * WebAssembly, or read the frame format only.
 *
 * The bytes come from a table that anyone with write access can fill, so
 * every length and offset is checked before it is used: the decoder never
 * reads or writes out of bounds, allocates exactly `decodedBytes` (which the
 * caller has already held to MAX_DECODED_BYTES), consumes at least one input
 * byte per step (no hang), and throws CorruptSessionError on anything that
 * is not a block decoding to exactly `decodedBytes` bytes.
 *
 * Speed against lz4-napi's uncompressSync on the same payloads: realistic
 * sessions (test/helpers/session-fixtures.ts, seed 3), Node 20, CPU time,
 * median of 21 to 31 rounds, three runs in one sitting (brotli's inflate of
 * the same sessions, as the codec does it, in a fourth), on a shared 2-core
 * machine at load 5; read the ratios, not the µs:
 *
 * | session (stored)  | lz4-napi   | this       | this ÷ lz4-napi | brotli inflate |
 * |-------------------|------------|------------|-----------------|----------------|
 * | 2.3 KB (1.7 KB)   | 1.7-2.3 µs | 4.0-4.4 µs | 1.9-2.6×        | 14.6 µs        |
 * | 10.2 KB (5.1 KB)  | 3.8-3.9 µs | 15-15.5 µs | 4.0×            | 26.7 µs        |
 * | 50.1 KB (20.1 KB) | 14-16 µs   | 69-75 µs   | 4.8-5.1×        | 72 µs          |
 *
 * The store writes LZ4 only below 8 KB, where this still takes about a third
 * of brotli's time to inflate the same session: on a server without the
 * binary an LZ4 read costs a few µs, less than a brotli one.
 */
export function decodeLz4Block(block: Uint8Array, decodedBytes: number, into?: Buffer): Buffer {
  // Unzeroed and maybe from Buffer's pool (or the caller's reused buffer, `into`, of at least
  // `decodedBytes`): what is returned was all written (the end check below).
  const out = into !== undefined && into.length >= decodedBytes ? into : Buffer.allocUnsafe(decodedBytes);
  const end = block.length;
  let i = 0;
  let o = 0;
  for (;;) {
    if (i >= end) throw corrupt('it ends before its last literals');
    const token = block[i++] as number;

    let literals = token >>> 4;
    if (literals === 15) {
      literals = longLength(block, i, 'literal');
      i += lengthBytes(literals);
    }
    if (literals > end - i) throw corrupt('a literal run goes past its end');
    if (literals > decodedBytes - o) throw corrupt('it decodes to more bytes than its stated length');
    if (literals < 64) {
      // A loop beats subarray + set (a new Buffer view each time) on the runs of
      // a session: ids and tokens of 20 to 40 characters are most of its literals.
      for (let k = 0; k < literals; k++) out[o + k] = block[i + k] as number;
    } else {
      out.set(block.subarray(i, i + literals), o);
    }
    i += literals;
    o += literals;
    if (i === end) break;

    if (end - i < 2) throw corrupt('a match offset is cut off');
    const offset = (block[i] as number) | ((block[i + 1] as number) << 8);
    i += 2;
    // 0 would copy a byte not yet written (allocUnsafe's leftovers); past o, bytes before the output.
    if (offset === 0 || offset > o) throw corrupt(`a match points ${offset} bytes back from byte ${o}`);
    let match = token & 15;
    if (match === 15) {
      match = longLength(block, i, 'match');
      i += lengthBytes(match);
    }
    match += 4;
    if (match > decodedBytes - o) throw corrupt('it decodes to more bytes than its stated length');
    let from = o - offset;
    if (offset >= match) {
      // Source and target do not overlap: one memmove, or a loop when short.
      if (match < 32) for (let k = 0; k < match; k++) out[o + k] = out[from + k] as number;
      else out.copyWithin(o, from, from + match);
      o += match;
    } else {
      // Overlapping (offset < length) repeats the last `offset` bytes: byte by
      // byte, in order, as LZ4 means it; copyWithin would copy the old bytes.
      const stop = o + match;
      while (o < stop) out[o++] = out[from++] as number;
    }
  }
  if (o !== decodedBytes) throw corrupt(`it decodes to ${o} bytes, not its stated ${decodedBytes}`);
  return out.length === decodedBytes ? out : out.subarray(0, decodedBytes);
}

/**
 * A token's length of 15 goes on in the bytes from `i`: each adds its value, and one of 255 says
 * another follows. The whole length; `lengthBytes` of it is how many bytes it took.
 */
function longLength(block: Uint8Array, i: number, what: 'literal' | 'match'): number {
  let length = 15;
  let more: number;
  do {
    if (i >= block.length) throw corrupt(`a ${what} length runs past its end`);
    more = block[i++] as number;
    length += more;
  } while (more === 255);
  return length;
}

/** Every byte but the last of a long length is 255, and the last is less. */
const lengthBytes = (length: number): number => Math.floor((length - 15) / 255) + 1;

function corrupt(why: string): CorruptSessionError {
  return new CorruptSessionError(`session data is not valid lz4 (${why}): the item is damaged`);
}
