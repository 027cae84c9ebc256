import { randomUUID } from 'node:crypto';
import { UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { ConfigError } from '../errors.js';
import { isConditionalFailure } from '../aws/errors.js';
import { purgeExpired, REAPER_KEY, type PurgeProgress } from './purge.js';
import type { StoreContext } from './store-context.js';

export interface ReaperOptions {
  /** How often to try to purge, in ms. */
  intervalMs: number;
  /** Parallel Scan segments of each purge. Default 1: a background job should not compete with requests. */
  segments?: number;
  /** Called after every tick, for logs and tests. */
  onTick?: (tick: ReaperTick) => void;
}

export interface ReaperTick {
  /** Whether this process held the reaper lease and purged. */
  leader: boolean;
  result?: PurgeProgress;
  error?: Error;
}

export interface Reaper {
  /** Stops the timer and gives the lease back, so another process can take over at once. */
  stop(): Promise<void>;
}

/**
 * Purges expired sessions every `intervalMs`, for engines without TTL. Any
 * number of servers may run one on the same table: each tick they race for a
 * lease on one item, and only its holder scans, so the table is scanned once
 * per interval, not once per server. The holder renews the lease on its next
 * tick and so stays the reaper; if it dies, another takes over once the lease
 * (1.5 intervals) runs out. Errors are logged, never thrown.
 */
export function startReaper(store: StoreContext, options: ReaperOptions): Reaper {
  const intervalMs = options.intervalMs;
  if (!Number.isInteger(intervalMs) || intervalMs < 100) {
    throw new ConfigError(`reaper option "intervalMs" must be an integer of at least 100 ms (got ${String(intervalMs)})`);
  }
  const owner = randomUUID();
  // Longer than the interval, so the holder's next tick renews it before a rival's tick can find it free.
  const leaseMs = Math.floor(intervalMs * 1.5);
  const table = store.config.table;
  let running = false;
  let stopped = false;
  let held = false;

  /** One conditional UpdateItem of the reaper's lease item. */
  const leaseWrite = (expression: string, condition: string, values: Record<string, AttributeValue>) =>
    store.gateway.send(
      'UpdateItem',
      new UpdateItemCommand({
        TableName: table,
        Key: { sessionId: { S: REAPER_KEY } },
        UpdateExpression: expression,
        ConditionExpression: condition,
        ExpressionAttributeValues: { ':owner': { S: owner }, ...values },
      }),
      { expectConditionFailure: true },
    );

  const takeLease = async (): Promise<boolean> => {
    const now = Date.now();
    try {
      // expiresAt 0: reads as expired to every session read (ids, length, all), and is
      // too old for DynamoDB TTL to act on, so the item never shows up as a session.
      await leaseWrite(
        'SET lockOwner = :owner, lockExpiresAt = :until, expiresAt = :zero',
        'attribute_not_exists(lockOwner) OR lockOwner = :owner OR lockExpiresAt < :now',
        {
          ':until': { N: String(now + leaseMs) },
          ':now': { N: String(now) },
          ':zero': { N: '0' },
        },
      );
      return true;
    } catch (err) {
      if (isConditionalFailure(err)) return false;
      throw err;
    }
  };

  const tick = async (): Promise<void> => {
    // A purge longer than the interval: skip rather than stack scans.
    if (running || stopped) return;
    running = true;
    let report: ReaperTick = { leader: false };
    try {
      held = await takeLease();
      if (held && !stopped) {
        const result = await purgeExpired(store, { segments: options.segments ?? 1, source: 'reaper' });
        report = { leader: true, result };
        if (result.deleted > 0) store.logger.info?.({ table, ...result }, 'reaper deleted expired sessions');
      }
    } catch (err) {
      report = { leader: held, error: err as Error };
      store.logger.warn(
        { table, code: (err as { code?: string }).code, reason: (err as Error).message },
        'the session reaper failed this round; it tries again next interval (expired sessions still read as absent)',
      );
    } finally {
      running = false;
    }
    try {
      options.onTick?.(report);
    } catch {
      // A listener's bug must not stop the reaper.
    }
  };

  const timer = setInterval(() => void tick(), intervalMs);
  timer.unref();

  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      if (!held) return;
      held = false;
      try {
        await leaseWrite('REMOVE lockOwner, lockExpiresAt', 'lockOwner = :owner', {});
      } catch (err) {
        // Lost already, or DynamoDB is away: the lease runs out by itself.
        if (!isConditionalFailure(err)) {
          store.logger.warn({ table, reason: (err as Error).message }, 'the reaper could not give back its lease; it expires by itself');
        }
      }
    },
  };
}
