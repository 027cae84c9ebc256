import { isConditionalFailure } from '../aws/errors.js';
import { itemBytesBesideData } from './item.js';
import type { RequestContext } from './store-context.js';
import { updateItem } from './update-item.js';
import { nextWriteId, writeIdsOf, writeIdsValue } from './write-history.js';

/**
 * Writes again, bound to its item's key (codec/format.ts), a session whose
 * encrypted frame an older release sealed with the header alone as additional
 * data: such a frame would open in any item it was copied to. One conditional
 * UpdateItem, once per such session, on the version read: a save that came
 * first wins and has bound it already. Resolves to the new version and writeId,
 * or undefined when another write came first. A session in chunks is bound
 * at its next change instead (a rewrite there puts all its chunks).
 */
export async function rebindFrame(
  ctx: RequestContext,
  key: string,
  version: number,
  json: string,
  userId: string | undefined,
  /** The write ids the item vouches for at `version` (write-history.ts). */
  below: string[],
): Promise<{ version: number; writeIds: string[] } | undefined> {
  const bytes = ctx.codec.frame(json, itemBytesBesideData(key, userId), key);
  const writeId = nextWriteId();
  const writeIds = writeIdsValue(writeId, below);
  try {
    // Not activity: the expiry and updatedAt stay as they are.
    await updateItem(ctx, key, 'SET #data = :data, version = :nv, writeId = :wid, writeIds = :wids', 'version = :v', {
      ':data': { B: bytes },
      ':nv': { N: String(version + 1) },
      ':v': { N: String(version) },
      ':wid': { S: writeId },
      ':wids': writeIds,
    });
  } catch (err) {
    if (!isConditionalFailure(err)) throw err;
    const found = await ctx.gateway.itemAfterConditionFailure(err, key);
    // The SDK sent it again after a lost answer: the first attempt landed.
    if (!writeIdsOf(found).includes(writeId)) return undefined;
  }
  ctx.decoded.set(key, writeId, json);
  return { version: version + 1, writeIds: writeIds.L!.map((v) => v.S!) };
}
