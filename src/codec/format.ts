import { CorruptSessionError } from '../errors.js';

/**
 * The frame header at the front of every `data` attribute:
 *
 * ```
 * byte 0      format version (1)
 * byte 1      flags: bits 0-1 compression (0 none, 1 brotli, 2 gzip, 3 lz4), bit 2 encrypted,
 *             bit 3 key-bound (encrypted only); other bits 0
 * byte 2      when encrypted: key id length n (1-32)
 * 3 … 3+n     when encrypted: key id, printable ASCII
 * then        the payload: JSON, maybe compressed, maybe AES-256-GCM sealed (IV ‖ ciphertext ‖ tag)
 * ```
 *
 * The version byte comes first so that any later layout can be told apart from
 * this one by its first byte alone; the key id is in clear so that rotation can
 * pick the key without trying each one. Encrypted frames authenticate these
 * header bytes (they are the GCM additional data), so a flipped flag or key id
 * is caught like any other tampering. A key-bound frame also authenticates the
 * item's table key (additional data = header ‖ key): its bytes copied into
 * another session's item fail authentication there. Encrypted frames without
 * the bit were written before 2026-12 (header-only additional data); they are
 * still read, and the store rewrites them bound on their next request.
 */
export const FORMAT_VERSION = 1;

export type Compression = 'none' | 'brotli' | 'gzip' | 'lz4';

export interface FormatInfo {
  version: number;
  compression: Compression;
  /** Id of the key that sealed the payload; absent when the frame is not encrypted. */
  keyId?: string;
  /** Encrypted with the item's key in the additional data; false for an encrypted frame of an older release. */
  bound?: boolean;
}

export interface Header extends FormatInfo {
  /** Bytes taken by the header; the payload starts here. */
  length: number;
}

const COMPRESSION_MASK = 0b011;
const ENCRYPTED = 0b100;
const KEY_BOUND = 0b1000;
const KNOWN_FLAGS = COMPRESSION_MASK | ENCRYPTED | KEY_BOUND;
const COMPRESSION_CODES: Record<Compression, number> = { none: 0, brotli: 1, gzip: 2, lz4: 3 };
const COMPRESSIONS: ReadonlyArray<Compression> = ['none', 'brotli', 'gzip', 'lz4'];
const MAX_KEY_ID_LENGTH = 32;
const KEY_ID = /^[\x21-\x7e]{1,32}$/;

/** Java serialization's magic number: what a Java session manager would have left in the attribute. */
const JAVA_MAGIC = [0xac, 0xed];

/** An encrypted frame's header is always key-bound: `bound: false` only makes the frames of older releases, for tests. */
export function writeHeader(compression: Compression, keyId?: string, bound = true): Buffer {
  const flags = COMPRESSION_CODES[compression] | (keyId === undefined ? 0 : ENCRYPTED | (bound ? KEY_BOUND : 0));
  if (keyId === undefined) return Buffer.from([FORMAT_VERSION, flags]);
  if (!KEY_ID.test(keyId)) throw new RangeError(`key id ${JSON.stringify(keyId)} is not 1-32 printable ASCII characters`);
  const header = Buffer.allocUnsafe(3 + keyId.length);
  header[0] = FORMAT_VERSION;
  header[1] = flags;
  header[2] = keyId.length;
  header.write(keyId, 3, 'latin1');
  return header;
}

export function readHeader(bytes: Uint8Array): Header {
  if (bytes.length === 0) throw new CorruptSessionError('session data is empty: the item was not written by dynamodb-session-manager');
  const version = bytes[0] as number;
  if (version !== FORMAT_VERSION) {
    if (version === JAVA_MAGIC[0] && bytes[1] === JAVA_MAGIC[1]) {
      throw new CorruptSessionError(
        'session data is a serialized Java object (written by a Java session manager?): Node.js cannot read it; give this store its own table',
      );
    }
    if (version > FORMAT_VERSION) {
      throw new CorruptSessionError(
        `session data has format version ${version}, this version of dynamodb-session-manager reads version ${FORMAT_VERSION}: ` +
          'written by a newer version of dynamodb-session-manager? upgrade it on every server that shares the table',
      );
    }
    throw new CorruptSessionError(`session data starts with byte ${version}, not a format version: the item was not written by dynamodb-session-manager`);
  }
  if (bytes.length < 2) throw new CorruptSessionError('session data is truncated: it ends inside the format header');
  const flags = bytes[1] as number;
  const compression = COMPRESSIONS[flags & COMPRESSION_MASK];
  // Key-bound without encrypted is nothing this release writes: as unknown as any other bit.
  if ((flags & ~KNOWN_FLAGS) !== 0 || compression === undefined || (flags & (ENCRYPTED | KEY_BOUND)) === KEY_BOUND) {
    throw new CorruptSessionError(
      `session data has unknown format flags 0x${flags.toString(16).padStart(2, '0')}: ` +
        'written by a newer version of dynamodb-session-manager? upgrade it on every server that shares the table',
    );
  }
  if ((flags & ENCRYPTED) === 0) return { version, compression, length: 2 };

  const idLength = bytes[2];
  if (idLength === undefined || idLength === 0 || idLength > MAX_KEY_ID_LENGTH || bytes.length < 3 + idLength) {
    throw new CorruptSessionError('session data has a malformed key id in its header: the item is damaged');
  }
  const keyId = Buffer.from(bytes.buffer, bytes.byteOffset + 3, idLength).toString('latin1');
  if (!KEY_ID.test(keyId)) throw new CorruptSessionError('session data has a key id that is not printable ASCII: the item is damaged');
  return { version, compression, keyId, bound: (flags & KEY_BOUND) !== 0, length: 3 + idLength };
}

/**
 * What a stored `data` attribute is made of, without decrypting or decompressing
 * it (for `dynamodb-session show`). Throws CorruptSessionError when the header
 * cannot be read.
 */
export function describeFormat(bytes: Uint8Array): FormatInfo {
  const { version, compression, keyId, bound } = readHeader(bytes);
  return keyId === undefined ? { version, compression } : { version, compression, keyId, bound: bound === true };
}
