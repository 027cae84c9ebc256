/**
 * What resolveConfig (options.ts) checks and derives across options rather
 * than option by option: the rules between options, and the replica list of
 * a global table from `regions`, `region` and `endpoint`.
 */
import { ConfigError } from '../errors.js';
import * as is from './checks.js';
import type { SessionStoreOptions } from './options.js';

/** A replica Region of a global table and the endpoint that reaches it (undefined: the Region's own). */
export interface RegionReplica {
  readonly name: string;
  readonly endpoint: string | undefined;
}

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
