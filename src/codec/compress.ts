import { brotliCompressSync, brotliDecompressSync, constants, gunzipSync } from 'node:zlib';
import { CorruptSessionError } from '../errors.js';
import type { Compression } from './format.js';

/**
 * Largest session JSON, in bytes, that the codec writes or inflates. A
 * 400 KB item can hold far more than this once compressed, so without the cap
 * one small item (planted by anyone who can write to the table) could make
 * every server that loads it allocate gigabytes: a decompression bomb.
 */
export const MAX_DECODED_BYTES = 4 * 1024 * 1024;

/**
 * Brotli quality 4, measured on realistic session JSON (test/helpers/
 * session-fixtures.ts, seed 7: 2.3, 10.5 and 51.5 KB; Node 20, median CPU
 * time of 9 rounds on a shared 2-core machine, so read the ratios between
 * rows rather than the absolute µs):
 *
 * | quality | 2 KB          | 10 KB          | 50 KB           |
 * |---------|---------------|----------------|-----------------|
 * | 1       | 27 µs, 1.79×  |  53 µs, 2.82×  |  174 µs, 3.81×  |
 * | 2       | 31 µs, 1.76×  |  76 µs, 3.00×  |  343 µs, 3.92×  |
 * | 3       | 40 µs, 1.80×  |  92 µs, 3.05×  |  417 µs, 3.97×  |
 * | 4       | 76 µs, 1.91×  | 188 µs, 3.13×  |  700 µs, 4.08×  |
 * | 5       | 77 µs, 2.03×  | 268 µs, 3.24×  | 1221 µs, 4.26×  |
 *
 * DynamoDB bills every write per started KB of the whole item, and a write
 * unit costs orders of magnitude more than the CPU spent to save it, so the
 * choice leans to the ratio; it stops at 4 because 5 nearly doubles the time
 * on large sessions (over a millisecond on the request path) for 3-4 % more.
 */
const BROTLI_QUALITY = 4;
/**
 * Below this size quality 1: a 2 KB session compresses in about a third of
 * the CPU time and lands on the same number of write units (1.79× against
 * 1.91× rarely crosses a 1 KB boundary), and the request path is where CPU
 * counts. Above it, the ratio pays for itself (≥ 3× from 10 KB).
 */
const SMALL_SESSION_BYTES = 8 * 1024;

/** The brotli form of `raw` when it is smaller, else undefined (random tokens and tiny sessions do not shrink). */
export function compress(raw: Buffer): Buffer | undefined {
  const packed = brotliCompressSync(raw, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: raw.length < SMALL_SESSION_BYTES ? 1 : BROTLI_QUALITY,
      // A window no larger than the data: the reader allocates what the header announces.
      [constants.BROTLI_PARAM_LGWIN]: Math.max(10, Math.min(24, Math.ceil(Math.log2(raw.length + 1)))),
      [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
      [constants.BROTLI_PARAM_SIZE_HINT]: raw.length,
    },
  });
  return packed.length < raw.length ? packed : undefined;
}

/**
 * Output buffer size for inflating a payload of `payloadBytes`. zlib's
 * default, 16 KB, is a fresh allocation outside the JavaScript heap on every
 * call, and with one per read that memory is what makes the collector run. A
 * small session gets a buffer three times its compressed size (its JSON fits,
 * at the ratios of small sessions), small enough for Buffer's shared pool; a
 * large one gets five times, so that it inflates in one piece, not in 16 KB
 * pieces concatenated. Either way a larger output only takes more pieces
 * (at least 1 KB each, so that a bomb's few bytes cost no more than a few
 * thousand of them before the cap stops it).
 */
export function inflateChunkBytes(payloadBytes: number): number {
  const small = Math.max(1024, payloadBytes * 3);
  if (small < Buffer.poolSize >>> 1) return small;
  return Math.min(MAX_DECODED_BYTES, Math.max(constants.Z_DEFAULT_CHUNK, payloadBytes * 5));
}

/** Inflates a payload; gzip is read so that items written by other tools or older builds stay readable. */
export function decompress(payload: Buffer, compression: Compression): Buffer {
  if (compression === 'none') return payload;
  const options = { maxOutputLength: MAX_DECODED_BYTES, chunkSize: inflateChunkBytes(payload.length) };
  try {
    return compression === 'brotli' ? brotliDecompressSync(payload, options) : gunzipSync(payload, options);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new CorruptSessionError(
        `session data inflates to more than ${MAX_DECODED_BYTES} bytes (a decompression bomb?): refused; delete the item`,
        { cause: err },
      );
    }
    throw new CorruptSessionError(`session data is not valid ${compression}: the item is damaged`, { cause: err });
  }
}
