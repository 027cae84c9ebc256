// TEMPORARY placeholder (being replaced by the full three-way merge).
export type Path = ReadonlyArray<string | number>;
export interface MergeConflict { path: Path; base: unknown; mine: unknown; theirs: unknown; resolved: unknown }
export interface MergeResult { value: Record<string, unknown>; conflicts: MergeConflict[] }
export function mergeSessions(base: Record<string, unknown>, mine: Record<string, unknown>, theirs: Record<string, unknown>, onConflict?: (path: Path, base: unknown, mine: unknown, theirs: unknown) => unknown): MergeResult {
  const out: Record<string, unknown> = { ...theirs };
  const conflicts: MergeConflict[] = [];
  for (const k of new Set([...Object.keys(base), ...Object.keys(mine)])) {
    if (JSON.stringify(base[k]) === JSON.stringify(mine[k])) continue;
    if (JSON.stringify(base[k]) !== JSON.stringify(theirs[k]) && JSON.stringify(mine[k]) !== JSON.stringify(theirs[k])) {
      const resolved = onConflict ? onConflict([k], base[k], mine[k], theirs[k]) : mine[k];
      conflicts.push({ path: [k], base: base[k], mine: mine[k], theirs: theirs[k], resolved });
      out[k] = resolved;
    } else if (k in mine) out[k] = mine[k];
    else delete out[k];
  }
  return { value: out, conflicts };
}
