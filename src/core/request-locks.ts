import { LockTimeoutError } from '../errors.js';
import { isConditionalFailure } from '../aws/errors.js';
import { isExpired } from './item.js';
import { openItem } from './open-item.js';
import { idTag } from './session-id.js';
import type { LoadedSession, SessionHandle } from './session-handle.js';
import type { RequestContext } from './store-context.js';
import { traced } from './telemetry.js';
import { noteLease, noteLockTimeout } from './telemetry-metrics.js';
import { updateItem } from './update-item.js';
import { acquireLease, startRenewal, stopRenewal, type Lease } from './lease-lock.js';
import { KeyedMutex } from './local-queue.js';

/**
 * The pessimistic leases of this process's requests. A locked load first
 * queues behind this process's other requests for the same session (they wait
 * here, not by polling DynamoDB), then takes the lease in DynamoDB with the
 * read (one UpdateItem), and keeps it renewed while the request runs. The
 * request gives both back when it ends: in its final write, or with `release`.
 */
export class RequestLocks {
  private readonly queue = new KeyedMutex();
  /** Handles holding this process's turn on a session key: a destroy must end them. */
  private readonly held = new Map<string, SessionHandle>();

  constructor(private readonly ctx: RequestContext) {}

  /** Sessions queued or holding their turn here, and requests holding a lease: both empty when no request runs. */
  sizes(): { queued: number; held: number } {
    return { queued: this.queue.size, held: this.held.size };
  }

  /** A locked load: null (and nothing held) when the session is missing, expired or corrupt. */
  async load(id: string, key: string): Promise<LoadedSession | null> {
    const { config, gateway, statsData } = this.ctx;
    // One budget, maxLockWaitMs, for both waits: in this process's queue and for another server's lease.
    const started = Date.now();
    let releaseLocal: () => void = () => undefined;
    const { item, lease, expired } = await traced(this.ctx, 'session.lock', 'UpdateItem', { id }, async () => {
      releaseLocal = await this.waitForTurn(key, id, started);
      try {
        return await acquireLease(
          gateway,
          key,
          { table: config.table, leaseMs: config.lockLeaseMs, maxWaitMs: config.maxLockWaitMs, idTag: idTag(id) },
          statsData,
          started,
        );
      } catch (err) {
        releaseLocal();
        throw err;
      }
    });
    try {
      if (!item || !lease) {
        if (expired) this.ctx.ends.report(this.ctx, expired);
        releaseLocal();
        return null;
      }
      // The lease's condition checks the TTL second; the exact expiry may have passed within it.
      if (isExpired(item)) this.ctx.ends.report(this.ctx, item);
      const loaded = isExpired(item) ? null : await openItem(this.ctx, id, item);
      if (!loaded) {
        await this.releaseLease(key, lease);
        releaseLocal();
        return null;
      }
      loaded.handle.lease = lease;
      loaded.handle.releaseLocal = releaseLocal;
      this.held.set(key, loaded.handle);
      noteLease(config.table, 1);
      startRenewal(gateway, key, lease, {
        table: config.table,
        leaseMs: config.lockLeaseMs,
        maxHoldMs: config.maxLockHoldMs,
        onLapse: () =>
          this.ctx.logger.warn(
            { table: config.table, session: idTag(id), maxLockHoldMs: config.maxLockHoldMs },
            'a request held its session\'s lease for maxLockHoldMs: it is no longer renewed, ' +
              'and the session\'s other requests go on (this one\'s save will merge)',
          ),
      });
      return loaded;
    } catch (err) {
      releaseLocal();
      throw err;
    }
  }

  /** Gives back a request's lease in DynamoDB (when it still holds one) and its turn here. */
  async release(handle: SessionHandle): Promise<void> {
    if (handle.settled) return;
    try {
      if (handle.lease && !handle.lease.lost) await this.releaseLease(handle.key, handle.lease);
    } finally {
      this.settle(handle);
    }
  }

  /** Removes the lease from the item, if it is still ours (a condition, so a lease taken over is left alone). */
  async releaseLease(key: string, lease: Lease): Promise<void> {
    stopRenewal(lease);
    try {
      await updateItem(this.ctx, key, 'REMOVE lockOwner, lockExpiresAt', 'lockOwner = :owner', { ':owner': { S: lease.owner } });
    } catch (err) {
      if (!isConditionalFailure(err)) throw err;
    }
  }

  /** The request is done with the session here: no more renewals, the next request of this process may go. */
  settle(handle: SessionHandle): void {
    handle.settled = true;
    if (this.held.get(handle.key) === handle) {
      this.held.delete(handle.key);
      noteLease(this.ctx.config.table, -1);
    }
    if (handle.lease) stopRenewal(handle.lease);
    handle.releaseLocal?.();
    handle.releaseLocal = undefined;
  }

  /** A destroy ended the session: whichever request of this process holds it is done with it. */
  settleHolder(key: string): void {
    const holder = this.held.get(key);
    if (holder) this.settle(holder);
  }

  /** The store is closing. */
  settleAll(): void {
    for (const handle of this.held.values()) this.settle(handle);
  }

  private async waitForTurn(key: string, id: string, started: number): Promise<() => void> {
    const { config, statsData } = this.ctx;
    // A wait is one behind another request of this process, not the event loop's lag on a free turn.
    const behind = !this.queue.idle(key);
    const pending = this.queue.acquire(key);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        statsData.lockTimeouts += 1;
        noteLockTimeout(config.table);
        // The queue still hands us the turn later; give it straight back.
        void pending.then((release) => release());
        reject(
          new LockTimeoutError(
            `session ${idTag(id)} in table "${config.table}": earlier requests of this process held it for ${config.maxLockWaitMs} ms (maxLockWaitMs): ` +
              'answer 503 and let the client retry',
            1,
          ),
        );
      }, config.maxLockWaitMs);
    });
    try {
      const release = await Promise.race([pending, timeout]);
      if (behind) {
        statsData.lockWaits += 1;
        statsData.lockWaitMs += Date.now() - started;
      }
      return release;
    } finally {
      clearTimeout(timer);
    }
  }
}
