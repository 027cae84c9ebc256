import type { IncomingMessage } from 'node:http';

/**
 * Which requests take a pessimistic lease, as memcached-session-manager's
 * lockingMode: a predicate, a RegExp on the URL, or a path prefix string.
 * Read-only routes never need one; a counter that must not lose an increment does.
 */
export type LockRule = boolean | string | RegExp | ((req: IncomingMessage) => boolean);

/** undefined = no rule given: the store's `locking` mode decides. */
export function lockRule(rule: LockRule | undefined): (req: IncomingMessage) => boolean | undefined {
  if (rule === undefined) return () => undefined;
  if (typeof rule === 'boolean') return () => rule;
  if (typeof rule === 'function') return (req) => Boolean(rule(req));
  if (rule instanceof RegExp) return (req) => rule.test(req.url ?? '');
  return (req) => (req.url ?? '').startsWith(rule);
}
