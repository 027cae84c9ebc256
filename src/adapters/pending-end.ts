/**
 * @fastify/session and koa-session destroy a session the same way for a
 * logout and for the old id of a regenerate (a login): the store learns which
 * only when the request saves a new session, or ends without one. So the
 * delete happens at once, but its event waits: a new session saved in the
 * same request replaces it (`regenerated`, keeping its creation time); a
 * request that ends without one logged out (`destroyed`, reason 'logout').
 */
import type { SessionHandle, SessionStore } from '../core/session-store.js';
import type { DestroyedEvent } from '../core/events.js';
import { idTag } from '../core/session-id.js';

export interface PendingEnd {
  /** The session destroyed in this request, not yet known to be a logout or a regenerate. */
  pendingEnd?: { id: string; key: string; userId?: string; handle?: SessionHandle };
}

/** Deletes the session now; its event waits for the request's end (see above). */
export async function destroyPending(store: SessionStore, holder: PendingEnd | undefined, id: string, handle: SessionHandle | undefined): Promise<void> {
  if (!holder) return store.destroy(id, handle);
  await store.destroy(id, handle, 'regenerate');
  if (handle) holder.pendingEnd = { id, key: handle.key, ...(handle.userId !== undefined ? { userId: handle.userId } : {}), handle };
}

/** A new session saved in this request: the one it replaces, if one was destroyed before it. */
export function takeReplaced(holder: PendingEnd | undefined): SessionHandle | undefined {
  const pending = holder?.pendingEnd;
  if (holder) holder.pendingEnd = undefined;
  return pending?.handle;
}

/** The request ended: a destroy nothing replaced was a logout. */
export function settlePending(store: SessionStore, holder: PendingEnd | undefined): void {
  const pending = holder?.pendingEnd;
  if (!pending) return;
  holder.pendingEnd = undefined;
  store.emit('destroyed', {
    key: pending.key,
    session: idTag(pending.id),
    reason: 'logout',
    ...(pending.userId !== undefined ? { userId: pending.userId } : {}),
  } satisfies DestroyedEvent);
}
