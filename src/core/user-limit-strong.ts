/**
 * `maxSessionsPerUser` without a transaction, for a global table in MRSC,
 * which refuses TransactWriteItems. MRSC checks a condition against the
 * latest write in every Region, so one conditional write on the user's slots
 * item is as good a referee as the transaction was:
 *
 * 1. the login reserves its slot: the slots item is rewritten, conditional on
 *    the version read, with this session in and the evicted ones out, so two
 *    logins on two servers (or Regions) cannot both take the last slot;
 * 2. the evicted sessions are deleted, each conditional on still being the user's;
 * 3. the session is saved as any save of its locking mode is.
 *
 * A slot reserved by a login whose save has not landed yet still counts (for
 * PENDING_MS), so a concurrent login cannot take it; a login that died between
 * 1 and 3 holds it no longer than that. Evicting before saving means a crash
 * between them leaves the user one session short, never one over the limit.
 * Costs, per login: a strongly consistent GetItem of the slots, a BatchGetItem
 * of the recorded sessions once at the limit, an UpdateItem of the slots, one
 * DeleteItem per eviction, and the save: no transaction's doubled write units.
 */
import { UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { SessionLimitError, StoreUnavailableError } from '../errors.js';
import type { Base, ItemWrite } from './item-write.js';
import { idTag } from './session-id.js';
import type { RequestContext } from './store-context.js';
import type { DestroyedEvent } from './events.js';
import { deleteIf, dropChunks } from './chunks.js';
import { liveOf, readSlots, userSlotsKey } from './user-slots.js';
import type { Lease } from './lease-lock.js';
import { saveLoaded, type SaveResult } from './save-loop.js';

/** How long a reserved slot whose session is not stored yet counts as taken: far longer than a login's save. */
export const PENDING_MS = 10_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function saveWithUserLimitStrong(
  ctx: RequestContext,
  write: ItemWrite,
  base: Base,
  lease: Lease | undefined,
  userId: string,
): Promise<SaveResult> {
  const evicted = await reserveSlot(ctx, write, userId);
  for (const key of evicted) await evict(ctx, key, userId);
  const result = await saveLoaded(ctx, write, base, lease, 'merge');
  for (const key of evicted) ctx.emit('destroyed', { key, session: idTag(key), userId, reason: 'limit' } satisfies DestroyedEvent);
  return result;
}

/** Step 2: deletes a session, its chunks after it, if it is still the user's (a session logged out and in as another is not). */
async function evict(ctx: RequestContext, key: string, userId: string): Promise<void> {
  const out = await deleteIf(ctx, key, 'userId = :u', { ':u': { S: userId } }, true);
  if (out) await dropChunks(ctx, out.Attributes);
}

/** Step 1: the slots item rewritten with this session in; returns the sessions it pushed out. */
async function reserveSlot(ctx: RequestContext, write: ItemWrite, userId: string): Promise<string[]> {
  const limit = ctx.config.maxSessionsPerUser!;
  for (let attempt = 1; attempt <= ctx.config.maxSaveAttempts; attempt++) {
    const slots = await readSlots(ctx, userId);
    const recorded = new Map(slots.sessions);
    recorded.delete(write.key);
    const evicted: string[] = [];
    let waitForPending = false;
    if (recorded.size >= limit) {
      const live = await liveOf(ctx, userId, [...recorded.keys()]);
      const now = Date.now();
      for (const [key, reserved] of recorded) if (!live.has(key) && now - reserved > PENDING_MS) recorded.delete(key);
      const oldestFirst = [...recorded.keys()].sort((a, b) => recorded.get(a)! - recorded.get(b)!);
      while (oldestFirst.length >= limit) {
        if (ctx.config.onSessionLimit === 'refuse') {
          throw new SessionLimitError(
            `user ${idTag(userId)} has ${oldestFirst.length} live sessions, the limit (maxSessionsPerUser ${limit}): ` +
              'this login was refused and nothing was written',
            limit,
          );
        }
        const oldest = oldestFirst.shift()!;
        // Another login's slot, its session not stored yet: deleting would find nothing, and it would land after.
        if (!live.has(oldest)) {
          waitForPending = true;
          break;
        }
        evicted.push(oldest);
        recorded.delete(oldest);
      }
    }
    if (waitForPending) {
      await sleep(20 + Math.random() * 30);
      continue;
    }
    recorded.set(write.key, Date.now());
    if (await writeSlots(ctx, userId, slots.version, recorded)) return evicted;
  }
  throw new StoreUnavailableError(
    `login of session ${idTag(write.id)} in table "${ctx.config.table}": every attempt met a concurrent login of the same user: retry the request`,
  );
}

/** The slots item at version + 1, if it is still at `version`; false when a concurrent login changed it first. */
async function writeSlots(ctx: RequestContext, userId: string, version: number, recorded: Map<string, number>): Promise<boolean> {
  const sessions: Record<string, AttributeValue> = {};
  for (const [key, created] of recorded) sessions[key] = { N: String(created) };
  const written = await ctx.gateway.sendIf(
    'UpdateItem',
    new UpdateItemCommand({
      TableName: ctx.config.table,
      Key: { sessionId: { S: userSlotsKey(userId) } },
      UpdateExpression: 'SET sessions = :sessions, version = :nv, expiresAt = :zero',
      ConditionExpression: version === 0 ? 'attribute_not_exists(sessionId)' : 'version = :v',
      ExpressionAttributeValues: {
        ':sessions': { M: sessions },
        ':nv': { N: String(version + 1) },
        ':zero': { N: '0' },
        ...(version === 0 ? {} : { ':v': { N: String(version) } }),
      },
    }),
  );
  return written !== undefined;
}
