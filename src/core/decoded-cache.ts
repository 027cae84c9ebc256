/**
 * Heap bytes an entry costs beside its three strings: its slot in the Map
 * (key, value and chain pointers, and its share of the buckets) and the
 * object holding the key, write id, JSON and the entry's size. Measured on
 * Node 20 (x64, no pointer compression) with `--expose-gc` over 20,000 to
 * 150,000 entries: 66 to 98 bytes with three fields, by where the Map is
 * between two doublings, 8 more with the fourth;
 * test/memory.test.ts checks the whole account against the heap.
 */
export const ENTRY_OVERHEAD_BYTES = 96;

/**
 * Heap bytes of a flat string: a 16-byte header, then one byte a character
 * when all are ASCII, else two (V8 stores Latin-1 in one byte too; counting
 * two for those is the safe side), rounded up to 8.
 */
export function stringBytes(s: string): number {
  const chars = Buffer.byteLength(s, 'utf8') === s.length ? s.length : s.length * 2;
  return (16 + chars + 7) & ~7;
}

/**
 * A copy of `s` that is one flat string of its own. An id cut out of a
 * cookie header is a slice that keeps the whole header alive, and a write id
 * built by `+` is two strings and a pair: held for as long as the cache
 * holds an entry, either would cost more than the account says.
 */
const ownCopy = (s: string): string => (s.length < 13 ? s : Buffer.from(s, 'utf8').toString('utf8'));

interface Entry {
  /** The cache's own copy of the key: a lookup moves the entry to the LRU's end under it, not under the caller's string. */
  key: string;
  writeId: string;
  json: string;
  /** What this entry is counted as, in bytes. */
  size: number;
}

/**
 * Decoded session JSON by table key, valid while the item's `writeId` is the
 * same: every data write sets a new random one, so a match means the bytes are
 * the ones decoded before, and inflating (and decrypting) them again can be
 * skipped. It saves CPU, and for a session past 400 KB the read of its chunks
 * (core/chunks.ts): every load still reads the item (the head), so nothing
 * stale can be served. Bounded by the heap it holds (the option
 * `decodedCacheBytes`): each entry counts its key, write id and JSON as V8
 * stores them plus ENTRY_OVERHEAD_BYTES; the least recently used go first.
 * A bound of 0 keeps nothing.
 */
export class DecodedCache {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;

  constructor(
    private readonly maxBytes: number,
    /** Largest entry kept, in bytes as counted; a larger one is not cached. Default: half the bound. */
    private readonly maxEntryBytes = maxBytes / 2,
  ) {}

  /** What the cache counts itself as holding, in bytes: never more than its bound. */
  get size(): number {
    return this.bytes;
  }

  /** Entries held. */
  get count(): number {
    return this.entries.size;
  }

  get(key: string, writeId: string | undefined): string | undefined {
    if (writeId === undefined) return undefined;
    const entry = this.entries.get(key);
    if (!entry || entry.writeId !== writeId) return undefined;
    // Refresh its place in the LRU order.
    this.entries.delete(key);
    this.entries.set(entry.key, entry);
    return entry.json;
  }

  set(key: string, writeId: string | undefined, json: string): void {
    this.delete(key);
    if (writeId === undefined || this.maxBytes <= 0) return;
    const size = ENTRY_OVERHEAD_BYTES + stringBytes(key) + stringBytes(writeId) + stringBytes(json);
    if (size > this.maxEntryBytes) return;
    const own = ownCopy(key);
    this.entries.set(own, { key: own, writeId: ownCopy(writeId), json, size });
    this.bytes += size;
    for (const [oldest, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= entry.size;
    }
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.bytes -= entry.size;
  }
}
