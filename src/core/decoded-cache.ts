/**
 * Decoded session JSON by table key, valid while the item's `writeId` is the
 * same: every data write sets a new random one, so a match means the bytes are
 * the ones decoded before, and inflating (and decrypting) them again can be
 * skipped. It saves CPU, and for a session past 400 KB the read of its chunks
 * (core/chunks.ts): every load still reads the item (the head), so nothing
 * stale can be served. Bounded by the bytes it holds; the least recently used
 * entries go first.
 */
export class DecodedCache {
  private readonly entries = new Map<string, { writeId: string; json: string }>();
  private bytes = 0;

  constructor(
    private readonly maxBytes: number,
    /** Largest entry kept, in bytes (two a character); a larger one is not cached. */
    private readonly maxEntryBytes = maxBytes / 8,
  ) {}

  get(key: string, writeId: string | undefined): string | undefined {
    if (writeId === undefined) return undefined;
    const entry = this.entries.get(key);
    if (!entry || entry.writeId !== writeId) return undefined;
    // Refresh its place in the LRU order.
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.json;
  }

  set(key: string, writeId: string | undefined, json: string): void {
    this.delete(key);
    // Strings are UTF-16 in memory: two bytes a character is the honest bound.
    const size = json.length * 2;
    if (writeId === undefined || size > this.maxEntryBytes) return;
    this.entries.set(key, { writeId, json });
    this.bytes += size;
    for (const [oldest, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= entry.json.length * 2;
    }
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.bytes -= entry.json.length * 2;
  }
}
