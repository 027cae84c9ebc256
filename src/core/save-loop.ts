/**
 * The save of a session a request loaded: one loop for every locking mode.
 * Each turn is one conditional write (item-write.ts) under a guard the mode
 * chooses, and ends `stored`, `own` (an earlier send of it landed, its answer
 * lost), `gone` (destroyed or expired meanwhile: nothing written, nor may be)
 * or `newer`: another request wrote first, and the mode says what follows.
 * - `merge` (`optimistic`, and `auto` for safe methods): the newer version is
 *   folded in three-way and the write tried again on it; after
 *   `maxSaveAttempts` turns the request fails with nothing of it stored.
 * - `merge` under a lease (`pessimistic`, and `auto` for unsafe methods): the
 *   same, fenced by the lease and giving it back in the same write; a lease
 *   that ran out and was taken over is no longer this request's, and from
 *   there on it merges as an unleased save does.
 * - `last-writer` (`locking: 'none'`, the Tomcat manager's behaviour): the
 *   only condition is that the session still exists, so a logout sticks; the
 *   version is incremented where it stands.
 */
import { StoreUnavailableError } from '../errors.js';
import { mergeSessions } from './merge.js';
import type { Lease } from './lease-lock.js';
import { CREATING, type Base, type Guard, type ItemWrite } from './item-write.js';
import { openItem } from './open-item.js';
import type { SessionData } from './session-handle.js';
import { idTag } from './session-id.js';
import type { RequestContext } from './store-context.js';
import { noteMerge } from './telemetry.js';

/**
 * How a save ended: `written` (this request's data stored), `merged` (stored
 * after folding in another request's newer write, or found already contained
 * in it: `version` is then the stored one), `destroyed` (the session was gone,
 * nothing written). `json` is what the item holds afterwards.
 */
export interface SaveResult {
  outcome: 'written' | 'merged' | 'destroyed';
  version: number;
  json: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Saves `write`, built on `base`, as `mode` says; `lease` is the request's, if it holds one. */
export async function saveLoaded(
  ctx: RequestContext,
  write: ItemWrite,
  base: Base,
  lease: Lease | undefined,
  mode: 'merge' | 'last-writer',
): Promise<SaveResult> {
  let fence = lease && !lease.lost ? lease : undefined;
  let merged = false;
  if (mode === 'merge' && !fence) {
    const known = fromLatest(ctx, write, base);
    if (known) {
      ({ base } = known);
      merged = true;
      if (!known.changed) return { outcome: 'merged', version: base.version, json: base.json };
    }
  }
  for (let attempt = 1; ; attempt++) {
    const guard = guardFor(mode, base, fence, attempt);
    const result = await write.attempt(guard, base.version, { increment: mode === 'last-writer' });
    if (result.kind === 'stored') return { outcome: merged ? 'merged' : 'written', version: result.version ?? base.version + 1, json: write.json };
    if (result.kind === 'own') return { outcome: merged ? 'merged' : 'written', version: base.version + 1, json: write.json };
    if (result.kind === 'gone') return { outcome: 'destroyed', version: base.version, json: base.json };
    if (mode === 'last-writer') {
      // Created meanwhile, or the lease taken over: this writer is still the last one.
      if (fence) fence.lost = true;
      fence = undefined;
      base = { version: Number(result.old.version?.N ?? 0), json: '' };
      continue;
    }
    if (fence && result.old.lockOwner?.S !== fence.owner) {
      ctx.logger.warn(
        { table: ctx.config.table, session: idTag(write.id) },
        'the lock lease ran out before the request ended: merging its changes instead of overwriting',
      );
      fence.lost = true;
      fence = undefined;
      const known = fromLatest(ctx, write, base);
      if (known) {
        ({ base } = known);
        merged = true;
        if (!known.changed) return { outcome: 'merged', version: base.version, json: base.json };
      }
      continue;
    }
    if (attempt >= ctx.config.maxSaveAttempts) {
      throw new StoreUnavailableError(
        `session ${idTag(write.id)} in table "${ctx.config.table}": ${attempt} save attempts all met a newer version: ` +
          `the change was not saved; retry the request${fence ? '' : ", or lock this route (the `lock` option, or locking: 'pessimistic')"}`,
      );
    }
    if (result.old.version?.N === String(base.version)) continue;
    const theirs = await openItem(ctx, write.id, result.old);
    if (!theirs) {
      ctx.statsData.destroyedWhileInUse += 1;
      return { outcome: 'destroyed', version: base.version, json: base.json };
    }
    const folded = foldIn(ctx, write, base, theirs.handle, theirs.data);
    base = folded.base;
    merged = true;
    // A leased save writes even when nothing of its own is left: the write gives the lease back.
    if (!fence && !folded.changed) return { outcome: 'merged', version: base.version, json: base.json };
    ctx.statsData.retries += 1;
    // Back off only once contention persists: the first retry already holds the newest version.
    if (!fence && attempt > 1) await sleep(Math.random() * Math.min(100, 4 * 2 ** attempt));
  }
}

/**
 * What a turn requires of the item: under a lease, that it is still this
 * request's (the item exists: the lease is on it); a first write, that the id
 * is free (a last writer's first turn only: its retries overwrite whatever is
 * there); else the version built on, or for a last writer any live one.
 */
function guardFor(mode: 'merge' | 'last-writer', base: Base, fence: Lease | undefined, attempt: number): Guard {
  const owner = fence ? { owner: fence.owner } : {};
  if (mode === 'last-writer') return base.version === 0 && attempt === 1 ? CREATING : { on: 'live', ...owner };
  if (fence) return { on: 'version', ...owner };
  return base.version === 0 ? CREATING : { on: 'version' };
}

/** A later save of this session by this process has landed since the request loaded: the save starts from it. */
function fromLatest(ctx: RequestContext, write: ItemWrite, base: Base): { base: Base; changed: boolean } | undefined {
  const known = ctx.latest.get(write.key);
  if (!known || known.version <= base.version) return undefined;
  const folded = foldIn(ctx, write, base, known, ctx.codec.parse(known.json));
  // Its write ids too: the next write's list then still reaches back (write-history.ts).
  write.buildsOn(known.version, known.writeIds);
  return folded;
}

/**
 * A save met another request's newer write: folds it into this request's
 * change, three-way (what this request loaded, what it saves, what is stored
 * now; merge.ts), and makes the result what `write` stores. Returns the new
 * base (the stored version) and whether anything of this request's is left to
 * write. True conflicts go to `onConflict`, are counted and emitted.
 */
export function foldIn(ctx: RequestContext, write: ItemWrite, base: Base, theirs: Base, theirsData: SessionData): { base: Base; changed: boolean } {
  ctx.statsData.versionConflicts += 1;
  // A session this request created has no stored base: everything in it is its own change.
  const baseData = base.version === 0 ? {} : ctx.codec.parse(base.json);
  const result = mergeSessions(baseData, ctx.codec.parse(write.json), theirsData, ctx.config.onConflict);
  ctx.statsData.merges += 1;
  ctx.statsData.conflicts += result.conflicts.length;
  noteMerge(ctx.config.table, result.conflicts.length);
  for (const c of result.conflicts) ctx.emit('conflict', { session: idTag(write.id), path: c.path });
  write.replace(ctx.codec.stringify(result.value), theirs.userId);
  return { base: theirs, changed: write.json !== theirs.json };
}
