/**
 * Which handle (what a load knew: core/session-handle.ts) goes with which of
 * express-session's objects: the data a load returned until express-session
 * makes a Session of it, the Session, and the request that holds a lease.
 *
 * Kept on the objects themselves where it can be, under symbols of the store's
 * that neither JSON, a spread, Object.keys nor for-in sees, not in WeakMaps: an
 * entry in a WeakMap as old as the store kept each request's loaded JSON alive
 * through the young generation's collections, and the collector's time was a
 * fifth of a cold read's.
 */
import type { SessionHandle } from '../store/session-store.js';

type Holder = Record<symbol, SessionHandle | undefined>;

export class HandleBook {
  readonly #sessionKey = Symbol('dynamodb-session-manager handle');
  readonly #requestKey = Symbol('dynamodb-session-manager request handle');
  /** Sessions that take no property (frozen). */
  readonly #frozen = new WeakMap<object, SessionHandle>();
  /**
   * The handle of data a load handed to express-session that the last load did not keep. (A hidden
   * property on the data would do too, but it turns the object into a slow dictionary just before
   * express-session copies every member out of it.)
   */
  readonly #loaded = new WeakMap<object, SessionHandle>();
  /**
   * The last load's data and handle: express-session makes its Session in the callback of the load,
   * before any other load ends, so nearly every handle is found here and the WeakMap gets no entry. A
   * load that ends while the previous one is not claimed moves that one there.
   */
  #last: { data: object; handle: SessionHandle; claimed: boolean } | undefined;

  /** A load returned `data` with `handle`. */
  loadedAs(data: object, handle: SessionHandle): void {
    const last = this.#last;
    if (last !== undefined && !last.claimed) this.#loaded.set(last.data, last.handle);
    this.#last = { data, handle, claimed: false };
  }

  /** The handle `data` was loaded with, if a load of this store's returned it. */
  loaded(data: object): SessionHandle | undefined {
    const last = this.#last;
    return last !== undefined && last.data === data ? last.handle : this.#loaded.get(data);
  }

  /** express-session made a Session of `data`: its handle is the Session's from now on. */
  claimLoaded(data: object): void {
    const last = this.#last;
    if (last !== undefined && last.data === data) last.claimed = true;
  }

  of(sess: object): SessionHandle | undefined {
    return (sess as Holder)[this.#sessionKey] ?? this.#frozen.get(sess);
  }

  set(sess: object, handle: SessionHandle): void {
    if (Object.isExtensible(sess)) Object.defineProperty(sess, this.#sessionKey, { value: handle, writable: true, configurable: true });
    else this.#frozen.set(sess, handle);
  }

  /** The handle a request's session was loaded with: a reload() in that request builds on it and keeps its lease. */
  heldBy(req: object): SessionHandle | undefined {
    return (req as Holder)[this.#requestKey];
  }

  hold(req: object, handle: SessionHandle): void {
    (req as Holder)[this.#requestKey] = handle;
  }
}
