import { StoreUnavailableError } from '../errors.js';
import type { Base, ItemWrite } from '../core/item-write.js';
import { openItem } from '../core/open-item.js';
import { idTag } from '../core/session-id.js';
import type { RequestContext } from '../core/store-context.js';
import { foldIn } from './fold-in.js';
import type { SaveResult } from './save-outcome.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The condition of a session's first write: the id must be free (nobody can know it yet, unless its cookie left early). */
export const CREATING = 'attribute_not_exists(sessionId)';

/**
 * An unlocked save (`optimistic`, and `auto` for safe methods): one UpdateItem
 * conditional on the version this request loaded. If another request wrote
 * since, what it stored (returned by the failed condition, or read: engines
 * differ) is folded in three-way and the write tried again on its version; a
 * destroyed or expired session stays so. After `maxSaveAttempts` it gives up
 * with a StoreUnavailableError: nothing of this request is stored.
 */
export async function saveVersioned(
  ctx: RequestContext,
  write: ItemWrite,
  base: Base,
  /** Where a leased save that lost its lease hands over: its attempts so far, and whether it merged already. */
  from: { attempt: number; merged: boolean } = { attempt: 1, merged: false },
): Promise<SaveResult> {
  let merged = from.merged;
  // A later save of this session by this process has landed since this request loaded: start from it.
  const known = ctx.latest.get(write.key);
  if (known && known.version > base.version) {
    const folded = foldIn(ctx, write, base, known, ctx.codec.parse(known.json));
    base = folded.base;
    // Its write ids too: the next write's list then still reaches back (write-history.ts).
    write.buildsOn(known.version, known.writeIds);
    merged = true;
    if (!folded.changed) return { outcome: 'merged', version: base.version, json: base.json };
  }
  for (let attempt = from.attempt; ; attempt++) {
    const result = await write.attempt(base.version === 0 ? CREATING : 'version = :v AND expiresAt > :nowSec', base.version);
    if (result.kind === 'stored') return { outcome: merged ? 'merged' : 'written', version: result.version ?? base.version + 1, json: write.json };
    if (result.kind === 'own') return { outcome: merged ? 'merged' : 'written', version: base.version + 1, json: write.json };
    if (result.kind === 'gone') return { outcome: 'destroyed', version: base.version, json: base.json };
    if (attempt >= ctx.config.maxSaveAttempts) {
      throw new StoreUnavailableError(
        `session ${idTag(write.id)} in table "${ctx.config.table}": ${attempt} save attempts all met a newer version: the change was not saved; retry the request, or lock this route (the \`lock\` option, or locking: 'pessimistic')`,
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
    if (!folded.changed) return { outcome: 'merged', version: base.version, json: base.json };
    ctx.statsData.retries += 1;
    // Back off only once contention persists: the first retry already holds the newest version.
    if (attempt > 1) await sleep(Math.random() * Math.min(100, 4 * 2 ** attempt));
  }
}
