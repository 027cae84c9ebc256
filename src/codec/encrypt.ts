import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { keyBytes } from '../config/checks.js';
import type { EncryptionKey } from '../config/options.js';
import { ConfigError, CorruptSessionError, EncryptionKeyError } from '../errors.js';

const CIPHER = 'aes-256-gcm';
/** 96 bits: the IV length GCM is defined for; longer IVs are hashed down and gain nothing. */
const IV_BYTES = 12;
/** The full 128-bit tag; decryption insists on it, so a truncated tag cannot lower the forgery bar. */
const TAG_BYTES = 16;
/** What sealing adds to a payload: the IV and the tag. */
export const SEAL_OVERHEAD_BYTES = IV_BYTES + TAG_BYTES;

export interface Keyring {
  /** The id new frames are sealed with: the first key of `encryptionKeys`. */
  readonly writeId: string;
  /**
   * `header ‖ IV ‖ ciphertext ‖ tag`, with `header ‖ itemKey` as additional
   * authenticated data: the frame opens only in the item it was written for.
   */
  seal(header: Buffer, plain: Buffer, itemKey: string): Buffer;
  /**
   * The plaintext of `frame` (whose first `headerLength` bytes are the header,
   * authenticated too, with `itemKey` when `bound`). EncryptionKeyError when
   * the key id is not listed or authentication fails.
   */
  open(frame: Buffer, headerLength: number, keyId: string, itemKey: string, bound: boolean): Buffer;
  /** Frames sealed with the write key, this process's life: past the budget below, a warning. */
  readonly sealed: number;
}

/**
 * Random 96-bit IVs: after n frames under one key the odds of a repeat are
 * about n²/2⁹⁷. NIST SP 800-38D caps a key at 2³² random-IV frames (odds
 * 2⁻³³); 10,000 saves a second reach that in about 5 days. The count is this
 * process's, not the fleet's: the warning comes at a quarter of the cap, so
 * that a few servers sharing the key are warned in time to rotate.
 */
export const FRAMES_PER_KEY_WARNING = 2 ** 30;

/**
 * Keys by id. Writes use the first key; reads use whichever listed key the
 * frame names, so a new key can go first while the old one stays listed until
 * the sessions it sealed have expired.
 */
export function createKeyring(keys: ReadonlyArray<EncryptionKey>, onBudget?: (keyId: string, frames: number) => void): Keyring {
  const byId = new Map<string, KeyObject>();
  keys.forEach(({ id, key }, i) => {
    if (typeof id !== 'string' || !/^[\x21-\x7e]{1,32}$/.test(id)) {
      throw new ConfigError(`option "encryptionKeys[${i}].id" must be 1-32 printable ASCII characters`);
    }
    const bytes = keyBytes(key);
    if (bytes === undefined) {
      throw new ConfigError(
        `option "encryptionKeys[${i}].key" must be 32 bytes: a Buffer, or a base64 or hex string of 32 bytes (make one with \`openssl rand -base64 32\`)`,
      );
    }
    if (byId.has(id)) throw new ConfigError(`option "encryptionKeys" lists the key id "${id}" twice: key ids must be unique`);
    byId.set(id, createSecretKey(bytes));
  });
  const writeId = keys[0]?.id;
  if (writeId === undefined) throw new ConfigError('option "encryptionKeys" must list at least one key to encrypt with');
  const writeKey = byId.get(writeId) as KeyObject;
  let sealed = 0;

  return {
    writeId,
    get sealed() {
      return sealed;
    },
    seal(header, plain, itemKey) {
      // A fresh random IV per frame: GCM with a repeated IV under one key leaks
      // the XOR of plaintexts and the authentication key (budget: FRAMES_PER_KEY_WARNING).
      sealed += 1;
      if (sealed === FRAMES_PER_KEY_WARNING) onBudget?.(writeId, sealed);
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv(CIPHER, writeKey, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(Buffer.concat([header, Buffer.from(itemKey, 'utf8')]));
      const first = cipher.update(plain);
      const last = cipher.final();
      const frame = Buffer.allocUnsafeSlow(header.length + IV_BYTES + first.length + last.length + TAG_BYTES);
      let at = header.copy(frame, 0);
      at += iv.copy(frame, at);
      at += first.copy(frame, at);
      at += last.copy(frame, at);
      cipher.getAuthTag().copy(frame, at);
      return frame;
    },
    open(frame, headerLength, keyId, itemKey, bound) {
      const key = byId.get(keyId);
      if (key === undefined) {
        throw new EncryptionKeyError(
          keyId,
          `session data is encrypted with key id "${keyId}", which is not in encryptionKeys: ` +
            'add that key back to encryptionKeys (after the new one) and keep it until sessions written with it have expired',
        );
      }
      if (frame.length < headerLength + IV_BYTES + TAG_BYTES) {
        throw new CorruptSessionError('session data is truncated: it is too short to hold an encrypted payload');
      }
      const iv = frame.subarray(headerLength, headerLength + IV_BYTES);
      const tag = frame.subarray(frame.length - TAG_BYTES);
      const decipher = createDecipheriv(CIPHER, key, iv, { authTagLength: TAG_BYTES });
      // Unbound frames (older releases) authenticated the header alone; openItem rewrites them bound.
      const header = frame.subarray(0, headerLength);
      decipher.setAAD(bound ? Buffer.concat([header, Buffer.from(itemKey, 'utf8')]) : header);
      decipher.setAuthTag(tag);
      const body = frame.subarray(headerLength + IV_BYTES, frame.length - TAG_BYTES);
      try {
        const first = decipher.update(body);
        const last = decipher.final();
        return last.length === 0 ? first : Buffer.concat([first, last]);
      } catch (err) {
        throw new EncryptionKeyError(
          keyId,
          `session data failed authentication with key "${keyId}": ` +
            'another key under the same id, or the item was altered or moved; never reuse a key id for a new key',
          { cause: err },
        );
      }
    },
  };
}

/** Frames sealed without any listed key cannot be read at all: say which key to add. */
export function missingKeyring(keyId: string): EncryptionKeyError {
  return new EncryptionKeyError(
    keyId,
    `session data is encrypted with key id "${keyId}" but no encryptionKeys are configured: add that key to encryptionKeys`,
  );
}
