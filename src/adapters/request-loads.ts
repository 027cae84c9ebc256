/**
 * The per-request bookkeeping of the entries that keep their framework's own
 * session object and Store contract, Koa and Fastify: what each request
 * loaded, by session id (the handle its save builds on, and what the entry
 * keeps beside it), and the end of a destroy (below). A request's record
 * (`RequestLoads`) is made at its first use; the entry ends it (`end`). The
 * Express entry keys its handles by express-session's objects instead
 * (express-handles.ts): express-session's store calls name no request.
 *
 * @fastify/session and koa-session destroy a session the same way for a
 * logout and for the old id of a regenerate (a login): the store learns which
 * only when the request saves a new session, or ends without one. So the
 * delete happens at once, but its event waits: a new session saved in the
 * same request replaces it (`regenerated`, keeping its creation time); a
 * request that ends without one logged out (`destroyed`, reason 'logout').
 */
import type { SessionHandle, SessionStore } from '../store/session-store.js';
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

/** What one request loaded, by session id, and the destroy whose meaning its end tells. */
export class RequestLoads<E extends { handle: SessionHandle }> implements PendingEnd {
  pendingEnd?: PendingEnd['pendingEnd'];
  readonly #byId = new Map<string, E>();

  get(id: string): E | undefined {
    return this.#byId.get(id);
  }

  set(id: string, entry: E): void {
    this.#byId.set(id, entry);
  }

  get size(): number {
    return this.#byId.size;
  }

  [Symbol.iterator](): IterableIterator<[string, E]> {
    return this.#byId.entries();
  }

  /** The request is over, or failed: a destroy nothing replaced was a logout, and every lease still held goes back. */
  async end(store: SessionStore): Promise<void> {
    settlePending(store, this);
    for (const { handle } of this.#byId.values()) await store.release(handle).catch(() => undefined);
  }
}

/** Each request's record, by its request object (Koa's context), made at its first use. */
export class RequestBook<E extends { handle: SessionHandle }> {
  readonly #records = new WeakMap<object, RequestLoads<E>>();

  of(request: object): RequestLoads<E> {
    let record = this.#records.get(request);
    if (!record) this.#records.set(request, (record = new RequestLoads<E>()));
    return record;
  }

  peek(request: object): RequestLoads<E> | undefined {
    return this.#records.get(request);
  }
}
