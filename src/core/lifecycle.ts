import type { ResolvedConfig } from '../config/options.js';
import type { DestroyedEvent, ExpiredEvent } from './events.js';
import { expiryMs, type Item } from './item.js';
import { idTag } from './session-id.js';

/** Where an ended session is told: the store's options and its events (a StoreContext is one). */
interface Teller {
  readonly config: Pick<ResolvedConfig, 'maxLifetime'>;
  emit(event: string, ...args: unknown[]): boolean;
}

/** When a session created at `createdAt` (epoch ms) ends by `maxLifetime`; undefined when no absolute timeout is set. */
export function lifetimeEnd(config: Pick<ResolvedConfig, 'maxLifetime'>, createdAt: number): number | undefined {
  return config.maxLifetime === undefined || !(createdAt > 0) ? undefined : createdAt + config.maxLifetime * 1000;
}

/**
 * The expiry a write may store: the one asked for, but never past the
 * absolute end. So the TTL attribute is the earlier of the idle and the
 * absolute expiry, and every check of the stored expiry (on read, in write
 * conditions, by TTL) enforces both.
 */
export function clampExpiry(config: Pick<ResolvedConfig, 'maxLifetime'>, expiresAtMs: number, createdAt: number): number {
  const end = lifetimeEnd(config, createdAt);
  return end === undefined ? expiresAtMs : Math.min(expiresAtMs, end);
}

/** True when an item's session has outlived `maxLifetime` (checked on every read: items written before it was set carry a later expiry). */
export function pastLifetime(config: Pick<ResolvedConfig, 'maxLifetime'>, item: Item, nowMs = Date.now()): boolean {
  const created = Number(item.createdAt?.N);
  const end = lifetimeEnd(config, created);
  return end !== undefined && end <= nowMs;
}

/**
 * Tells the store's listeners when a read finds a session ended: `destroyed`
 * (reason 'lifetime') past `maxLifetime`, else `expired` (source 'read').
 * Once per process for each session and expiry: a client that keeps sending
 * an ended session's cookie is not a new event every time.
 */
export class EndNotices {
  /** The most it remembers: past it, the oldest half is forgotten at once. */
  static readonly BOUND = 10_000;
  private readonly told = new Set<string>();

  get size(): number {
    return this.told.size;
  }

  report(ctx: Teller, item: Item): void {
    const key = item.sessionId?.S;
    if (key === undefined) return;
    const ended = expiryMs(item);
    const mark = `${key}\u0000${ended}`;
    if (this.told.has(mark)) return;
    // Bounded: past this many, forget the oldest half at once (a repeat event is allowed; a leak is not).
    if (this.told.size >= EndNotices.BOUND) for (const m of [...this.told].slice(0, EndNotices.BOUND / 2)) this.told.delete(m);
    this.told.add(mark);
    const base = { key, session: idTag(key), ...(item.userId?.S !== undefined ? { userId: item.userId.S } : {}) };
    if (pastLifetime(ctx.config, item)) ctx.emit('destroyed', { ...base, reason: 'lifetime' } satisfies DestroyedEvent);
    else ctx.emit('expired', { ...base, source: 'read', ...(Number.isFinite(ended) ? { expiredAt: ended } : {}) } satisfies ExpiredEvent);
  }
}

/** When a session given `expires` ends, in epoch ms: exact; without one, `ttl` seconds from now. */
export function expiryOf(config: Pick<ResolvedConfig, 'ttl'>, expires: Date | number | null | undefined): number {
  const ms = expires instanceof Date ? expires.getTime() : typeof expires === 'number' ? expires : Number.NaN;
  if (Number.isFinite(ms)) return ms;
  return Date.now() + config.ttl * 1000;
}
