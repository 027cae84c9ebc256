/**
 * The `fallback` option (read-through migration): the old store a site is
 * leaving, as the options schema takes it. What the store does with it is
 * core/fallback.ts.
 */

/** A session as the old store holds it: its data and when it expires (a Date or epoch ms). */
export interface FallbackSession {
  data: Record<string, unknown>;
  expiresAt: Date | number;
}

/**
 * The store a site is leaving (read-through migration): `get` answers a session this
 * table lacks, by its raw id; `destroy`, when given, deletes it there too, so a logout
 * or a regenerated id during the migration window cannot be read through again.
 */
export interface SessionFallback {
  get(id: string): Promise<FallbackSession | null | undefined>;
  destroy?(id: string): Promise<void>;
}

/** The `fallback` option: a SessionFallback, or its `get` alone. */
export type FallbackOption = SessionFallback | ((id: string) => Promise<FallbackSession | null | undefined>);

export function toFallback(option: FallbackOption | undefined): SessionFallback | undefined {
  if (option === undefined) return undefined;
  return typeof option === 'function' ? { get: option } : option;
}
