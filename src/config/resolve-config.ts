/**
 * The options a store is given, made the config it runs on: each option
 * checked by its entry in the schema (options.ts), the rules between options,
 * the defaults filled in, and the replica list of a global table derived from
 * `regions`, `region` and `endpoint`; and the same config as the store shows
 * it, its secrets redacted.
 */
import { ConfigError } from '../errors.js';
import * as is from './checks.js';
import { OPTION_NAMES, OPTIONS, type OptionSpec, type RegionReplica, type ResolvedConfig, type SessionStoreOptions } from './options.js';

function regionNames(regions: string[] | Record<string, string | null>): string[] {
  return Array.isArray(regions) ? regions : Object.keys(regions);
}

/** Sorted by name, so that every server derives the same home for a session whose id names none. */
export function replicas(regions: string[] | Record<string, string | null>, own: string, endpoint: string | undefined): ReadonlyArray<RegionReplica> {
  const list = regionNames(regions).map((name) => ({
    name,
    endpoint: (Array.isArray(regions) ? undefined : regions[name]) ?? (name === own ? endpoint : undefined),
  }));
  return Object.freeze(list.sort((a, b) => (a.name < b.name ? -1 : 1)));
}

/** Rules between options, each a ConfigError saying which to add or drop. */
export function checkTogether(options: SessionStoreOptions): void {
  if ((options.accessKeyId === undefined) !== (options.secretAccessKey === undefined)) {
    const missing = options.accessKeyId === undefined ? 'accessKeyId' : 'secretAccessKey';
    throw new ConfigError(
      `option "${missing}" is missing: give both accessKeyId and secretAccessKey (context.xml AwsAccessKey and AwsSecretKey), ` +
        'or neither to use the credentials file or the default chain',
    );
  }
  if ((options.maxSessionsPerUser !== undefined || options.onSessionLimit !== undefined) && options.userId === undefined) {
    throw new ConfigError(
      'option "maxSessionsPerUser" needs "userId" (where a session names its user, e.g. userId: "user.id"): ' +
        'without it the store cannot tell whose sessions to count',
    );
  }
  if (options.sessionToken !== undefined && options.accessKeyId === undefined) {
    throw new ConfigError('option "sessionToken" needs accessKeyId and secretAccessKey beside it');
  }
  if (options.billingMode === 'PAY_PER_REQUEST' && (options.readCapacityUnits !== undefined || options.writeCapacityUnits !== undefined)) {
    throw new ConfigError(
      'options "readCapacityUnits"/"writeCapacityUnits" apply to billingMode "PROVISIONED" only: drop them, or set billingMode: "PROVISIONED"',
    );
  }
  if (options.regions !== undefined && options.client !== undefined) {
    throw new ConfigError('option "regions" needs the store to make its own client for each Region: drop "client", or drop "regions"');
  }
  if (options.regions !== undefined && (options.region === undefined || !regionNames(options.regions).includes(options.region))) {
    throw new ConfigError(`option "regions" needs "region", this server's own Region, to be one of them (got ${is.got(options.region)})`);
  }
}

const specOf = (name: string): OptionSpec | undefined => (Object.hasOwn(OPTIONS, name) ? (OPTIONS as Record<string, OptionSpec>)[name] : undefined);

/** Names an AWS SDK client takes that are spelt differently here: what to give instead. */
const SDK_HABITS: Record<string, string | undefined> = {
  credentials:
    'give "accessKeyId" and "secretAccessKey" (and "sessionToken"), or "credentialsFile", or a DynamoDBClient of your own made with ' +
    'these credentials as "client"; with none of them, the AWS SDK\'s default provider chain finds them',
};

/** Validates options and fills in defaults; every problem is a ConfigError naming the option. */
export function resolveConfig(options: SessionStoreOptions = {}): ResolvedConfig {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new ConfigError(`options must be an object (got ${is.got(options)})`);
  }
  for (const [name, value] of Object.entries(options)) {
    const spec = specOf(name);
    if (!spec) {
      const closest = is.closest(name, OPTION_NAMES);
      const hint = Object.hasOwn(SDK_HABITS, name) ? SDK_HABITS[name] : closest && `did you mean "${closest}"?`;
      throw new ConfigError(`unknown option "${name}"${hint ? `: ${hint}` : ''} (known options: ${OPTION_NAMES.join(', ')})`);
    }
    if (value !== undefined) spec.check(value, name);
  }
  checkTogether(options);
  const given = options as Record<string, unknown>;
  const used = OPTION_NAMES.map((name) => {
    const spec: OptionSpec = OPTIONS[name];
    return [name, spec.resolve ? (spec.resolve as (v: unknown) => unknown)(given[name]) : (given[name] ?? spec.default)];
  });
  if (options.regions !== undefined) used.push(['regions', replicas(options.regions, options.region!, options.endpoint)]);
  return Object.freeze(Object.fromEntries(used)) as ResolvedConfig;
}

/** What stands in a printable config for a secret that is set. */
export const REDACTED = '[redacted]';

/**
 * `config` as the store shows it (`store.config`, util.inspect, JSON): the
 * secret access key, the session token, the id-hashing secret and every
 * encryption key replaced by REDACTED, whether they are set still visible.
 * The store keeps the real ones where nothing prints them.
 */
export function redactConfig(config: ResolvedConfig): ResolvedConfig {
  const hide = <T>(value: T | undefined): T | string | undefined => (value === undefined ? undefined : REDACTED);
  return Object.freeze({
    ...config,
    secretAccessKey: hide(config.secretAccessKey) as string | undefined,
    sessionToken: hide(config.sessionToken) as string | undefined,
    hashSessionIds: hide(config.hashSessionIds) as string | undefined,
    encryptionKeys: Object.freeze(config.encryptionKeys.map(({ id }) => Object.freeze({ id, key: REDACTED }))),
  });
}
