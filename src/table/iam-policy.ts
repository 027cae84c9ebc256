import { DEFAULTS, type ResolvedConfig } from '../config/options.js';
import { MAX_ITEM_BYTES } from '../core/item.js';
import { ConfigError } from '../errors.js';

/**
 * What the policy must allow beyond serving requests:
 * - `purge`: purgeExpired / `dynamodb-session purge-expired` / the reaper (Scan, conditional DeleteItem);
 * - `list`: ids(), length(), all(), `dynamodb-session list` and `stats` (Scan);
 * - `clear`: clear() (Scan, BatchWriteItem);
 * - `revoke`: destroyUserSessions() / `revoke-user` (Query on the user index, else Scan; BatchWriteItem);
 * - `streams`: startStreamsPoller, the `expired` events of TTL deletions (DescribeTable to find the stream; reading it);
 * - `admin`: the operator's policy, not a running server's: all of the above but `streams`, plus creating the
 *   table, turning on its TTL and its stream (CreateTable, UpdateTimeToLive, UpdateTable): what every CLI command
 *   needs, and what `createIfNotExist` needs to create a missing table.
 */
export type PolicyFeature = 'purge' | 'list' | 'clear' | 'revoke' | 'streams' | 'admin';
export const POLICY_FEATURES: readonly PolicyFeature[] = ['purge', 'list', 'clear', 'revoke', 'streams', 'admin'];

export interface IamPolicyOptions {
  /** Region of the table ARN; default the config's region, else `*`. */
  region?: string;
  /** 12-digit account id of the table ARN; default `*`. */
  account?: string;
  features?: readonly PolicyFeature[];
}

export interface IamPolicyStatement {
  Sid: string;
  Effect: 'Allow';
  Action: string[];
  Resource: string[];
}

export interface IamPolicyDocument {
  Version: '2012-10-17';
  Statement: IamPolicyStatement[];
}

function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/**
 * A least-privilege IAM policy for the session table: only the calls this
 * configuration makes while it serves requests. That is GetItem, UpdateItem
 * (every save, touch and lock is an UpdateItem) and DeleteItem; `ready()` adds
 * DescribeTable and DescribeTimeToLive (unless `skipTableCheck`); a reaper
 * (`reapIntervalMs`) adds Scan; a user index adds Query on it and
 * BatchWriteItem (destroyUserSessions deletes in batches). Sessions past 400 KB
 * (`maxSessionBytes` above it, opt-in) add PutItem (their chunks, put before the
 * head names them; a login's TransactWriteItems is checked as the calls it
 * carries) and BatchGetItem (their chunks read); so do `maxSessionsPerUser` and a user index
 * (listUserSessions), which read a user's sessions in batches.
 *
 * No runtime policy can create or change the table, whatever `createIfNotExist`
 * says: that is the `admin` feature's, for the operator who runs `create-table`
 * once (or for development, where `createIfNotExist` creates it).
 */
export function iamPolicy(
  config: Pick<ResolvedConfig, 'table' | 'region' | 'skipTableCheck' | 'reapIntervalMs' | 'userIndex'> &
    Partial<Pick<ResolvedConfig, 'maxSessionBytes' | 'maxSessionsPerUser'>>,
  options: IamPolicyOptions = {},
): IamPolicyDocument {
  const features = new Set<PolicyFeature>(options.features ?? []);
  for (const f of features) {
    if (!POLICY_FEATURES.includes(f)) throw new ConfigError(`unknown policy feature "${f}": use one of ${POLICY_FEATURES.join(', ')}`);
  }
  if (options.account !== undefined && !/^\d{12}$/.test(options.account)) {
    throw new ConfigError(`account must be a 12-digit AWS account id (got ${JSON.stringify(options.account)})`);
  }
  const admin = features.has('admin');
  const region = options.region ?? config.region ?? '*';
  const account = options.account ?? '*';
  const partition = region === '*' ? 'aws' : partitionOf(region);
  const tableArn = `arn:${partition}:dynamodb:${region}:${account}:table/${config.table}`;

  const actions = new Set(['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem']);
  if ((config.maxSessionBytes ?? DEFAULTS.maxSessionBytes) > MAX_ITEM_BYTES) for (const a of ['PutItem', 'BatchGetItem']) actions.add(`dynamodb:${a}`);
  if (!config.skipTableCheck || admin || features.has('streams')) actions.add('dynamodb:DescribeTable');
  // ready() reads the TTL setting (and would turn it on, which only the admin policy allows: it warns instead).
  if (!config.skipTableCheck || admin) actions.add('dynamodb:DescribeTimeToLive');
  // create-table, its --streams, and createIfNotExist on a missing table.
  if (admin) for (const a of ['CreateTable', 'UpdateTable', 'UpdateTimeToLive']) actions.add(`dynamodb:${a}`);
  const scans = config.reapIntervalMs > 0 || admin || features.has('purge') || features.has('list') || features.has('clear');
  // A user index is there to revoke users' sessions: the app calls destroyUserSessions().
  const revoke = admin || features.has('revoke') || config.userIndex !== undefined;
  // Without an index, revoking a user's sessions scans the table.
  if (scans || (revoke && !config.userIndex)) actions.add('dynamodb:Scan');
  if (admin || features.has('clear') || revoke) actions.add('dynamodb:BatchWriteItem');
  // A login under maxSessionsPerUser reads the user's recorded sessions, and listUserSessions its found ones, in batches.
  if (config.maxSessionsPerUser !== undefined || revoke) actions.add('dynamodb:BatchGetItem');

  const statements: IamPolicyStatement[] = [
    { Sid: 'SessionTable', Effect: 'Allow', Action: [...actions].sort(), Resource: [tableArn] },
  ];
  if (config.userIndex) {
    statements.push({ Sid: 'SessionUserIndex', Effect: 'Allow', Action: ['dynamodb:Query'], Resource: [`${tableArn}/index/${config.userIndex}`] });
  }
  if (features.has('streams')) {
    // A Lambda event source mapping's role needs these and dynamodb:ListStreams (AWS's AWSLambdaDynamoDBExecutionRole grants them).
    statements.push({
      Sid: 'SessionStream',
      Effect: 'Allow',
      Action: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
      Resource: [`${tableArn}/stream/*`],
    });
  }
  return { Version: '2012-10-17', Statement: statements };
}
