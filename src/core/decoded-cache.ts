/**
 * Decoded session JSON by table key, valid while the item's `writeId` is the
 * same: every data write sets a new random one, so a match means the bytes are
 * the ones decoded before, and inflating (and decrypting) them again can be
 * skipped. It saves CPU, and for a session past 400 KB the read of its chunks
 * (core/chunks.ts): every load still reads the item (the head), so nothing
 * stale can be served. A bound of 0 keeps nothing.
 *
 * Where the entries live. Kept as strings on V8's heap, cached sessions sat in
 * old space among the requests' garbage; evicting them left pages partly used
 * that V8 kept committed, so a process's RSS grew well past what the cache
 * counted (docs/benchmarks.md, "Memory"). Here an entry's key, write id and
 * JSON are UTF-8 bytes in one buffer outside the heap, written as a ring: new
 * entries at the head, the oldest evicted at the tail. The only thing on the
 * heap is a Map from a 32-bit hash of the key to the entry's offset, numbers
 * that V8 stores in the Map's own table. So what the process holds for the
 * cache is the buffer plus that table, and the bound (`decodedCacheBytes`)
 * caps both: the buffer grows (by half, when entries in use fill half of it
 * and no room is left) to at most 3/4 of it, and the table takes the rest (ENTRY_OVERHEAD_BYTES an entry). An entry
 * read while in the older half of the ring is written again at the head, so
 * what is used stays.
 */

/** An entry's header in the buffer: total bytes (u32), key hash (i32), key bytes (u16), write id bytes (u16), JSON bytes (u32). */
const HEADER = 16;

/**
 * Heap bytes an entry is counted for in the Map from hash to offset: three
 * words of the Map's table (key, value, chain) and its share of the buckets
 * take 28 to 56 bytes (measured: 2.0 MB for 43,690 entries), and a table that
 * doubles holds both its copies for a moment. Counted against the bound.
 */
export const ENTRY_OVERHEAD_BYTES = 96;

/** The buffer starts this size (or the bound's 3/4 if smaller) and grows by half when entries in use fill half of it. */
const INITIAL_BYTES = 64 * 1024;

/** What an entry is counted for against the bound: its bytes in the ring and its share of the Map. */
export function entryBytes(key: string, writeId: string, json: string): number {
  return HEADER + Buffer.byteLength(key, 'utf8') + Buffer.byteLength(writeId, 'utf8') + Buffer.byteLength(json, 'utf8') + ENTRY_OVERHEAD_BYTES;
}

/** FNV-1a over the key's UTF-16 code units: a Map key V8 keeps as a small integer. Two keys that share a hash evict each other. */
function hashKey(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

/**
 * Whether the `length` bytes at `start` are `text` in UTF-8. Keys and write ids are ASCII: compared byte by
 * character, with no string decoded (a lookup made two strings a load); other bytes are decoded and compared.
 */
function holds(arena: Buffer, start: number, length: number, text: string): boolean {
  // UTF-8 takes at least as many bytes as UTF-16 takes code units, the same number for ASCII only.
  if (length !== text.length) return length > text.length && arena.toString('utf8', start, start + length) === text;
  for (let i = 0; i < length; i++) {
    const byte = arena[start + i] as number;
    if (byte >= 0x80) return arena.toString('utf8', start, start + length) === text;
    if (byte !== text.charCodeAt(i)) return false;
  }
  return true;
}

export class DecodedCache {
  private readonly offsets = new Map<number, number>();
  private arena: Buffer | undefined;
  /** Most bytes the buffer may have, and most entries the Map may have: together no more than the bound. */
  private readonly arenaMax: number;
  private readonly entryMax: number;
  /** Live data is [tail, head) when not wrapped; [tail, end) then [0, head) when wrapped. */
  private head = 0;
  private tail = 0;
  private end = 0;
  private wrapped = false;
  /** Bytes of the entries in the ring, live or replaced, not counting the gap left at a wrap. */
  private ringBytes = 0;
  /** Bytes of the entries a key still points at: the buffer grows only when they fill half of it, else replaced ones are evicted. */
  private liveBytes = 0;

  constructor(
    private readonly maxBytes: number,
    /** Largest entry kept, in bytes as counted; a larger one is not cached. Default: half the bound. */
    private readonly maxEntryBytes = maxBytes / 2,
  ) {
    this.arenaMax = Math.floor((maxBytes * 3) / 4);
    this.entryMax = Math.floor((maxBytes - this.arenaMax) / ENTRY_OVERHEAD_BYTES);
  }

  /**
   * What the cache holds, in bytes: its buffer as allocated, plus the Map's
   * share for each entry. Never more than the bound.
   */
  get size(): number {
    return (this.arena?.length ?? 0) + this.offsets.size * ENTRY_OVERHEAD_BYTES;
  }

  /** Entries held. */
  get count(): number {
    return this.offsets.size;
  }

  get(key: string, writeId: string | undefined): string | undefined {
    if (writeId === undefined) return undefined;
    const at = this.find(key);
    if (at === undefined) return undefined;
    const arena = this.arena!;
    const keyBytes = arena.readUInt16LE(at + 8);
    const idStart = at + HEADER + keyBytes;
    const idEnd = idStart + arena.readUInt16LE(at + 10);
    if (!holds(arena, idStart, idEnd - idStart, writeId)) return undefined;
    const json = arena.toString('utf8', idEnd, idEnd + arena.readUInt32LE(at + 12));
    if (this.behind(at) > this.arena!.length / 2) this.set(key, writeId, json);
    return json;
  }

  set(key: string, writeId: string | undefined, json: string): void {
    this.put(key, writeId, json, Buffer.byteLength(json, 'utf8'));
  }

  /** `set` with the JSON as the UTF-8 bytes it was decoded from (a cold load has them): copied, not encoded again. */
  setBytes(key: string, writeId: string | undefined, json: Uint8Array): void {
    this.put(key, writeId, json, json.length);
  }

  private put(key: string, writeId: string | undefined, json: string | Uint8Array, jsonBytes: number): void {
    this.delete(key);
    if (writeId === undefined || this.maxBytes <= 0 || this.entryMax === 0) return;
    const keyBytes = Buffer.byteLength(key, 'utf8');
    const idBytes = Buffer.byteLength(writeId, 'utf8');
    if (keyBytes > 0xffff || idBytes > 0xffff) return;
    const total = HEADER + keyBytes + idBytes + jsonBytes;
    if (total + ENTRY_OVERHEAD_BYTES > this.maxEntryBytes || total > this.arenaMax) return;
    const at = this.place(total);
    const arena = this.arena!;
    const hash = hashKey(key);
    arena.writeUInt32LE(total, at);
    arena.writeInt32LE(hash, at + 4);
    arena.writeUInt16LE(keyBytes, at + 8);
    arena.writeUInt16LE(idBytes, at + 10);
    arena.writeUInt32LE(total - HEADER - keyBytes - idBytes, at + 12);
    arena.write(key, at + HEADER, 'utf8');
    arena.write(writeId, at + HEADER + keyBytes, 'utf8');
    if (typeof json === 'string') arena.write(json, at + HEADER + keyBytes + idBytes, 'utf8');
    else arena.set(json, at + HEADER + keyBytes + idBytes);
    this.head = at + total;
    this.ringBytes += total;
    // Another key with the same hash: its entry is replaced.
    const other = this.offsets.get(hash);
    if (other !== undefined) this.liveBytes -= arena.readUInt32LE(other);
    this.offsets.set(hash, at);
    this.liveBytes += total;
    while (this.offsets.size > this.entryMax) this.evictOldest();
  }

  delete(key: string): void {
    const at = this.find(key);
    if (at === undefined) return;
    this.offsets.delete(hashKey(key));
    this.liveBytes -= this.arena!.readUInt32LE(at);
  }

  /** Offset of the entry stored under `key`, checking the key's bytes: another key with the same hash is a miss. */
  private find(key: string): number | undefined {
    const at = this.offsets.get(hashKey(key));
    if (at === undefined) return undefined;
    const arena = this.arena!;
    return holds(arena, at + HEADER, arena.readUInt16LE(at + 8), key) ? at : undefined;
  }

  /** Bytes written after the entry at `at`: how far it is from the head. */
  private behind(at: number): number {
    if (!this.wrapped || at < this.head) return this.head - at;
    return this.end - at + this.head;
  }

  /**
   * Where `total` bytes go at the head: after the last entry, else at the start if the tail has left room there,
   * else in a larger buffer while it may grow, else where entries are evicted from the tail.
   */
  private place(total: number): number {
    for (;;) {
      const arena = this.arena;
      if (!this.wrapped) {
        if (arena && this.head + total <= arena.length) return this.head;
        const roomAtStart = this.ringBytes > 0 && this.tail >= total;
        // Grow only for entries in use: when most of the ring is replaced entries, evicting them is free.
        const full = !arena || (arena.length < this.arenaMax && this.liveBytes + total > arena.length / 2);
        if (!roomAtStart && full) {
          this.grow(this.head + total);
          continue;
        }
        if (this.ringBytes === 0) {
          this.head = this.tail = 0;
          continue;
        }
        this.end = this.head;
        this.head = 0;
        this.wrapped = true;
        continue;
      }
      if (this.head + total <= this.tail) return this.head;
      this.evictOldest();
    }
  }

  private grow(atLeast: number): void {
    const from = this.arena?.length ?? 0;
    const size = Math.min(this.arenaMax, Math.max(atLeast, Math.min(INITIAL_BYTES, this.arenaMax), from + (from >> 1)));
    const next = Buffer.allocUnsafeSlow(size);
    if (this.arena) this.arena.copy(next, 0, 0, this.head);
    this.arena = next;
  }

  /** Drops the entry at the tail (if its key still points at it) and moves the tail past it. */
  private evictOldest(): void {
    const arena = this.arena!;
    if (this.ringBytes === 0) return;
    const at = this.tail;
    const total = arena.readUInt32LE(at);
    const hash = arena.readInt32LE(at + 4);
    if (this.offsets.get(hash) === at) {
      this.offsets.delete(hash);
      this.liveBytes -= total;
    }
    this.tail += total;
    this.ringBytes -= total;
    if (this.wrapped && this.tail >= this.end) {
      this.tail = 0;
      this.wrapped = false;
    }
    if (this.ringBytes === 0) this.head = this.tail = 0;
  }
}
