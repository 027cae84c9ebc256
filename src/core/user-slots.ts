/**
 * The item that keeps count of a user's sessions under `maxSessionsPerUser`,
 * read by both ways of saving a login (save-user-limit.ts with a transaction,
 * user-limit-strong.ts without one), and which of its sessions are still live.
 */
import { BatchGetItemCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { isExpired, type Item } from './item.js';
import { pastLifetime } from './lifecycle.js';
import type { RequestContext } from './store-context.js';

/** The item that keeps count of a user's sessions. `expiresAt` 0: it never reads as a session, and TTL leaves it alone. */
export const userSlotsKey = (userId: string): string => `dynamodb-session-manager:user:${userId}`;

interface Slots {
  version: number;
  /** Table key → creation time (epoch ms) of each session the user holds. */
  sessions: Map<string, number>;
}

export async function readSlots(ctx: RequestContext, userId: string): Promise<Slots> {
  const out = await ctx.gateway.send<{ Item?: Item }>(
    'GetItem',
    new GetItemCommand({ TableName: ctx.config.table, Key: { sessionId: { S: userSlotsKey(userId) } }, ConsistentRead: true }),
  );
  const sessions = new Map<string, number>();
  for (const [key, value] of Object.entries(out.Item?.sessions?.M ?? {})) sessions.set(key, Number(value.N ?? 0));
  return { version: Number(out.Item?.version?.N ?? 0), sessions };
}

/** Of the user's recorded sessions, those still live and still the user's (one strongly consistent read each, batched). */
export async function liveOf(ctx: RequestContext, userId: string, keys: string[]): Promise<Set<string>> {
  const live = new Set<string>();
  if (keys.length === 0) return live;
  const out = await ctx.gateway.send<{ Responses?: Record<string, Item[]> }>(
    'BatchGetItem',
    new BatchGetItemCommand({
      RequestItems: {
        [ctx.config.table]: {
          Keys: keys.map((k) => ({ sessionId: { S: k } })),
          ConsistentRead: true,
          ProjectionExpression: 'sessionId, userId, expiresAt, expiresAtMs, createdAt',
        },
      },
    }),
  );
  for (const item of out.Responses?.[ctx.config.table] ?? []) {
    if (item.userId?.S === userId && !isExpired(item) && !pastLifetime(ctx.config, item)) live.add(item.sessionId!.S!);
  }
  return live;
}
