/**
 * The options of `dynamoSession()`, checked as the store's are: express-session
 * ignores a name it does not know, so `dynamoSession({ store, lock })` would
 * run without the lock rule and say nothing.
 */
import { ConfigError } from '../errors.js';
import { OPTION_NAMES } from '../config/options.js';
import { checkSecretLength } from './signed-cookie.js';

/** express-session's own options (1.x), and `store`; `key` is its older name for `name`, still read. */
const EXPRESS_SESSION_OPTIONS = ['cookie', 'genid', 'key', 'name', 'proxy', 'resave', 'rolling', 'saveUninitialized', 'secret', 'store', 'unset'] as const;

/** dynamoSession()'s own, beside express-session's. */
const OWN_OPTIONS = ['header'] as const;

/** The store's options, and its adapter's `lock`: they go to `new DynamoDBStore({ … })`. */
const STORE_OPTIONS = new Set<string>([...OPTION_NAMES, 'lock', 'keepAlive', 'migrateFrom']);

/** Throws a ConfigError naming the first option dynamoSession() would not use, and where it belongs. */
export function checkDynamoSessionOptions(options: unknown, isStore: (value: unknown) => boolean): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new ConfigError('dynamoSession() takes an options object: dynamoSession({ store: new DynamoDBStore({ … }), secret, … })');
  }
  for (const name of Object.keys(options)) {
    if ((EXPRESS_SESSION_OPTIONS as readonly string[]).includes(name) || (OWN_OPTIONS as readonly string[]).includes(name)) continue;
    if (STORE_OPTIONS.has(name)) {
      throw new ConfigError(`option "${name}" of dynamoSession() belongs to the store: new DynamoDBStore({ ${name}, … }), given to dynamoSession({ store })`);
    }
    const near = EXPRESS_SESSION_OPTIONS.find((known) => known.toLowerCase() === name.toLowerCase());
    throw new ConfigError(
      `unknown option "${name}" of dynamoSession()${near ? `: did you mean "${near}"?` : ''} ` +
        `(express-session's options: ${EXPRESS_SESSION_OPTIONS.join(', ')}; the store's go to new DynamoDBStore({ … }))`,
    );
  }
  if (!isStore((options as { store?: unknown }).store)) {
    throw new ConfigError('option "store" of dynamoSession() must be a DynamoDBStore: dynamoSession({ store: new DynamoDBStore({ table, … }), … })');
  }
  // Unset, express-session signs with req.secret (cookie-parser's), which is not ours to check.
  const secret = (options as { secret?: unknown }).secret;
  if (secret !== undefined) checkSecretLength(Array.isArray(secret) ? secret : [secret], 'secret');
}
