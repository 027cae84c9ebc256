/**
 * Memory that stays inside its bound (issue 35). The decoded-session cache
 * counts what its entries really cost on the heap, measured here against V8's
 * own figure with collections forced before and after; and every per-session
 * structure of a store is empty again, or within its bound, after 100,000
 * distinct sessions went through it against DynamoDB Local.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { randomBytes } from 'node:crypto';
import { DecodedCache } from '../src/core/decoded-cache.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap in use after full collections: what is still referenced. */
function heapUsed(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

/**
 * The heap a cache holds: what a full collection frees once it is dropped.
 * (Measured this way rather than as growth since it was made: under node:test,
 * about 100 bytes an iteration of the filling loop stay behind outside the cache.)
 */
function heapHeldBy(fill: () => DecodedCache): { held: number; cache: { size: number; count: number } } {
  let cache: DecodedCache | undefined = fill();
  const withCache = heapUsed();
  const account = { size: cache.size, count: cache.count };
  cache = undefined;
  return { held: withCache - heapUsed(), cache: account };
}

/**
 * An entry as the store makes one: the id cut out of a cookie header (as
 * express-session's unsign does), a write id built by concatenation, and JSON
 * of 20 to 3,000 characters, every fifth one not Latin-1.
 */
function entryInput(i: number): { key: string; writeId: string; json: string } {
  const id = randomBytes(24).toString('base64url');
  const header = `connect.sid=s%3A${id}.${randomBytes(32).toString('base64url')}; analytics=${'a'.repeat(300)}`;
  const key = decodeURIComponent(header.slice(12, header.indexOf(';'))).slice(2, 2 + id.length);
  const writeId = 'Rk9vYmFyQmF6' + i.toString(36);
  const size = 20 + ((i * 7919) % 980);
  const json = JSON.stringify({ views: i, pad: (i % 5 === 0 ? 'ü€' : 'x').repeat(size >> 1) });
  return { key, writeId, json };
}

describe('the decoded-session cache counts what it holds', () => {
  it("its account of its bytes is within 20 % of the heap its entries take", () => {
    const { held, cache } = heapHeldBy(() => {
      const filled = new DecodedCache(1024 * 1024 * 1024);
      for (let i = 0; i < 60_000; i++) {
        const { key, writeId, json } = entryInput(i);
        filled.set(key, writeId, json);
      }
      return filled;
    });
    assert.equal(cache.count, 60_000, 'nothing evicted under a 1 GB bound');
    const ratio = held / cache.size;
    assert.ok(ratio > 0.8 && ratio < 1.2, `the cache holds ${held} bytes of heap for an account of ${cache.size} (ratio ${ratio.toFixed(2)})`);
  });

  it('a cache filled far past its bound holds no more than the bound on the heap (within 20 %)', () => {
    const bound = 8 * 1024 * 1024;
    const { held, cache } = heapHeldBy(() => {
      const filled = new DecodedCache(bound);
      for (let i = 0; i < 150_000; i++) {
        const { key, writeId } = entryInput(i);
        // Small sessions, as in the measurement: the overhead beside the text is most of them.
        filled.set(key, writeId, JSON.stringify({ cookie: { originalMaxAge: 3600000, httpOnly: true, path: '/' }, views: i }));
      }
      return filled;
    });
    assert.ok(cache.size <= bound, `the account ${cache.size} is within the bound ${bound}`);
    assert.ok(held <= 1.2 * bound, `the cache holds ${held} bytes of heap for a bound of ${bound} (${(held / bound).toFixed(2)}x)`);
    assert.ok(held >= 0.8 * cache.size, `and holds what it counts: ${held} for ${cache.size}`);
  });
});

describe('decodedCacheBytes', () => {
  it('bounds the store\'s cache, 16 MiB by default; 0 turns it off, so every load decodes', async () => {
    const { SessionStore } = await import('../src/core/session-store.js');
    const { localOptions } = await import('./helpers/dynamo.js');
    const byDefault = new SessionStore(localOptions());
    const off = new SessionStore({ ...localOptions(), table: byDefault.config.table, decodedCacheBytes: 0 });
    const small = new SessionStore({ ...localOptions(), table: byDefault.config.table, decodedCacheBytes: 4096 });
    try {
      assert.equal(byDefault.config.decodedCacheBytes, 16 * 1024 * 1024);
      for (let i = 0; i < 20; i++) await byDefault.set(`cache-${i}`, { i, pad: 'p'.repeat(100) });
      for (const store of [byDefault, off, small]) for (let i = 0; i < 20; i++) assert.deepEqual((await store.load(`cache-${i}`, { lock: false }))?.data, { i, pad: 'p'.repeat(100) });
      for (const store of [byDefault, off, small]) for (let i = 0; i < 20; i++) await store.load(`cache-${i}`, { lock: false });
      assert.equal(byDefault.stats().decodeCacheHits, 40, 'the writer and both reads after it hit');
      assert.equal(off.stats().decodeCacheHits, 0);
      assert.equal(off.decoded.count, 0);
      assert.ok(small.decoded.size <= 4096 && small.decoded.count > 0 && small.decoded.count < 20, `${small.decoded.count} entries, ${small.decoded.size} bytes`);
    } finally {
      await Promise.all([byDefault.close(), off.close(), small.close()]);
    }
  });

  it('is a ConfigError naming it when it is not a whole number of bytes, 0 or more', async () => {
    const { resolveConfig } = await import('../src/config/options.js');
    const { ConfigError } = await import('../src/errors.js');
    for (const bad of [-1, 1.5, '16MB', Number.NaN]) {
      assert.throws(() => resolveConfig({ decodedCacheBytes: bad as number }), (err: unknown) => err instanceof ConfigError && /"decodedCacheBytes"/.test(err.message));
    }
    assert.throws(() => resolveConfig({ decodedCacheByte: 1 } as never), /did you mean "decodedCacheBytes"/);
  });
});
