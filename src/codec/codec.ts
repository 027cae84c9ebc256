import type { EncryptionKey } from '../config/options.js';
import { CorruptSessionError, EncryptionKeyError, SessionTooLargeError } from '../errors.js';
import { decompress, MAX_DECODED_BYTES, pack } from './compress.js';
import { createKeyring, missingKeyring, SEAL_OVERHEAD_BYTES } from './encrypt.js';
import { readHeader, writeHeader, type Compression } from './format.js';
import { checkSession, parseSession, stringifySession, utf8 } from './json.js';

export { describeFormat, FORMAT_VERSION, type Compression, type FormatInfo } from './format.js';
export { MAX_DECODED_BYTES } from './compress.js';
export { MAX_DEPTH } from './json.js';

export interface CodecOptions {
  /**
   * Compress session JSON of at least `compressionThreshold` bytes, with LZ4 or brotli, when that
   * makes the item bill fewer capacity units; of the forms that bill the fewest, the cheapest to read.
   */
  compression: boolean;
  compressionThreshold: number;
  /** Empty: frames are written in clear. Else sealed with the first key; any listed key reads. */
  encryptionKeys: ReadonlyArray<EncryptionKey>;
  /** Called once when this process has sealed FRAMES_PER_KEY_WARNING frames with the write key: time to rotate. */
  onKeyBudget?: (keyId: string, frames: number) => void;
}

export interface Codec {
  /**
   * JSON-encodes a session object and frames it; throws SessionSerializationError (nothing else) on values JSON cannot carry,
   * and SessionTooLargeError when the JSON is over MAX_DECODED_BYTES (decode would refuse to inflate it).
   * `itemKey`: the table key of the item the frame is for; an encrypted frame opens under that key only.
   */
  encode(data: Record<string, unknown>, itemBytesBeside?: number, itemKey?: string): Buffer;
  /**
   * Inverse; throws CorruptSessionError on any malformed input, whatever the bytes, and
   * EncryptionKeyError when an encrypted frame's key is not listed or it fails authentication.
   * LZ4 frames decode in JavaScript (lz4-block.ts), those of earlier versions (lz4-napi) included.
   */
  decode(bytes: Uint8Array, itemKey?: string): Record<string, unknown>;
  /**
   * The JSON half of `encode`. The store keeps the JSON a request loaded and
   * compares it with this to skip the write of an unchanged session, which
   * compressed or encrypted bytes (random IV) cannot tell.
   */
  stringify(data: Record<string, unknown>): string;
  /** The checks of `stringify` without the serializing, for JSON.stringify text already at hand: when it passes, that text is what `stringify` returns. */
  check(data: Record<string, unknown>): void;
  /**
   * The framing half of `encode`: header, compression, encryption. `itemBytesBeside`: the bytes
   * of the item's other attributes (names included), which the choice of compression bills with it.
   */
  frame(json: string, itemBytesBeside?: number, itemKey?: string): Buffer;
  /** The framing half of `decode`: the JSON text inside a frame. CorruptSessionError or EncryptionKeyError. */
  unframe(bytes: Uint8Array, itemKey?: string): string;
  /**
   * `unframe`'s JSON as UTF-8 bytes, not yet checked to be UTF-8 (`json.ts`'s utf8() checks and reads
   * them): for a caller that keeps the bytes too (the decoded cache), which then needs not encode the text again.
   * They may sit in a buffer the next decode reuses: read or copy them before the codec decodes again.
   */
  unframeBytes(bytes: Uint8Array, itemKey?: string): Buffer;
  /** Whether a frame is sealed without its item's key (an older release's): its session is to be written again. */
  unbound(bytes: Uint8Array): boolean;
  /** The JSON half of `decode`. CorruptSessionError only. */
  parse(json: string): Record<string, unknown>;
}

export function createCodec(options: CodecOptions): Codec {
  const keyring = options.encryptionKeys.length > 0 ? createKeyring(options.encryptionKeys, options.onKeyBudget) : undefined;
  const headers: Record<Compression, Buffer> = {
    none: writeHeader('none', keyring?.writeId),
    brotli: writeHeader('brotli', keyring?.writeId),
    gzip: writeHeader('gzip', keyring?.writeId),
    lz4: writeHeader('lz4', keyring?.writeId),
  };
  const threshold = options.compressionThreshold;

  function frame(json: string, itemBytesBeside = 0, itemKey = ''): Buffer {
    const raw = Buffer.from(json, 'utf8');
    if (raw.length > MAX_DECODED_BYTES) {
      // It might still compress under DynamoDB's 400 KB, but decode refuses to
      // inflate past this cap, so writing it would lose the session.
      throw new SessionTooLargeError(
        `session JSON is ${raw.length} bytes, more than the ${MAX_DECODED_BYTES} bytes a session may inflate to: store less in the session`,
        raw.length,
        MAX_DECODED_BYTES,
      );
    }
    let payload: Buffer = raw;
    let compression: Compression = 'none';
    if (options.compression && raw.length >= threshold) {
      // Every header is as long as the 'none' one: the payload is all that differs between the forms.
      ({ payload, compression } = pack(raw, itemBytesBeside + headers.none.length + (keyring ? SEAL_OVERHEAD_BYTES : 0)));
    }
    const header = headers[compression];
    if (keyring) return keyring.seal(header, payload, itemKey);
    // Not a pooled Buffer: the bytes go to the SDK and may be kept, and a
    // slice of the shared pool would carry its neighbours along.
    const out = Buffer.allocUnsafeSlow(header.length + payload.length);
    header.copy(out, 0);
    payload.copy(out, header.length);
    return out;
  }

  function unframeBytes(bytes: Uint8Array, itemKey = ''): Buffer {
    if (!(bytes instanceof Uint8Array)) throw new CorruptSessionError(`session data is ${typeof bytes}, not binary: the item is damaged`);
    const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const header = readHeader(buffer);
    let payload: Buffer;
    if (header.keyId !== undefined) {
      if (!keyring) throw missingKeyring(header.keyId);
      payload = keyring.open(buffer, header.length, header.keyId, itemKey, header.bound === true);
    } else {
      if (keyring) {
        // Accepting clear frames would let anyone with write access to the
        // table plant a session that the key was meant to rule out.
        throw new CorruptSessionError(
          'session data is not encrypted but encryptionKeys are set: refused, since anyone able to write to the table could have planted it; ' +
            'sessions saved before encryption was turned on must start again',
        );
      }
      payload = buffer.subarray(header.length);
    }
    return decompress(payload, header.compression);
  }

  function guarded<T>(work: () => T): T {
    try {
      return work();
    } catch (err) {
      if (err instanceof CorruptSessionError || err instanceof EncryptionKeyError) throw err;
      throw new CorruptSessionError(`session data could not be decoded (${(err as Error)?.message ?? String(err)}): the item is damaged`, {
        cause: err,
      });
    }
  }

  function unbound(bytes: Uint8Array): boolean {
    try {
      const header = readHeader(bytes);
      return header.keyId !== undefined && header.bound !== true;
    } catch {
      return false;
    }
  }

  return {
    encode: (data, itemBytesBeside, itemKey) => frame(stringifySession(data), itemBytesBeside, itemKey),
    decode: (bytes, itemKey) => guarded(() => parseSession(utf8(unframeBytes(bytes, itemKey)))),
    stringify: stringifySession,
    check: checkSession,
    frame,
    unframe: (bytes, itemKey) => guarded(() => utf8(unframeBytes(bytes, itemKey))),
    unframeBytes: (bytes, itemKey) => guarded(() => unframeBytes(bytes, itemKey)),
    unbound,
    parse: (json) => guarded(() => parseSession(json)),
  };
}
