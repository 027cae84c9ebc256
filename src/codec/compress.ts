import { brotliCompressSync, brotliDecompressSync, constants, gunzipSync } from 'node:zlib';
import { CorruptSessionError } from '../errors.js';
import type { Compression } from './format.js';
import { decodeLz4Block } from './lz4-block.js';
import { encodeLz4Block } from './lz4-encode.js';

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

/** The brotli form of `raw`. */
export function brotli(raw: Buffer): Buffer {
  return brotliCompressSync(raw, {
    // Room for a result as large as the input (larger ones are not kept), in Buffer's pool when that is small: see inflateChunkBytes.
    chunkSize: Math.max(constants.Z_MIN_CHUNK, raw.length),
    params: {
      [constants.BROTLI_PARAM_QUALITY]: raw.length < SMALL_SESSION_BYTES ? 1 : BROTLI_QUALITY,
      // A window no larger than the data: the reader allocates what the header announces.
      [constants.BROTLI_PARAM_LGWIN]: Math.max(10, Math.min(24, Math.ceil(Math.log2(raw.length + 1)))),
      [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
      [constants.BROTLI_PARAM_SIZE_HINT]: raw.length,
    },
  });
}

/**
 * The LZ4 payload of `raw`: its length (u32, little-endian), then the block;
 * the layout lz4-napi's compressSync wrote when this package depended on it,
 * so items written then and now read alike. Plain JavaScript (lz4-encode.ts):
 * the native binding saved a few µs per request (npm run bench:codec) and
 * broke every bundler (Next.js, esbuild, Vite SSR) and platforms without a
 * prebuilt binary (Alpine, Lambda on arm64).
 */
export function lz4(raw: Buffer): Buffer {
  const block = encodeLz4Block(raw);
  const payload = Buffer.allocUnsafe(4 + block.length);
  payload.writeUInt32LE(raw.length, 0);
  block.copy(payload, 4);
  return payload;
}

/**
 * LZ4 is tried below this size. It inflates a 2 KB session in a fraction of
 * brotli's CPU (no zlib stream to set up), at a lower ratio (1.38× against
 * 1.80× on a 2.2 KB session), so it is kept only when the item bills no more
 * units with it than with brotli. Above this, brotli's ratio is worth units
 * nearly always (a 10 KB session: 3.1× against 2.1×).
 */
const LZ4_BELOW_BYTES = SMALL_SESSION_BYTES;

/** DynamoDB bills a write per started KB of the whole item and a strong read per started 4 KB. */
const writeUnits = (itemBytes: number) => Math.ceil(itemBytes / 1024);
const readUnits = (itemBytes: number) => Math.ceil(itemBytes / 4096);

export interface Packed {
  compression: Compression;
  payload: Buffer;
}

/**
 * Bytes added to a faster form's size before it is preferred to a smaller
 * one: the rest of the item is an estimate (numbers change length), and a
 * form picked for speed must not end up a unit dearer.
 */
const ESTIMATE_MARGIN_BYTES = 32;

/**
 * The payload to store for `raw`: of the forms that bill the fewest units
 * (writes first, then reads), the cheapest to read back: uncompressed, then
 * LZ4, then brotli. `besidePayload` is the rest of the item's bytes as
 * DynamoDB counts them (its other attributes, the frame header, the
 * encryption overhead), so that the comparison is on what is billed.
 */
export function pack(raw: Buffer, besidePayload: number): Packed {
  const cost = (bytes: number) => writeUnits(bytes + besidePayload) * 1e6 + readUnits(bytes + besidePayload);
  const costIfFaster = (form: Packed) => cost(form.payload.length + ESTIMATE_MARGIN_BYTES);
  // One write unit and one read unit is as cheap as an item gets: nothing can beat a form that bills it.
  const floor = cost(0);
  const none: Packed = { compression: 'none', payload: raw };
  if (costIfFaster(none) === floor) return none;
  const quick = raw.length < LZ4_BELOW_BYTES ? lz4(raw) : undefined;
  const lz4Form: Packed | undefined = quick !== undefined && quick.length < raw.length ? { compression: 'lz4', payload: quick } : undefined;
  if (lz4Form && costIfFaster(lz4Form) === floor) return lz4Form;
  const small = brotli(raw);
  const brotliForm: Packed | undefined = small.length < raw.length ? { compression: 'brotli', payload: small } : undefined;
  const best = cost((brotliForm ?? none).payload.length);
  // The faster forms first, each kept when it bills no more than the smallest.
  for (const form of [none, lz4Form]) if (form && costIfFaster(form) <= best) return form;
  return brotliForm ?? lz4Form ?? none;
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

/**
 * Where LZ4 payloads of up to SCRATCH_MAX_BYTES decode: one buffer, reused. A buffer of their own, from Buffer's
 * pool, took a new 8 KB pool every few reads of a 2 KB session, memory outside the heap that the collector tracks
 * (a twentieth of a cold read's CPU, bench/store-cpu.ts). Larger sessions get their own buffer.
 */
const SCRATCH_MAX_BYTES = 64 * 1024;
let scratch: Buffer | undefined;

/** The bytes of an LZ4 payload: the JSON's length (4 bytes, little-endian), then the block. */
function unlz4(payload: Buffer): Buffer {
  if (payload.length < 4) throw new CorruptSessionError('session data is not valid lz4: the item is damaged');
  const length = payload.readUInt32LE(0);
  // Checked before decoding: either decoder allocates what the length claims.
  if (length > MAX_DECODED_BYTES) {
    throw new CorruptSessionError(`session data inflates to more than ${MAX_DECODED_BYTES} bytes (a decompression bomb?): refused; delete the item`);
  }
  if (length > SCRATCH_MAX_BYTES) return decodeLz4Block(payload.subarray(4), length);
  scratch ??= Buffer.allocUnsafeSlow(SCRATCH_MAX_BYTES);
  return decodeLz4Block(payload.subarray(4), length, scratch);
}

/**
 * Inflates a payload; gzip is read so that items written by other tools or older builds stay readable. The
 * bytes returned may sit in a buffer the next call reuses (LZ4): read or copy them before calling again.
 */
export function decompress(payload: Buffer, compression: Compression): Buffer {
  if (compression === 'none') return payload;
  if (compression === 'lz4') return unlz4(payload);
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
