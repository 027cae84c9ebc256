import { TransactWriteItemsCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { EngineFeatureError, SessionLimitError, StoreUnavailableError } from '../errors.js';
import { isTransactionCanceled, sdkAttempts } from '../aws/errors.js';
import { CREATING, type Base, type Guard, type ItemWrite } from './item-write.js';
import type { Item } from './item.js';
import { openItem } from './open-item.js';
import { idTag } from './session-id.js';
import type { RequestContext } from './store-context.js';
import type { DestroyedEvent } from './events.js';
import { isUnsupportedOperation } from '../aws/errors.js';
import type { Lease } from './lease-lock.js';
import { foldIn, type SaveResult } from './save-loop.js';
import { saveWithUserLimitStrong } from './user-limit-strong.js';
import { liveOf, readSlots, userSlotsKey } from './user-slots.js';

/**
 * A login under `maxSessionsPerUser`: the save that makes `userId` the
 * session's owner. One DynamoDB transaction writes the session, records it in
 * the user's slots item (conditional on the version read, so two logins on
 * two servers cannot both take the last slot), and, past the limit, deletes the
 * user's oldest live session (conditional on it still being the user's). A
 * transaction that meets a concurrent login is read again and retried: no
 * overrun, and no session ended twice. With `onSessionLimit: 'refuse'` a login
 * past the limit is a SessionLimitError instead, nothing written. The session's
 * own condition is the locking mode's, and a newer version of it is merged as
 * in any save. Costs, per login: a strongly consistent GetItem of the slots
 * item, a BatchGetItem of the recorded sessions once at the limit, and a
 * transaction (twice the write units of its three writes).
 */
export async function saveWithUserLimit(ctx: RequestContext, write: ItemWrite, base: Base, lease: Lease | undefined, userId: string): Promise<SaveResult> {
  if (ctx.gateway.engine.multiRegionStrong) return saveWithUserLimitStrong(ctx, write, base, lease, userId);
  const limit = ctx.config.maxSessionsPerUser!;
  let merged = false;
  for (let attempt = 1; ; attempt++) {
    if (attempt > ctx.config.maxSaveAttempts) {
      throw new StoreUnavailableError(
        `login of session ${idTag(write.id)} in table "${ctx.config.table}": ` +
          `${attempt - 1} attempts all met a concurrent login of the same user: retry the request`,
      );
    }
    const slots = await readSlots(ctx, userId);
    const others = [...slots.sessions.keys()].filter((k) => k !== write.key);
    const recorded = new Map(slots.sessions);
    recorded.delete(write.key);
    const evicted: string[] = [];
    if (others.length >= limit) {
      const live = await liveOf(ctx, userId, others);
      for (const key of others) if (!live.has(key)) recorded.delete(key);
      const oldestFirst = [...live].sort((a, b) => (recorded.get(a) ?? 0) - (recorded.get(b) ?? 0));
      while (oldestFirst.length >= limit) {
        if (ctx.config.onSessionLimit === 'refuse') {
          throw new SessionLimitError(
            `user ${idTag(userId)} has ${oldestFirst.length} live sessions, the limit (maxSessionsPerUser ${limit}): ` +
              'this login was refused and nothing was written; ' +
              "end one of them (store.listUserSessions, store.revokeSession) or set onSessionLimit: 'evict-oldest'",
            limit,
          );
        }
        const oldest = oldestFirst.shift()!;
        evicted.push(oldest);
        recorded.delete(oldest);
      }
    }
    recorded.set(write.key, Date.now());
    const owner = lease && !lease.lost ? lease.owner : undefined;
    const guard: Guard = base.version === 0 ? CREATING : { on: 'version', ...(owner ? { owner } : {}) };
    const sessions: Record<string, AttributeValue> = {};
    for (const [key, created] of recorded) sessions[key] = { N: String(created) };
    const items = [
      {
        Update: {
          TableName: ctx.config.table,
          Key: { sessionId: { S: userSlotsKey(userId) } },
          UpdateExpression: 'SET sessions = :sessions, version = :nv, expiresAt = :zero',
          ConditionExpression: slots.version === 0 ? 'attribute_not_exists(sessionId)' : 'version = :v',
          ExpressionAttributeValues: {
            ':sessions': { M: sessions },
            ':nv': { N: String(slots.version + 1) },
            ':zero': { N: '0' },
            ...(slots.version === 0 ? {} : { ':v': { N: String(slots.version) } }),
          },
        },
      },
      ...evicted.map((key) => ({
        Delete: {
          TableName: ctx.config.table,
          Key: { sessionId: { S: key } },
          ConditionExpression: 'userId = :u',
          ExpressionAttributeValues: { ':u': { S: userId } },
        },
      })),
      // The session's own entries, its head last (a large session's chunks before it: core/chunks.ts).
      ...write.transactEntries(guard, base.version),
    ];
    try {
      // Applied once however often the SDK sends it (its answer lost): the token is this attempt's write id.
      await ctx.gateway.send('TransactWriteItems', new TransactWriteItemsCommand({ TransactItems: items, ClientRequestToken: write.writeId }), {
        expectConditionFailure: true,
      });
    } catch (err) {
      if (err instanceof StoreUnavailableError) {
        // No answer on any attempt: the session's head says whether the transaction landed (all of it did, or none).
        await write.settle(err, base.version);
        return landed(ctx, write, base, evicted, userId, merged);
      }
      if (isUnsupportedOperation(err)) {
        throw new EngineFeatureError(
          `maxSessionsPerUser needs DynamoDB transactions (TransactWriteItems), which ${ctx.gateway.engine.name ?? 'this engine'} does not implement: ` +
            'drop the option on this engine, or use DynamoDB or DynamoDB Local; on an MRSC global table, drop skipTableCheck (then logins need none)',
          { cause: err },
        );
      }
      if (!isTransactionCanceled(err)) throw err;
      const reasons = err.CancellationReasons ?? [];
      const mine = reasons[reasons.length - 1];
      if (mine?.Code !== 'ConditionalCheckFailed') continue; // the user's slots or an eviction met a concurrent login: read again
      const result = write.failed(mine.Item as Item | undefined, base.version, sdkAttempts(err));
      if (result.kind === 'gone') return { outcome: 'destroyed', version: base.version, json: base.json };
      if (result.kind === 'own') return landed(ctx, write, base, evicted, userId, merged);
      if (result.kind !== 'newer') continue;
      if (owner && result.old.lockOwner?.S !== owner) {
        lease!.lost = true;
        continue;
      }
      const theirs = await openItem(ctx, write.id, result.old);
      if (!theirs) {
        ctx.statsData.destroyedWhileInUse += 1;
        return { outcome: 'destroyed', version: base.version, json: base.json };
      }
      base = foldIn(ctx, write, base, theirs.handle, theirs.data).base;
      merged = true;
      continue;
    }
    write.landed(base.version);
    return landed(ctx, write, base, evicted, userId, merged);
  }
}

/** The login's transaction landed (answered, or found by its retry): the sessions it evicted are announced. */
function landed(ctx: RequestContext, write: ItemWrite, base: Base, evicted: string[], userId: string, merged: boolean): SaveResult {
  for (const key of evicted) ctx.emit('destroyed', { key, session: idTag(key), userId, reason: 'limit' } satisfies DestroyedEvent);
  return { outcome: merged ? 'merged' : 'written', version: base.version + 1, json: write.json };
}
