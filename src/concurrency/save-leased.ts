import { StoreUnavailableError } from '../errors.js';
import type { Base, ItemWrite } from '../core/item-write.js';
import { openItem } from '../core/open-item.js';
import { idTag } from '../core/session-id.js';
import type { RequestContext } from '../core/store-context.js';
import { foldIn } from './fold-in.js';
import type { Lease } from './lease-lock.js';
import type { SaveResult } from './save-outcome.js';
import { saveVersioned } from './save-versioned.js';

/**
 * A save under this request's lease (`pessimistic`, and `auto` for unsafe
 * methods): conditional on still owning the lease and on the version loaded,
 * and giving the lease back in the same write. A request of an unlocked route
 * (a safe method) may have saved meanwhile: its change is folded in and the
 * write tried again, still fenced. A lease that ran out and was taken over is
 * no longer this request's: from there on it saves as an unlocked request does,
 * merging instead of overwriting.
 */
export async function saveLeased(ctx: RequestContext, write: ItemWrite, base: Base, lease: Lease): Promise<SaveResult> {
  let merged = false;
  for (let attempt = 1; ; attempt++) {
    const result = await write.attempt('lockOwner = :owner AND version = :v', base.version, { owner: lease.owner });
    if (result.kind === 'stored') return { outcome: merged ? 'merged' : 'written', version: result.version ?? base.version + 1, json: write.json };
    if (result.kind === 'own') return { outcome: merged ? 'merged' : 'written', version: base.version + 1, json: write.json };
    if (result.kind === 'gone') return { outcome: 'destroyed', version: base.version, json: base.json };
    if (result.old.lockOwner?.S !== lease.owner) {
      ctx.logger.warn({ table: ctx.config.table, session: idTag(write.id) }, 'the lock lease ran out before the request ended: merging its changes instead of overwriting');
      lease.lost = true;
      return saveVersioned(ctx, write, base, { attempt: attempt + 1, merged });
    }
    if (attempt >= ctx.config.maxSaveAttempts) {
      throw new StoreUnavailableError(`session ${idTag(write.id)} in table "${ctx.config.table}": ${attempt} save attempts all met a newer version: the change was not saved; retry the request`);
    }
    if (result.old.version?.N === String(base.version)) continue;
    const theirs = await openItem(ctx, write.id, result.old);
    if (!theirs) {
      ctx.statsData.destroyedWhileInUse += 1;
      return { outcome: 'destroyed', version: base.version, json: base.json };
    }
    // Written even when nothing of this request's is left: the write gives the lease back.
    base = foldIn(ctx, write, base, theirs.handle, theirs.data).base;
    merged = true;
    ctx.statsData.retries += 1;
  }
}
