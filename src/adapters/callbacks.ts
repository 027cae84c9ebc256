/**
 * The callback-style store contracts (express-session's, @fastify/session's)
 * on promises: each method does its work as a promise, and its callback hears
 * the outcome.
 */

export type Callback<T = void> = (err?: unknown, value?: T) => void;

/**
 * Promise first, with an optional Node callback. The callback runs on a tick of
 * its own, outside the promise chain: an exception it throws is an uncaught
 * exception, as with express-session's and @fastify/session's MemoryStore, not a
 * rejection nobody handles. `errorFor` makes the error the callback is given.
 */
export function settle<T>(promise: Promise<T>, cb: Callback<T> | undefined, errorFor?: (err: unknown) => unknown): Promise<T> {
  if (cb) promise.then((v) => process.nextTick(cb, null, v), (err: unknown) => process.nextTick(cb, errorFor ? errorFor(err) : err));
  return promise;
}
