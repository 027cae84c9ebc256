import type { IncomingMessage } from 'node:http';

/**
 * Which requests take a pessimistic lease, as memcached-session-manager's
 * lockingMode: a predicate, a RegExp on the URL, or a path prefix string.
 * Read-only routes never need one; a counter that must not lose an increment does.
 */
export type LockRule<R = IncomingMessage> = boolean | string | RegExp | ((req: R) => boolean);

/**
 * The rule as a function of a request; `urlOf` gives the request's path and
 * query. undefined = no rule given: the store's `locking` mode decides.
 */
export function lockRule<R = IncomingMessage>(
  rule: LockRule<R> | undefined,
  urlOf: (req: R) => string = (req) => (req as unknown as IncomingMessage).url ?? '',
): (req: R) => boolean | undefined {
  if (rule === undefined) return () => undefined;
  if (typeof rule === 'boolean') return () => rule;
  if (typeof rule === 'function') return (req) => Boolean(rule(req));
  if (rule instanceof RegExp) return (req) => rule.test(urlOf(req));
  return (req) => urlOf(req).startsWith(rule);
}
