import type { ExpiredEvent, ExpirySource } from './events.js';
import { expiryMs, type Item } from './item.js';
import { idTag } from './session-id.js';
import type { StoreContext } from './store-context.js';

/**
 * The `expired` event of a deleted session item, from what is known of it:
 * a Scan's projection (purge) or a stream record's old image (TTL). The tag is
 * that of the table key: the id's own tag, as in log lines, unless
 * `hashSessionIds`, whose keys are HMACs from which no id can be had.
 */
export function expiredEventOf(item: Item, source: ExpirySource): ExpiredEvent | undefined {
  const key = item.sessionId?.S;
  if (key === undefined) return undefined;
  const userId = item.userId?.S;
  const expiredAt = expiryMs(item);
  return {
    key,
    session: idTag(key),
    ...(userId !== undefined ? { userId } : {}),
    source,
    ...(Number.isFinite(expiredAt) ? { expiredAt } : {}),
  };
}

/**
 * Tells the store's listeners. The deletion it reports has happened: a
 * listener that throws is logged, and neither undoes it nor stops the job
 * (a purge, the reaper) that made it.
 */
export function tellExpired(store: StoreContext, event: ExpiredEvent): void {
  try {
    store.emit('expired', event);
  } catch (err) {
    store.logger.warn(
      { table: store.config.table, session: event.session, source: event.source, reason: (err as Error)?.message ?? String(err) },
      "a listener of the store's 'expired' event threw; the session was deleted all the same",
    );
  }
}
