/**
 * What the Express entry's store leans on: the reload() of a session its own
 * request holds under a lease.
 */
import type session from 'express-session';
import type { SessionData as ExpressSessionData } from 'express-session';

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
