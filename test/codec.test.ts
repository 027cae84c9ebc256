import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { createCodec, describeFormat, MAX_DECODED_BYTES, type Codec, type CodecOptions } from '../src/codec/codec.js';
import { brotli, lz4, pack } from '../src/codec/compress.js';
import { createRequire } from 'node:module';
import { decodeLz4Block } from '../src/codec/lz4-block.js';
import { itemBytesBesideData } from '../src/core/item.js';
import { ConfigError, CorruptSessionError, EncryptionKeyError, SessionSerializationError, SessionTooLargeError } from '../src/errors.js';
import { random, realisticSession } from './helpers/session-fixtures.js';

// Keys in each form keyBytes accepts: hex, base64, Buffer.
const KEY_A = { id: 'key-a', key: '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff' };
const KEY_B = { id: 'key-b', key: Buffer.alloc(32, 7).toString('base64') };
const KEY_C = { id: 'key-c', key: Buffer.alloc(32, 9) };

const options = (over: Partial<CodecOptions> = {}): CodecOptions => ({
  compression: false,
  compressionThreshold: 1024,
  encryptionKeys: [],
  ...over,
});

const VARIANTS: Record<string, CodecOptions> = {
  plain: options(),
  compressed: options({ compression: true, compressionThreshold: 0 }),
  encrypted: options({ encryptionKeys: [KEY_A] }),
  'compressed and encrypted': options({ compression: true, compressionThreshold: 0, encryptionKeys: [KEY_A, KEY_B] }),
};

/** What a session is after a trip through JSON, minus `__proto__` members (the codec drops them). */
function jsonRoundTrip(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value), (key, v: unknown) => (key === '__proto__' ? undefined : v));
}

/** A frame in clear around raw JSON text, as a hostile or broken writer could store it. */
function clearFrame(json: string | Buffer, flags = 0): Buffer {
  return Buffer.concat([Buffer.from([1, flags]), typeof json === 'string' ? Buffer.from(json) : json]);
}

function throwsCorrupt(codec: Codec, bytes: Uint8Array, message?: RegExp): void {
  assert.throws(
    () => codec.decode(bytes),
    (err: unknown) => err instanceof CorruptSessionError && (message === undefined || message.test(err.message)),
  );
}

/** What earlier versions of this package compressed with, and may still read with during a rolling deploy (a dev dependency now). */
const lz4Napi = createRequire(import.meta.url)('lz4-napi') as { compressSync(data: Buffer): Buffer; uncompressSync(data: Uint8Array): Buffer };

/** A sealed frame that does not open with the keys given: EncryptionKeyError (a configuration error: the session is kept). */
function throwsKeyError(codec: Codec, bytes: Uint8Array, message?: RegExp): void {
  assert.throws(
    () => codec.decode(bytes),
    (err: unknown) => err instanceof EncryptionKeyError && (message === undefined || message.test(err.message)),
  );
}

/** Tampered bytes: refused, as damaged or as not opening with the keys. */
function throwsRefused(codec: Codec, bytes: Uint8Array): void {
  assert.throws(
    () => codec.decode(bytes),
    (err: unknown) => err instanceof CorruptSessionError || err instanceof EncryptionKeyError,
  );
}

const sessionArb = fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 12 });

describe('round trip', () => {
  for (const [name, opts] of Object.entries(VARIANTS)) {
    test(`${name}: decode(encode(x)) equals x after a JSON round trip, for arbitrary JSON objects`, () => {
      const codec = createCodec(opts);
      fc.assert(
        fc.property(sessionArb, (session) => {
          assert.deepStrictEqual(codec.decode(codec.encode(session)), jsonRoundTrip(session));
        }),
        { numRuns: 300 },
      );
    });
  }

  test('a realistic session survives every variant unchanged', () => {
    const session = realisticSession(20_000, 5);
    for (const opts of Object.values(VARIANTS)) {
      const codec = createCodec(opts);
      assert.deepStrictEqual(codec.decode(codec.encode(session)), session);
    }
  });

  test('stringify + frame and unframe + parse are the two halves of encode and decode', () => {
    const codec = createCodec(VARIANTS['compressed and encrypted'] as CodecOptions);
    const session = realisticSession(4_000, 2);
    const json = codec.stringify(session);
    assert.equal(json, JSON.stringify(session));
    assert.equal(codec.unframe(codec.frame(json)), json);
    assert.deepStrictEqual(codec.parse(codec.unframe(codec.encode(session))), session);
  });

  test('what JSON drops by design is dropped the same way: undefined members, undefined in arrays, Dates, toJSON', () => {
    const codec = createCodec(options());
    const when = new Date(Date.UTC(2024, 5, 1));
    const session = { gone: undefined, list: [1, undefined, 3], when, money: { toJSON: () => '12.50 EUR' } };
    assert.deepStrictEqual(codec.decode(codec.encode(session)), { list: [1, null, 3], when: '2024-06-01T00:00:00.000Z', money: '12.50 EUR' });
  });

  test('encode returns a buffer that owns its memory, not a slice of the shared pool', () => {
    for (const opts of Object.values(VARIANTS)) {
      const bytes = createCodec(opts).encode({ a: 1 });
      assert.equal(bytes.byteOffset, 0);
      assert.equal(bytes.buffer.byteLength, bytes.length);
    }
  });
});

describe('refused values', () => {
  const codec = createCodec(options());
  const cyclic: Record<string, unknown> = { user: { name: 'Ana' } };
  (cyclic.user as Record<string, unknown>).self = cyclic.user;
  const cyclicArray: Record<string, unknown> = { list: [] };
  (cyclicArray.list as unknown[]).push({ back: cyclicArray });
  const nested = (levels: number): Record<string, unknown> => {
    const root: Record<string, unknown> = {};
    let at = root;
    for (let i = 1; i < levels; i++) at = (at.next = {}) as Record<string, unknown>;
    return root;
  };

  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['a function', { user: { callback: () => 1 } }, /^session\.user\.callback is a function/],
    ['a symbol', { tag: Symbol('x') }, /^session\.tag is a symbol/],
    ['a symbol inside an array', { tags: ['a', Symbol('x')] }, /^session\.tags\[1\] is a symbol/],
    ['a BigInt', { cart: { total: 10n } }, /^session\.cart\.total is a BigInt/],
    ['a cycle', cyclic, /^session\.user\.self refers back .*cycle/],
    ['a cycle through an array', cyclicArray, /^session\.list\[0\]\.back refers back .*cycle/],
    ['NaN', { score: Number.NaN }, /^session\.score is NaN/],
    ['Infinity', { 'odd key': [Number.POSITIVE_INFINITY] }, /^session\["odd key"\]\[0\] is Infinity/],
    ['an invalid Date', { at: new Date(Number.NaN) }, /^session\.at is an invalid Date/],
    ['a Map', { seen: new Map([[1, 2]]) }, /^session\.seen is a Map/],
    ['a function returned by toJSON', { a: { toJSON: () => ({ f: () => 1 }) } }, /^session\.a\.f is a function/],
    ['a function in an object without a prototype', { box: Object.assign(Object.create(null) as object, { f: () => 1 }) }, /^session\.box\.f is a function/],
    ['nesting of 201 levels', nested(201), /nests deeper than 200 levels/],
  ];
  for (const [what, session, message] of cases) {
    test(`${what} is a SessionSerializationError naming the path`, () => {
      assert.throws(
        () => codec.encode(session),
        (err: unknown) => err instanceof SessionSerializationError && message.test(err.message),
      );
    });
  }

  test('an enumerable function inherited from Object.prototype, which JSON skips, is no refusal; an own one still is', () => {
    Object.defineProperty(Object.prototype, 'inheritedHelper', { value: () => 1, enumerable: true, configurable: true, writable: true });
    try {
      assert.doesNotThrow(() => codec.check({ user: { name: 'Ana', roles: ['a'] }, n: 1 }));
      assert.throws(() => codec.check({ user: { name: 'Ana', own: () => 1 } }), /^SessionSerializationError: session\.user\.own is a function/);
    } finally {
      delete (Object.prototype as Record<string, unknown>).inheritedHelper;
    }
  });

  test('nesting of 200 levels is accepted', () => {
    const deep = nested(200);
    assert.deepStrictEqual(codec.decode(codec.encode(deep)), deep);
  });

  test('a getter that throws is a SessionSerializationError, not the getter error', () => {
    const session = Object.defineProperty({}, 'broken', { enumerable: true, get: () => { throw new TypeError('boom'); } });
    assert.throws(() => codec.encode(session), (err: unknown) => err instanceof SessionSerializationError && /boom/.test(err.message));
  });

  test('a session that is not an object is refused', () => {
    assert.throws(() => codec.encode([1, 2] as unknown as Record<string, unknown>), SessionSerializationError);
    assert.throws(() => codec.encode({ toJSON: () => 'text' }), SessionSerializationError);
  });

  test('session JSON larger than the decode cap is refused with SessionTooLargeError', () => {
    const big = { blob: 'x'.repeat(MAX_DECODED_BYTES) };
    assert.throws(() => createCodec(options({ compression: true })).encode(big), SessionTooLargeError);
  });
});

describe('malformed input', () => {
  const codecs = Object.values(VARIANTS).map((opts) => createCodec(opts));
  const onlyCorrupt = (codec: Codec, bytes: Uint8Array): boolean => {
    try {
      codec.decode(bytes);
      return true;
    } catch (err) {
      return err instanceof CorruptSessionError || err instanceof EncryptionKeyError;
    }
  };

  test('random bytes throw only CorruptSessionError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => codecs.every((c) => onlyCorrupt(c, bytes))), { numRuns: 3000 });
  });

  test('random bytes behind a valid version byte throw only CorruptSessionError, or EncryptionKeyError for a sealed frame', () => {
    const arb = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 300 }));
    fc.assert(
      fc.property(arb, ([flags, tail]) => codecs.every((c) => onlyCorrupt(c, Buffer.concat([Buffer.from([1, flags]), tail])))),
      { numRuns: 3000 },
    );
  });

  const lz4Frame = clearFrame(lz4(Buffer.from(JSON.stringify(realisticSession(2_000, 4)))), 0b11);
  for (const [kind, frameOf] of [
    ['brotli', () => clearFrame(brotli(Buffer.from(JSON.stringify(realisticSession(3_000, 4)))), 0b01)],
    ['lz4', () => lz4Frame],
  ] as const) {
  test(`random damage to a ${kind} clear frame decodes to an object or throws only CorruptSessionError`, () => {
    const codec = createCodec(VARIANTS.compressed as CodecOptions);
    const frame = frameOf();
    assert.equal(describeFormat(frame).compression, kind);
    const damage = fc.array(fc.tuple(fc.nat(frame.length - 1), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(damage, (edits) => {
        const bytes = Buffer.from(frame);
        for (const [at, mask] of edits) bytes[at] = (bytes[at] as number) ^ mask;
        try {
          const data = codec.decode(bytes);
          return typeof data === 'object' && data !== null && !Array.isArray(data);
        } catch (err) {
          return err instanceof CorruptSessionError;
        }
      }),
      { numRuns: 2000 },
    );
  });
  }

  test('a value that is not bytes at all is a CorruptSessionError', () => {
    for (const codec of codecs) {
      for (const junk of [undefined, null, 'text', 42, {}]) throwsCorrupt(codec, junk as unknown as Uint8Array);
    }
  });

  test('an empty attribute is a CorruptSessionError', () => {
    throwsCorrupt(createCodec(options()), new Uint8Array(0), /empty/);
  });

  test('an unknown format version asks to upgrade', () => {
    throwsCorrupt(createCodec(options()), clearFrame('{}').fill(2, 0, 1), /newer version of dynamodb-session-manager\? upgrade/);
  });

  test('unknown format flags ask to upgrade', () => {
    throwsCorrupt(createCodec(options()), clearFrame('{}', 0x10), /newer version of dynamodb-session-manager\? upgrade/);
    throwsCorrupt(createCodec(options()), clearFrame('{}', 0x08), /newer version of dynamodb-session-manager\? upgrade/);
  });

  test('JSON that is not an object is a CorruptSessionError', () => {
    const codec = createCodec(options());
    for (const json of ['[1]', 'null', '3', '"text"', 'true', '{"a":', '']) throwsCorrupt(codec, clearFrame(json));
  });

  test('invalid UTF-8 is a CorruptSessionError, not a session with replacement characters', () => {
    throwsCorrupt(createCodec(options()), clearFrame(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d])), /UTF-8/);
  });

  test('a serialized Java object is recognised as such', () => {
    throwsCorrupt(createCodec(options()), Buffer.from([0xac, 0xed, 0x00, 0x05, 0x73]), /Java/);
  });
});

describe('encryption', () => {
  const session = { user: { id: 'u-1', email: 'ana@example.com' }, csrfToken: 'tok-5bd1f0a0c3e2', cart: realisticSession(3_000, 8).cart };

  test('the frame names its key and carries no plaintext', () => {
    const bytes = createCodec(options({ encryptionKeys: [KEY_A] })).encode(session);
    assert.deepStrictEqual(describeFormat(bytes), { version: 1, compression: 'none', keyId: 'key-a', bound: true });
    assert.equal(bytes.includes('tok-5bd1f0a0c3e2'), false);
    assert.equal(bytes.includes('ana@example.com'), false);
  });

  test('two encodes of the same session differ (a fresh IV each time)', () => {
    const codec = createCodec(options({ encryptionKeys: [KEY_A] }));
    assert.notDeepStrictEqual(codec.encode(session), codec.encode(session));
  });

  for (const compression of [false, true]) {
    test(`flipping any bit pattern of any single byte of an encrypted ${compression ? 'compressed ' : ''}frame is detected`, () => {
      const codec = createCodec(options({ compression, compressionThreshold: 0, encryptionKeys: [KEY_A, KEY_B] }));
      const frame = codec.encode(session);
      assert.equal(describeFormat(frame).compression === 'none', !compression);
      for (let at = 0; at < frame.length; at++) {
        for (const mask of [0x01, 0x02, 0x04, 0x10, 0x80, 0xff]) {
          const bytes = Buffer.from(frame);
          bytes[at] = (bytes[at] as number) ^ mask;
          throwsRefused(codec, bytes);
        }
      }
    });
  }

  test('flipping the compression flag is caught by authentication, not by the decompressor', () => {
    const codec = createCodec(options({ compression: true, compressionThreshold: 0, encryptionKeys: [KEY_A] }));
    const bytes = codec.encode(session);
    bytes[1] = (bytes[1] as number) ^ 0b011; // brotli → gzip
    throwsKeyError(codec, bytes, /failed authentication/);
  });

  test('rotation: written with key A, read after the keys become [B, A]; new writes use B', () => {
    const before = createCodec(options({ encryptionKeys: [KEY_A] }));
    const after = createCodec(options({ encryptionKeys: [KEY_B, KEY_A] }));
    const old = before.encode(session);
    assert.deepStrictEqual(after.decode(old), session);
    const fresh = after.encode(session);
    assert.equal(describeFormat(fresh).keyId, 'key-b');
    assert.deepStrictEqual(after.decode(fresh), session);
  });

  test('an unknown key id is an EncryptionKeyError naming the key id and asking to add it back', () => {
    const old = createCodec(options({ encryptionKeys: [KEY_A] })).encode(session);
    throwsKeyError(createCodec(options({ encryptionKeys: [KEY_B, KEY_C] })), old, /"key-a".*add that key back to encryptionKeys/);
    throwsKeyError(createCodec(options()), old, /"key-a".*encryptionKeys/);
  });

  test("a frame opens under its own item's key only: the key is in the additional data", () => {
    const codec = createCodec(options({ encryptionKeys: [KEY_A] }));
    const bytes = codec.encode(session, 0, 'session-of-ana');
    assert.deepStrictEqual(codec.decode(bytes, 'session-of-ana'), session);
    throwsKeyError(codec, bytes, /failed authentication/);
    throwsKeyError(codec, codec.encode(session, 0, 'session-of-ana'), /failed authentication/);
    assert.throws(() => codec.decode(bytes, 'session-of-eve'), EncryptionKeyError);
  });

  test('a different key under the same id fails authentication', () => {
    const old = createCodec(options({ encryptionKeys: [KEY_A] })).encode(session);
    throwsKeyError(createCodec(options({ encryptionKeys: [{ id: 'key-a', key: KEY_C.key }] })), old, /failed authentication/);
  });

  test('a clear frame is refused once encryptionKeys are set (no downgrade)', () => {
    const clear = createCodec(options()).encode(session);
    throwsCorrupt(createCodec(options({ encryptionKeys: [KEY_A] })), clear, /not encrypted/);
  });

  test('a key that is not 32 bytes, or an id that cannot go in the header, is a ConfigError', () => {
    assert.throws(() => createCodec(options({ encryptionKeys: [{ id: 'short', key: Buffer.alloc(16) }] })), ConfigError);
    assert.throws(() => createCodec(options({ encryptionKeys: [{ id: 'clé', key: KEY_C.key }] })), ConfigError);
    assert.throws(() => createCodec(options({ encryptionKeys: [{ id: 'x'.repeat(33), key: KEY_C.key }] })), ConfigError);
  });
});

describe('prototype safety', () => {
  const hostile =
    '{"__proto__":{"polluted":"top"},"\\u005f_proto__":{"polluted":"escaped"},' +
    '"constructor":{"prototype":{"polluted":"ctor"}},"prototype":{"polluted":"proto"},' +
    '"nested":{"__proto__":{"polluted":"nested"},"list":[{"__proto__":{"polluted":"in array"}}]}}';

  test('__proto__, constructor and prototype keys do not pollute Object.prototype nor the decoded object', () => {
    const decoded = createCodec(options()).decode(clearFrame(hostile));
    const nested = decoded.nested as Record<string, unknown>;
    const inArray = (nested.list as Array<Record<string, unknown>>)[0] as Record<string, unknown>;
    for (const object of [decoded, nested, inArray]) {
      assert.equal(Object.getPrototypeOf(object), Object.prototype);
      assert.equal(Object.hasOwn(object, '__proto__'), false);
      assert.equal((object as { polluted?: unknown }).polluted, undefined);
    }
    assert.equal(({} as { polluted?: unknown }).polluted, undefined);
    // constructor and prototype stay as plain data.
    assert.deepStrictEqual(decoded.constructor, { prototype: { polluted: 'ctor' } });
    assert.deepStrictEqual(decoded.prototype, { polluted: 'proto' });
  });

  test('copying a decoded object with spread, Object.assign or for-in sets no prototype', () => {
    const decoded = createCodec(options()).decode(clearFrame(hostile));
    const nested = decoded.nested as Record<string, unknown>;
    const forIn: Record<string, unknown> = {};
    for (const key in nested) forIn[key] = nested[key];
    for (const copy of [{ ...nested }, Object.assign({}, nested), forIn]) {
      assert.equal(Object.getPrototypeOf(copy), Object.prototype);
      assert.equal((copy as { polluted?: unknown }).polluted, undefined);
    }
    assert.equal(({} as { polluted?: unknown }).polluted, undefined);
  });
});

describe('compression', () => {
  for (const encrypted of [false, true]) {
    test(`realistic sessions of 10 KB and more shrink at least 3×${encrypted ? ', encrypted too' : ''}`, () => {
      const codec = createCodec(options({ compression: true, encryptionKeys: encrypted ? [KEY_A] : [] }));
      for (const target of [10_240, 20_000, 51_200]) {
        for (const seed of [1, 2, 3]) {
          const session = realisticSession(target, seed);
          const bytes = codec.encode(session);
          const ratio = Buffer.byteLength(JSON.stringify(session)) / bytes.length;
          assert.ok(ratio >= 3, `${target} B, seed ${seed}: ratio ${ratio.toFixed(2)} < 3`);
          assert.equal(describeFormat(bytes).compression, 'brotli');
        }
      }
    });
  }

  test('JSON below compressionThreshold is stored uncompressed', () => {
    const session = realisticSession(2_000, 1);
    const json = Buffer.byteLength(JSON.stringify(session));
    assert.equal(describeFormat(createCodec(options({ compression: true, compressionThreshold: json + 1 })).encode(session)).compression, 'none');
    assert.notEqual(describeFormat(createCodec(options({ compression: true, compressionThreshold: json })).encode(session)).compression, 'none');
    assert.equal(describeFormat(createCodec(options({ compression: false, compressionThreshold: 0 })).encode(session)).compression, 'none');
  });

  test('the compressed form is kept only when it is smaller', () => {
    // Brotli's own framing makes a few bytes bigger, whatever the threshold says.
    const tiny = { id: 'a8f3e9d2' };
    const bytes = createCodec(options({ compression: true, compressionThreshold: 0 })).encode(tiny);
    assert.equal(describeFormat(bytes).compression, 'none');
    assert.equal(bytes.length, 2 + JSON.stringify(tiny).length);
  });

  // What DynamoDB bills an item of `frame` bytes beside `beside` more: writes per started KB, strong reads per started 4 KB.
  const units = (bytes: number, beside: number) => [Math.ceil((bytes + beside) / 1024), Math.ceil((bytes + beside) / 4096)] as const;
  const beside = itemBytesBesideData('s'.repeat(43), undefined);

  test('of the forms that bill the fewest units, the one cheapest to read is stored', () => {
    const codec = createCodec(options({ compression: true, compressionThreshold: 0 }));
    const kinds = new Set<string>();
    for (let size = 600; size <= 12_000; size += 150) {
      for (const seed of [1, 2, 3]) {
        const json = JSON.stringify(realisticSession(size, seed));
        const raw = Buffer.from(json);
        const frame = codec.frame(json, beside);
        const kind = describeFormat(frame).compression;
        kinds.add(kind);
        const [writes, reads] = units(frame.length, beside);
        // Never dearer than brotli alone or no compression, in write units, then read units.
        for (const other of [Math.min(brotli(raw).length, raw.length) + 2, raw.length + 2]) {
          const [w, r] = units(other, beside);
          assert.ok(writes < w || (writes === w && reads <= r), `${size} B, seed ${seed}: ${kind} bills ${writes}/${reads}, another form ${w}/${r}`);
        }
        // A faster form was passed over only when it would bill more.
        if (kind === 'brotli') {
          const quick = lz4(raw).length + 2;
          assert.ok(units(quick + 32, beside)[0] > writes || units(quick + 32, beside)[1] > reads, `${size} B: brotli kept where lz4 bills the same`);
        }
        if (kind !== 'none') assert.ok(units(raw.length + 2 + 32, beside)[0] > writes || units(raw.length + 2 + 32, beside)[1] > reads, `${size} B: compressed where raw bills the same`);
        assert.deepStrictEqual(codec.decode(frame), JSON.parse(json));
      }
    }
    assert.deepStrictEqual([...kinds].sort(), ['brotli', 'lz4', 'none']);
  });

  test('a 2 KB session is stored as LZ4 at brotli\'s write units; 10 KB and 50 KB ones as brotli', () => {
    const codec = createCodec(options({ compression: true, compressionThreshold: 1024 }));
    const two = JSON.stringify(realisticSession(2_048, 3));
    const frame = codec.frame(two, beside);
    assert.equal(describeFormat(frame).compression, 'lz4');
    assert.equal(units(frame.length, beside)[0], units(brotli(Buffer.from(two)).length + 2, beside)[0]);
    for (const size of [10 * 1024, 50 * 1024]) assert.equal(describeFormat(codec.frame(JSON.stringify(realisticSession(size, 3)), beside)).compression, 'brotli');
  });

  test('encrypted LZ4 frames round-trip, the seal counted in the choice', () => {
    const codec = createCodec(options({ compression: true, compressionThreshold: 1024, encryptionKeys: [KEY_A] }));
    const session = realisticSession(2_048, 3);
    const frame = codec.frame(JSON.stringify(session), beside);
    assert.equal(describeFormat(frame).compression, 'lz4');
    assert.equal(describeFormat(frame).keyId, 'key-a');
    assert.deepStrictEqual(codec.decode(frame), session);
  });

  test('pack keeps the raw bytes when nothing bills less, and an item at one unit each is not compressed further', () => {
    // Compressible, but already one write unit and one read unit as it is.
    const raw = Buffer.from(JSON.stringify({ note: 'abc '.repeat(200) }));
    assert.ok(raw.length + 50 + 32 <= 1024, `${raw.length} B`);
    assert.equal(pack(raw, 50).compression, 'none');
    assert.equal(pack(Buffer.from('x'.repeat(5_000)), 50).compression, 'lz4');
  });

  test('an LZ4 payload claiming more than the 4 MB cap is refused before it is decoded', () => {
    const codec = createCodec(options());
    const body = lz4(Buffer.from(JSON.stringify(realisticSession(2_000, 1))));
    const lying = Buffer.from(body);
    lying.writeUInt32LE(MAX_DECODED_BYTES + 1, 0);
    throwsCorrupt(codec, clearFrame(lying, 0b11), /inflates to more than/);
    const short = Buffer.from(body);
    short.writeUInt32LE(body.readUInt32LE(0) + 10, 0);
    throwsCorrupt(codec, clearFrame(short, 0b11), /not valid lz4/);
    throwsCorrupt(codec, clearFrame(Buffer.from([1, 2]), 0b11), /not valid lz4/);
  });

  test('LZ4 frames written by earlier versions (lz4-napi) read back byte for byte, and the ones written now are read by lz4-napi', () => {
    const codec = createCodec(options({ compression: true, compressionThreshold: 1024 }));
    for (const seed of [1, 2, 3, 4, 5]) {
      const json = JSON.stringify(realisticSession(2_048, seed));
      assert.equal(codec.unframe(clearFrame(lz4Napi.compressSync(Buffer.from(json)), 0b11)), json);
      const written = codec.frame(json, beside);
      assert.equal(describeFormat(written).compression, 'lz4');
      assert.equal(lz4Napi.uncompressSync(written.subarray(2)).toString(), json);
    }
  });

  test('gzip frames are read', () => {
    const session = realisticSession(5_000, 3);
    assert.deepStrictEqual(createCodec(options()).decode(clearFrame(gzipSync(JSON.stringify(session)), 0b10)), session);
  });

  test('sessions that inflate to many times their stored size, small or large, come back whole', () => {
    // The inflate buffer is sized from the stored bytes; these outgrow it and take several pieces.
    const codec = createCodec(options({ compression: true, compressionThreshold: 0 }));
    for (const repeat of [40, 400, 4_000, 40_000]) {
      const session = { cart: Array.from({ length: repeat }, () => ({ sku: 'A-100', qty: 1 })), note: 'x'.repeat(repeat) };
      const bytes = clearFrame(brotli(Buffer.from(JSON.stringify(session))), 0b01);
      assert.ok(bytes.length * 3 < Buffer.byteLength(JSON.stringify(session)), `ratio over 3× at ${repeat}`);
      assert.deepStrictEqual(codec.decode(bytes), session);
      assert.deepStrictEqual(codec.decode(codec.encode(session)), session);
    }
    const gzipped = { note: 'y'.repeat(50_000) };
    assert.deepStrictEqual(codec.decode(clearFrame(gzipSync(JSON.stringify(gzipped)), 0b10)), gzipped);
  });

  const bomb = (bytes: number) => `{"a":"${'a'.repeat(bytes - 8)}"}`;
  test('a brotli or gzip bomb is refused at the 4 MB cap', () => {
    const codec = createCodec(options());
    const json = bomb(MAX_DECODED_BYTES + 1024);
    throwsCorrupt(codec, clearFrame(brotliCompressSync(json), 0b01), /inflates to more than/);
    throwsCorrupt(codec, clearFrame(gzipSync(json), 0b10), /inflates to more than/);
  });

  test('a large but legitimate payload under the cap still inflates', () => {
    const json = bomb(MAX_DECODED_BYTES - 1024);
    const decoded = createCodec(options()).decode(clearFrame(brotliCompressSync(json), 0b01));
    assert.equal((decoded.a as string).length, MAX_DECODED_BYTES - 1024 - 8);
  });
});

describe('LZ4 in plain JavaScript, and what lz4-napi wrote', () => {
  /** lz4-napi's payload for `raw`: the stated length (u32, little-endian), then the block. */
  const native = (raw: Uint8Array): Buffer => lz4Napi.compressSync(Buffer.from(raw));
  const inJs = (payload: Buffer): Buffer => decodeLz4Block(payload.subarray(4), payload.readUInt32LE(0));
  /** What the store makes of a payload where the binary loads: lz4-napi's bytes when their length is the stated one. */
  const inNative = (payload: Buffer): Buffer | undefined => {
    try {
      const out = lz4Napi.uncompressSync(payload);
      return out.length === payload.readUInt32LE(0) ? out : undefined;
    } catch {
      return undefined;
    }
  };
  const refusedAsLz4 = (err: unknown) => err instanceof CorruptSessionError && err.code === 'DSM_CORRUPT_SESSION' && /not valid lz4/.test(err.message);

  /** The (offset, length) of every match in a block, read without checks: only to show which copies a test went through. */
  function matchesOf(block: Uint8Array): Array<[number, number]> {
    const found: Array<[number, number]> = [];
    let i = 0;
    const extended = (n: number) => {
      if (n === 15) for (let more = 255; more === 255; n += more) more = block[i++] as number;
      return n;
    };
    for (;;) {
      const token = block[i++] as number;
      // Not `i += extended(…)`: that reads i before extended moves it past the length bytes.
      const literals = extended(token >>> 4);
      i += literals;
      if (i >= block.length) return found;
      const offset = (block[i] as number) | ((block[i + 1] as number) << 8);
      i += 2;
      found.push([offset, extended(token & 15) + 4]);
    }
  }

  const sessionJson = Buffer.from(JSON.stringify(realisticSession(20_000, 9)));
  /** Pieces inputs are made of: random bytes (incompressible), short patterns repeated (matches that overlap themselves, offsets 1 to 4 and more), slices of session JSON, a piece said twice. */
  const piece = fc.oneof(
    fc.uint8Array({ maxLength: 400 }),
    fc
      .tuple(fc.uint8Array({ minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 3_000 }))
      .map(([pattern, times]) => Buffer.concat(Array.from({ length: times }, () => pattern))),
    fc.tuple(fc.uint8Array({ minLength: 5, maxLength: 40 }), fc.integer({ min: 2, max: 60 })).map(([word, times]) => Buffer.concat(Array.from({ length: times }, () => word))),
    fc.tuple(fc.nat(sessionJson.length - 1), fc.nat(6_000)).map(([at, bytes]) => sessionJson.subarray(at, at + bytes)),
  );
  const input = fc.array(piece, { maxLength: 12 }).map((pieces) => Buffer.concat(pieces.flatMap((p, k) => (k % 3 === 2 ? [p, p] : [p]))));

  test('the JavaScript decoder returns what lz4-napi returns, on random, repetitive and session data of 0 bytes to 1 MB', () => {
    const seen: Array<[number, number]> = [];
    const agree = (raw: Uint8Array) => {
      const payload = native(raw);
      const decoded = inJs(payload);
      assert.ok(decoded.equals(raw), `${raw.length} bytes`);
      assert.ok(decoded.equals(lz4Napi.uncompressSync(payload)));
      seen.push(...matchesOf(payload.subarray(4)));
    };
    fc.assert(fc.property(input, (raw) => agree(raw)), { numRuns: 400 });
    const noise = random(11);
    const randomBytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(noise() * 256)));
    for (const bytes of [0, 1, 4, 5, 12, 13, 15, 16, 19, 270, 65_535, 65_536, 65_537, 1_000_000]) {
      agree(randomBytes(bytes));
      // Buffer.alloc repeats its fill: one pattern of 1 to 7 random bytes, over and over.
      for (const period of [1, 2, 3, 4, 7]) agree(Buffer.alloc(bytes, randomBytes(period)));
    }
    for (const size of [2_048, 10_240, 51_200, 1_000_000]) agree(Buffer.from(JSON.stringify(realisticSession(size, 5))));
    // The copies that byte-by-byte semantics matter for were all exercised: a match longer than its offset, for offsets 1 to 4, and long far ones.
    for (const offset of [1, 2, 3, 4]) assert.ok(seen.some(([o, length]) => o === offset && length > offset + 15), `an overlapping match at offset ${offset}`);
    assert.ok(seen.some(([o, length]) => o > 60_000 && length >= 4));
    assert.ok(seen.some(([, length]) => length > 270));
  });

  test('on damaged LZ4 payloads the JavaScript decoder accepts exactly what lz4-napi accepts, with the same bytes, and otherwise throws CorruptSessionError', () => {
    const payloads = [
      native(Buffer.from(JSON.stringify(realisticSession(2_048, 4)))),
      native(Buffer.from('ab'.repeat(300) + 'x'.repeat(200) + 'abcd'.repeat(100))),
      native(Buffer.alloc(0)),
    ];
    let accepted = 0;
    const damage = fc.tuple(
      fc.nat(payloads.length - 1),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 3 }),
      fc.option(fc.nat(), { freq: 4 }),
    );
    fc.assert(
      fc.property(damage, ([which, edits, cut]) => {
        const bytes = Buffer.from(payloads[which] as Buffer);
        // The stated length too, now and then: the damage of interest is in the block.
        for (const [at, mask] of edits) if (bytes.length > 4) bytes[at % 16 === 0 ? at % bytes.length : 4 + (at % (bytes.length - 4))]! ^= mask;
        const payload = cut === null ? bytes : bytes.subarray(0, 4 + (cut % (bytes.length - 3)));
        const expected = payload.readUInt32LE(0) <= MAX_DECODED_BYTES ? inNative(payload) : undefined;
        if (expected === undefined) {
          if (payload.readUInt32LE(0) <= MAX_DECODED_BYTES) assert.throws(() => inJs(payload), refusedAsLz4);
          return;
        }
        accepted += 1;
        assert.ok(inJs(payload).equals(expected));
      }),
      { numRuns: 5_000 },
    );
    assert.ok(accepted > 100, `only ${accepted} damaged payloads still decoded: the test compares little`);
  });

  test('hostile LZ4 blocks are refused with CorruptSessionError: truncated, offset 0, offset before the output, literals past the end, output shorter or longer than stated', () => {
    const refused = (block: number[] | Buffer, stated: number, why: RegExp) =>
      assert.throws(() => decodeLz4Block(Uint8Array.from(block), stated), (err: unknown) => refusedAsLz4(err) && why.test((err as Error).message), why.source);
    // Four literals, then a match of four at offset 4: "abcdabcd".
    const good = [0x40, 0x61, 0x62, 0x63, 0x64, 0x04, 0x00, 0x00];
    assert.equal(decodeLz4Block(Uint8Array.from(good), 8).toString(), 'abcdabcd');
    for (let cut = 0; cut < good.length; cut++) assert.throws(() => decodeLz4Block(Uint8Array.from(good.slice(0, cut)), 8), refusedAsLz4, `cut at ${cut}`);
    const session = native(Buffer.from(JSON.stringify(realisticSession(2_048, 6))));
    for (let cut = 4; cut < session.length; cut += 7) assert.throws(() => inJs(session.subarray(0, cut)), refusedAsLz4, `session cut at ${cut}`);
    refused([0x40, 0x61, 0x62, 0x63, 0x64, 0x00, 0x00, 0x00], 8, /0 bytes back/);
    refused([0x40, 0x61, 0x62, 0x63, 0x64, 0x05, 0x00, 0x00], 9, /5 bytes back from byte 4/);
    refused([0x0f, 0x01, 0x00, 0x00, 0x00], 24, /1 bytes back from byte 0/);
    refused([0x40, 0x61, 0x62, 0x63, 0x64, 0xff, 0xff, 0x00], 8, /65535 bytes back/);
    refused([0xa0, 0x61, 0x62], 10, /literal run goes past its end/);
    refused([0xf0, 0x20, ...Buffer.alloc(40, 0x61)], 47, /literal run goes past its end/);
    refused([0xf0], 15, /literal length runs past its end/);
    refused([0xf0, 0xff, 0xff], 600, /literal length runs past its end/);
    refused([0x4f, 0x61, 0x62, 0x63, 0x64, 0x01, 0x00], 30, /match length runs past its end/);
    refused([0x40, 0x61, 0x62, 0x63, 0x64, 0x01], 8, /offset is cut off/);
    refused([0x40, 0x61, 0x62, 0x63, 0x64, 0x04, 0x00], 8, /ends before its last literals/);
    refused([], 0, /ends before its last literals/);
    refused(good, 9, /decodes to 8 bytes, not its stated 9/);
    refused(good, 7, /more bytes than its stated length/);
    refused(good, 3, /more bytes than its stated length/);
    refused([0x20, 0x61, 0x62], 1, /more bytes than its stated length/);
    // A length that would take gigabytes, in a few kilobytes of 255s: refused at the stated length, not allocated.
    refused([0x1f, 0x61, 0x01, 0x00, ...Buffer.alloc(20_000, 0xff), 0x00, 0x00], 100, /more bytes than its stated length/);
    refused([0xf0, ...Buffer.alloc(20_000, 0xff), 0x00], 100, /literal run goes past its end/);
    // Through the codec: the same error, and the 4 MB cap still read first.
    const codec = createCodec(options());
    throwsCorrupt(codec, clearFrame(Buffer.from([8, 0, 0, 0, 0x40, 0x61, 0x62, 0x63, 0x64, 0x00, 0x00, 0x00]), 0b11), /not valid lz4 \(a match points 0 bytes back/);
    const bomb = Buffer.from([0, 0, 0, 0, 0x1f, 0x61, 0x01, 0x00, ...Buffer.alloc(100, 0xff), 0x00, 0x00]);
    bomb.writeUInt32LE(MAX_DECODED_BYTES + 1, 0);
    throwsCorrupt(codec, clearFrame(bomb, 0b11), /inflates to more than/);
    throwsCorrupt(codec, clearFrame(Buffer.from([1, 2]), 0b11), /not valid lz4/);
  });

  test('the JavaScript encoder: its blocks decode to the input, by this decoder and by lz4-napi, on random, repetitive and session data of 0 bytes to 1 MB', () => {
    const agree = (raw: Uint8Array) => {
      const payload = lz4(Buffer.from(raw));
      assert.equal(payload.readUInt32LE(0), raw.length);
      assert.ok(inJs(payload).equals(raw), `${raw.length} bytes`);
      assert.ok(lz4Napi.uncompressSync(payload).equals(raw), `${raw.length} bytes, lz4-napi`);
    };
    fc.assert(fc.property(input, (raw) => agree(raw)), { numRuns: 400 });
    const noise = random(12);
    const randomBytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(noise() * 256)));
    for (const bytes of [0, 1, 4, 5, 12, 13, 15, 16, 19, 270, 65_535, 65_536, 65_537, 1_000_000]) {
      agree(randomBytes(bytes));
      for (const period of [1, 2, 3, 4, 7]) agree(Buffer.alloc(bytes, randomBytes(period)));
    }
    for (const size of [2_048, 10_240, 51_200, 1_000_000]) {
      const raw = Buffer.from(JSON.stringify(realisticSession(size, 5)));
      agree(raw);
      // As small as lz4-napi's, within 5 %: the write units are the same.
      assert.ok(lz4(raw).length <= lz4Napi.compressSync(raw).length * 1.05, `${size} B: ${lz4(raw).length} vs ${lz4Napi.compressSync(raw).length}`);
    }
  });

  test('random bytes as an LZ4 block, of any stated length up to 64 KB, throw only CorruptSessionError or decode to exactly that length', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.nat(65_536), (block, stated) => {
        try {
          return decodeLz4Block(block, stated).length === stated;
        } catch (err) {
          return refusedAsLz4(err);
        }
      }),
      { numRuns: 5_000 },
    );
  });
});

describe('describeFormat', () => {
  test('reports version, compression and key id', () => {
    assert.deepStrictEqual(describeFormat(createCodec(options()).encode({ a: 1 })), { version: 1, compression: 'none' });
    const big = realisticSession(4_000);
    assert.deepStrictEqual(describeFormat(createCodec(options({ compression: true, encryptionKeys: [KEY_C] })).encode(big)), {
      version: 1,
      compression: 'brotli',
      keyId: 'key-c',
      bound: true,
    });
    assert.equal(describeFormat(clearFrame('{}', 0b10)).compression, 'gzip');
  });

  test('throws CorruptSessionError on a header it cannot read', () => {
    for (const bytes of [[], [7], [1], [1, 0x04], [1, 0x04, 5, 0x41], [1, 0x04, 0], [1, 0x04, 1, 0x20]]) {
      assert.throws(() => describeFormat(Uint8Array.from(bytes)), CorruptSessionError, JSON.stringify(bytes));
    }
  });
});

describe('realisticSession fixture', () => {
  test('is deterministic from its seed and varies with it', () => {
    assert.deepStrictEqual(realisticSession(10_000, 42), realisticSession(10_000, 42));
    assert.notDeepStrictEqual(realisticSession(10_000, 42), realisticSession(10_000, 43));
  });

  test('reaches its target size, overshooting by less than one cart entry', () => {
    for (const target of [2_048, 10_240, 51_200]) {
      const size = Buffer.byteLength(JSON.stringify(realisticSession(target)));
      assert.ok(size >= target && size < target + 500, `${target} → ${size}`);
    }
  });

  test('holds what a shop session holds', () => {
    const s = realisticSession(10_000);
    for (const key of ['cookie', 'csrfToken', 'user', 'cart', 'flash', 'recentlyViewed', 'featureFlags']) assert.ok(key in s, key);
    assert.ok(((s.cart as { items: unknown[] }).items).length > 0);
  });
});
