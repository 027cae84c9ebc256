import { SessionStore } from '../store/session-store.js';
import type { SessionStoreOptions } from '../config/options.js';
import { ConfigError } from '../errors.js';

/**
 * An entry's core store: the one given as `store` (shared between entries), or one made from the store
 * options. Both at once is a ConfigError: a shared store was made with its own options and would ignore these.
 */
export function storeFrom(store: SessionStore | undefined, options: SessionStoreOptions): SessionStore {
  if (!store) return new SessionStore(options);
  const ignored = Object.keys(options).filter((name) => options[name as keyof SessionStoreOptions] !== undefined);
  if (ignored.length > 0) {
    const names = ignored.map((name) => `"${name}"`).join(', ');
    throw new ConfigError(
      `option${ignored.length > 1 ? 's' : ''} ${names} cannot go with "store", which was made with its own options and would ignore them: ` +
        `give them to the shared store (new SessionStore({ ${ignored.join(', ')}, … })), or drop "store"`,
    );
  }
  return store;
}

/**
 * The options named in `names` that are set, for the framework's own session
 * middleware (koa-session's, @fastify/session's), and the rest, for the store,
 * whose checks catch a misspelt name and suggest the right one.
 */
export function passThrough<T extends object, K extends keyof T>(options: T, names: readonly K[]): [Partial<Pick<T, K>>, Omit<T, K>] {
  const picked: Partial<Pick<T, K>> = {};
  const rest = { ...options };
  for (const name of names) {
    if (options[name] !== undefined) picked[name] = options[name];
    delete rest[name];
  }
  return [picked, rest];
}
