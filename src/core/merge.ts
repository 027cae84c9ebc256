/**
 * Three-way merge of session data (JSON values), for an optimistic save that
 * found another request's write stored since it loaded:
 * base = what this request loaded, mine = what it saves, theirs = what is stored now.
 *
 * Changes to different paths both persist; a path only one side touched takes
 * that side's value; arrays both sides only appended to, or removed different
 * elements from, keep both sides' changes. Both sides changing one scalar path
 * is a true conflict, even to equal values: two requests that each turned a
 * counter from 5 into 6 are two increments, and `onConflict` must be able to
 * say so. Without `onConflict` the later write (mine) wins there.
 *
 * Deleting a key against a change on the other side: when the key held an
 * object or array and the other side changed something beneath it, the
 * deletion wins, so a logout that deletes `session.user` is not undone by a
 * concurrent request that touched `session.user.lastSeen`. When it held a
 * scalar that the other side replaced, the new value stays: it was set after
 * the value deleted (a new flash message), not beneath it. Both are reported
 * as conflicts, for `onConflict` to decide otherwise. The sure way to log out
 * is still `destroy()` or `regenerate()`: no concurrent save brings a
 * destroyed session back.
 */
export type Path = ReadonlyArray<string | number>;

export interface MergeConflict {
  path: Path;
  base: unknown;
  mine: unknown;
  theirs: unknown;
  resolved: unknown;
}

export interface MergeResult {
  value: Record<string, unknown>;
  conflicts: MergeConflict[];
}

export type OnConflict = (path: Path, base: unknown, mine: unknown, theirs: unknown) => unknown;

type Json = unknown;

const isObject = (v: Json): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Structural equality with JSON semantics (key order does not matter). */
export function deepEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    for (const k of ka) if (!Object.prototype.hasOwnProperty.call(b, k) || !deepEqual(a[k], b[k])) return false;
    return true;
  }
  return false;
}

// Assigning `__proto__` on a plain object would replace its prototype.
function put(target: Record<string, Json>, key: string, value: Json): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

const has = (o: Record<string, Json>, k: string) => Object.prototype.hasOwnProperty.call(o, k);

/** Both objects, or both arrays: `side` changed what is beneath `base`, rather than replacing it. */
const sameContainer = (base: Json, side: Json): boolean => (isObject(base) && isObject(side)) || (Array.isArray(base) && Array.isArray(side));

/** A side's edit of a base array as "some base elements removed, then a tail appended", if it is one. */
function asRemovalsAndAppends(base: Json[], side: Json[]): { kept: boolean[]; tail: Json[] } | undefined {
  const kept = base.map(() => false);
  let i = 0;
  let j = 0;
  for (; j < side.length; j++) {
    let k = i;
    while (k < base.length && !deepEqual(base[k], side[j])) k++;
    if (k === base.length) break;
    kept[k] = true;
    i = k + 1;
  }
  const tail = side.slice(j);
  // A removed element showing up again in the tail is a move or an in-place edit, not an append.
  if (tail.some((t) => base.some((b, k) => !kept[k] && deepEqual(b, t)))) return undefined;
  return { kept, tail };
}

class Merger {
  readonly conflicts: MergeConflict[] = [];
  constructor(private readonly onConflict: OnConflict | undefined) {}

  /** `fallback`: what stands without `onConflict` (boxed: undefined, a deletion, is a value here). Default: mine. */
  conflict(path: Path, base: Json, mine: Json, theirs: Json, fallback: { value: Json } = { value: mine }): Json {
    const resolved = this.onConflict ? this.onConflict(path, base, mine, theirs) : fallback.value;
    this.conflicts.push({ path, base, mine, theirs, resolved });
    return resolved;
  }

  /** `undefined` stands for "absent" (a deleted or never-set key). */
  value(path: Path, base: Json, mine: Json, theirs: Json): Json {
    const mineChanged = !deepEqual(base, mine);
    const theirsChanged = !deepEqual(base, theirs);
    if (!mineChanged) return theirs;
    if (!theirsChanged) return mine;
    if (mine === undefined && theirs === undefined) return undefined;
    if (isObject(mine) && isObject(theirs) && (base === undefined || isObject(base))) {
      return this.object(path, base ?? {}, mine, theirs);
    }
    if (Array.isArray(mine) && Array.isArray(theirs) && (base === undefined || Array.isArray(base))) {
      return this.array(path, base ?? [], mine, theirs);
    }
    // A deleted object or array against changes beneath it: the deletion wins (a logout stays a logout).
    if ((mine === undefined && sameContainer(base, theirs)) || (theirs === undefined && sameContainer(base, mine))) {
      return this.conflict(path, base, mine, theirs, { value: undefined });
    }
    // A deleted scalar against a new value: the new value stays unless onConflict says otherwise.
    if (mine === undefined) return this.conflict(path, base, mine, theirs, { value: theirs });
    return this.conflict(path, base, mine, theirs);
  }

  object(path: Path, base: Record<string, Json>, mine: Record<string, Json>, theirs: Record<string, Json>): Record<string, Json> {
    const out: Record<string, Json> = {};
    const keys = [
      ...Object.keys(theirs),
      ...Object.keys(mine).filter((k) => !has(theirs, k)),
      ...Object.keys(base).filter((k) => !has(theirs, k) && !has(mine, k)),
    ];
    for (const key of keys) {
      const merged = this.value(
        [...path, key],
        has(base, key) ? base[key] : undefined,
        has(mine, key) ? mine[key] : undefined,
        has(theirs, key) ? theirs[key] : undefined,
      );
      if (merged !== undefined) put(out, key, merged);
    }
    return out;
  }

  array(path: Path, base: Json[], mine: Json[], theirs: Json[]): Json[] {
    // Positional first: in-place edits of the base's elements, maybe followed by appends.
    if (mine.length >= base.length && theirs.length >= base.length) {
      const edited = base.map((b, i) => this.value([...path, i], b, mine[i], theirs[i]));
      return [...edited, ...theirs.slice(base.length), ...mine.slice(base.length)];
    }
    const m = asRemovalsAndAppends(base, mine);
    const t = asRemovalsAndAppends(base, theirs);
    if (m && t) {
      const survivors = base.filter((_, i) => m.kept[i] && t.kept[i]);
      return [...survivors, ...t.tail, ...m.tail];
    }
    return this.conflict(path, base, mine, theirs) as Json[];
  }
}

export function mergeSessions(
  base: Record<string, unknown>,
  mine: Record<string, unknown>,
  theirs: Record<string, unknown>,
  onConflict?: OnConflict,
): MergeResult {
  if (deepEqual(base, theirs)) return { value: mine, conflicts: [] };
  if (deepEqual(base, mine)) return { value: theirs, conflicts: [] };
  const merger = new Merger(onConflict);
  const value = merger.object([], base, mine, theirs);
  return { value, conflicts: merger.conflicts };
}
