/**
 * How a conditional attempt of an ItemWrite (item-write.ts) ended, and the
 * reads that settle one whose answer was lost.
 */
import { SaveOutcomeUnknownError, StoreUnavailableError } from '../errors.js';
import { neverSent, sdkAttempts } from '../aws/errors.js';
import type { Item } from './item.js';
import { idTag } from './session-id.js';
import type { RequestContext } from './store-context.js';

/**
 * A write whose answer never came, nor its own result on a read afterwards:
 * the reads went unanswered too, or later writes have pushed it out of the
 * item's list of write ids (write-history.ts). Whether it landed cannot be
 * known, so nothing may be merged on top of it, nor reported as saved.
 */
export function unknownOutcome(ctx: RequestContext, id: string, why: string, cause?: unknown): SaveOutcomeUnknownError {
  return new SaveOutcomeUnknownError(
    `session ${idTag(id)} in table "${ctx.config.table}": a save's answer was lost and ${why}, so whether it landed is unknown: ` +
      'it is reported as failed, and it may have been applied; retrying a request that is not idempotent may apply it twice',
    { cause },
  );
}

/** How one conditional attempt ended. */
export type Attempt =
  | { kind: 'stored'; version: number | undefined }
  /** The session was destroyed (or expired) meanwhile: nothing written, and nothing may be. */
  | { kind: 'gone' }
  /** An earlier attempt of this write landed, its answer was lost, and the SDK sent it again. */
  | { kind: 'own' }
  /** Another request's write is stored: `old` is the item as it is now. */
  | { kind: 'newer'; old: Item };

/**
 * The item as it is now, read to settle `err`. Throws `err` itself when it
 * is no outage, or shows that nothing was sent; when the reads fail too, a
 * SaveOutcomeUnknownError.
 */
export async function readAfter(ctx: RequestContext, id: string, key: string, err: unknown): Promise<Item | undefined> {
  if (!(err instanceof StoreUnavailableError)) throw err;
  ctx.statsData.outcomesSettled += 1;
  try {
    return await ctx.gateway.readStrong(key);
  } catch (readErr) {
    if (neverSent(err.cause)) throw err;
    throw unknownOutcome(ctx, id, 'the reads that would tell went unanswered too', readErr);
  }
}

/** The item a failed condition found; when the SDK sent the write more than once and the read fails, the outcome is unknown. */
export async function foundAfter(ctx: RequestContext, id: string, key: string, err: unknown): Promise<Item | undefined> {
  try {
    return await ctx.gateway.itemAfterConditionFailure(err, key);
  } catch (readErr) {
    if (sdkAttempts(err) > 1 && readErr instanceof StoreUnavailableError) {
      throw unknownOutcome(ctx, id, 'the read that would tell went unanswered', readErr);
    }
    throw readErr;
  }
}
