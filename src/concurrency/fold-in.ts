import type { Base, ItemWrite } from '../core/item-write.js';
import type { SessionData } from '../core/session-handle.js';
import { idTag } from '../core/session-id.js';
import type { RequestContext } from '../core/store-context.js';
import { noteMerge } from '../core/telemetry.js';
import { mergeSessions } from './merge.js';

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
