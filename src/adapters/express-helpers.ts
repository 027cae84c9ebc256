/**
 * What the Express entry's store leans on: callbacks beside promises
 * (`settle`), and the reload() of a session its own request holds under a lease.
 */
import type session from 'express-session';
import type { SessionData as ExpressSessionData } from 'express-session';

export type Callback<T = void> = (err?: unknown, value?: T) => void;

/**
 * Promise first, with an optional Node callback. The callback runs on a tick of
 * its own, outside the promise chain: an exception it throws is an uncaught
 * exception, as with express-session's MemoryStore, not a rejection nobody handles.
 */
export function settle<T>(promise: Promise<T>, cb: Callback<T> | undefined): Promise<T> {
  if (cb) promise.then((v) => process.nextTick(cb, null, v), (err: unknown) => process.nextTick(cb, err));
  return promise;
}

export function returnThis<T>(this: T): T {
  return this;
}

/** Gives one Session a reload() that reads without a lease and keeps the one its request holds. */
export function reloadWithoutLease(
  store: { get(sid: string): Promise<ExpressSessionData | null>; createSession: session.Store['createSession'] },
  req: Parameters<session.Store['createSession']>[0], sess: session.Session): void {
  Object.defineProperty(sess, 'reload', {
    configurable: true,
    writable: true,
    enumerable: false,
    value(fn: (err?: unknown) => void) {
      store.get(sess.id).then(
        (data) => {
          if (!data) return fn(new Error('failed to load session'));
          store.createSession(req, data);
          fn();
        },
        (err: unknown) => fn(err),
      );
      return sess;
    },
  });
}
