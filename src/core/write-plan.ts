/**
 * What a write of a session item (item-write.ts) is held to: the guard on the
 * stored item, as the condition expression it sends, and the size limit; and
 * the plan of one attempt (the chunks it puts, the chunk attributes it clears).
 */
import type { AttributeValue, TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { SessionTooLargeError } from '../errors.js';
import { chunkItem, storedSize } from './chunks.js';
import { idTag } from './session-id.js';
import type { RequestContext } from './store-context.js';
import { usedValues } from './update-item.js';

/**
 * What a write requires of the stored item, typed rather than spelled as a
 * condition string for the write to parse back:
 * - `absent`: no item under the key (a session's first write), or with
 *   `orExpired` one past its expiry (a copy from another store);
 * - `version`: the version the request built on (`base`), unexpired; with
 *   `owner`, still under that lease instead;
 * - `live`: any unexpired version (last writer wins), under `owner`'s lease
 *   when given.
 */
export type Guard = { on: 'absent'; orExpired?: boolean } | { on: 'version'; owner?: string } | { on: 'live'; owner?: string };

/** A session's first write: the id must be free (nobody can know it yet, unless its cookie left early). */
export const CREATING: Guard = { on: 'absent' };

/** The condition expression of `guard` (its values: `:v`, `:nowSec`, `:owner`). */
function conditionOf(guard: Guard): string {
  switch (guard.on) {
    case 'absent':
      return guard.orExpired ? 'attribute_not_exists(sessionId) OR expiresAt < :nowSec' : 'attribute_not_exists(sessionId)';
    case 'version':
      return guard.owner === undefined ? 'version = :v AND expiresAt > :nowSec' : 'lockOwner = :owner AND version = :v';
    case 'live':
      return guard.owner === undefined ? 'expiresAt > :nowSec' : 'expiresAt > :nowSec AND lockOwner = :owner';
  }
}

/** The lease a write under `guard` is fenced by, and gives back. */
export const ownerOf = (guard: Guard): { owner?: string } => (guard.on !== 'absent' && guard.owner !== undefined ? { owner: guard.owner } : {});

/**
 * Refuses, with nothing written, a session that would take more than
 * `maxSessionBytes` in the table (all its items: past DynamoDB's 400 KB item
 * limit it is a head and chunks, chunks.ts).
 */
export function guardSize(ctx: RequestContext, id: string, key: string, dataBytes: number, userId: string | null | undefined): void {
  const size = storedSize(key, dataBytes, userId ?? undefined);
  const limit = ctx.config.maxSessionBytes;
  if (size > limit) {
    throw new SessionTooLargeError(
      `session ${idTag(id)} would take ${size} bytes in table "${ctx.config.table}" ` +
        `(its items, as stored${ctx.config.compression ? ' compressed' : ''}), over maxSessionBytes (${limit}): ` +
        'nothing was written and the stored session is unchanged; ' +
        `keep large data elsewhere (e.g. S3) and store a reference${ctx.config.compression ? '' : ', or enable compression'}` +
        `${limit < 4 * 1024 * 1024 ? ', or raise maxSessionBytes (4194304 at most)' : ''}`,
      size,
      limit,
    );
  }
}

/** How one attempt writes: the condition it sends, the chunks it puts (none: the frame fits the item). */
export interface Plan {
  condition: string;
  parts: Buffer[] | undefined;
  /** The stored version has (or may have) chunk attributes: a write of one item removes them. */
  clear: boolean;
  /** The condition names the exact version replaced (or no item at all): the write ids below it are known. */
  pinned: boolean;
}

/** A transaction's items, the session's head last (where a caller that adds items of its own finds its cancellation reason). */
export type Entries = TransactWriteItem[];

/**
 * The stored item has no chunks, in either layout (chunks.ts). Not
 * `attribute_not_exists(chunks)`: a `chunks` of 0 (or of another type), which
 * reads as none, would then fail the condition on every attempt.
 */
export const NO_CHUNKS = 'NOT chunks > :zero AND #data <> :chunked';

/** Head attributes of chunks, either layout: what a write of one item over a chunked head removes. */
export const CHUNK_ATTRIBUTES = ['chunks', 'chunkItems', 'chunkBytes', 'chunksExpireAt'];

/**
 * How to write on `condition`. A write of one item over a version known to
 * have chunks removes their attributes; over one not known, it adds a
 * clause that the stored one has none (a failure tells it, and the
 * strategy's retry removes them). Chunks the stored version had are left
 * to expire (chunks.ts).
 */
export function planOf(guard: Guard, base: number, parts: Buffer[] | undefined, stored: { version: number; chunks: number } | undefined): Plan {
  const creating = guard.on === 'absent';
  const pinned = creating || guard.on === 'version';
  const known = creating ? 0 : guard.on === 'version' && stored?.version === base ? stored.chunks : undefined;
  const had = known ?? stored?.chunks ?? 0;
  const condition = conditionOf(guard);
  return { condition: !parts && known === undefined && had === 0 ? `(${condition}) AND ${NO_CHUNKS}` : condition, parts, clear: !parts && had > 0, pinned };
}

/** The login transaction's entries (save-user-limit.ts): this write's chunks, then its head. */
export function transactItems(
  table: string,
  key: string,
  writeId: string,
  plan: Plan,
  expression: string,
  values: Record<string, AttributeValue>,
): Entries {
  const puts: Entries = (plan.parts ?? []).map((part, i) => ({
    Put: { TableName: table, Item: chunkItem(key, writeId, i + 1, part, values[':chunksExp']!) },
  }));
  const head: Entries[number] = {
    Update: {
      TableName: table,
      Key: { sessionId: { S: key } },
      UpdateExpression: expression,
      ConditionExpression: plan.condition,
      ExpressionAttributeNames: { '#data': 'data' },
      ExpressionAttributeValues: usedValues(values, expression, plan.condition),
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    },
  };
  return [...puts, head];
}
