/**
 * Picks and starts the DynamoDB the demo uses, in this order:
 * AWS_ENDPOINT_URL_DYNAMODB → real AWS configuration in the environment → Amazon
 * DynamoDB Local (embedded, needs Java) → dynalite (pure Node, when Java is missing).
 */
import { startDynamoDBLocal } from '../src/embedded/dynamodb-local.js';
import { startDynalite as startEmbeddedDynalite } from '../src/embedded/dynalite.js';
import { EmbeddedDynamoDBError } from '../src/errors.js';
import type { DemoTarget } from './target.js';

export interface Backend {
  target: DemoTarget;
  /** One line for the console: what was started or used. */
  description: string;
  /** A notice worth a line of its own (the dynalite fallback), if any. */
  notice?: string;
  /** The java process of an embedded DynamoDB Local, stopped by `stop()`. */
  javaPid?: number;
  /** The engine's TTL cannot be turned on: the table check's warning about it is expected. */
  noTtl: boolean;
  stop(): Promise<void>;
}

const DEFAULT_TABLE = 'dynamodb-session-manager-demo';

/** The variables by which the AWS SDK's default chain would find real credentials. */
const AWS_CREDENTIAL_VARS = [
  'AWS_PROFILE',
  'AWS_ACCESS_KEY_ID',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
] as const;

export async function startBackend(env: NodeJS.ProcessEnv = process.env): Promise<Backend> {
  const table = env.DEMO_TABLE || DEFAULT_TABLE;
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined;
  const nothing = async () => undefined;

  // The AWS SDK's own endpoint settings, in its order (the shared config file's are left to the SDK).
  const endpointVar = (['AWS_ENDPOINT_URL_DYNAMODB', 'AWS_ENDPOINT_URL'] as const).find((name) => env[name] && env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS !== 'true');
  if (endpointVar) {
    const endpoint = env[endpointVar]!;
    const localKeys = !env.AWS_ACCESS_KEY_ID && !env.AWS_PROFILE;
    return {
      target: { endpoint, region: region ?? 'us-east-1', localKeys, table, label: `DynamoDB at ${endpoint} (${endpointVar})`, payPerRequest: false },
      description: `using DynamoDB at ${endpoint} from ${endpointVar}, table ${table}; nothing started`,
      noTtl: false,
      stop: nothing,
    };
  }

  // The name this project's commands used before AWS_ENDPOINT_URL_DYNAMODB: said, not read.
  const legacy = env.DYNAMODB_ENDPOINT ? { notice: 'DYNAMODB_ENDPOINT is not read any more: set AWS_ENDPOINT_URL_DYNAMODB (the AWS SDK\'s own name) to use that DynamoDB' } : {};

  const awsVar = AWS_CREDENTIAL_VARS.find((name) => env[name]);
  if (awsVar) {
    const where = region ?? 'the profile\'s region, else us-east-1';
    return {
      target: { ...(region ? { region } : {}), localKeys: false, table, label: `Amazon DynamoDB (${region ?? 'default region'}, credentials via ${awsVar})`, payPerRequest: true },
      description: `using Amazon DynamoDB in ${where} with credentials found through ${awsVar}; table ${table} (created on-demand if absent, never deleted by the demo)`,
      noTtl: false,
      stop: nothing,
    };
  }

  try {
    const db = await startDynamoDBLocal();
    return {
      target: { endpoint: db.endpoint, region: 'us-east-1', localKeys: true, table, label: `DynamoDB Local (embedded, in memory)`, payPerRequest: false },
      // DynamoDB Local has no address option: it accepts connections on every interface, which the user must know.
      description: `started DynamoDB Local, java pid ${db.pid}, at ${db.endpoint} (in memory; it listens on every network interface, port ${db.port}, reachable from other machines), table ${table}`,
      javaPid: db.pid,
      ...legacy,
      noTtl: false,
      stop: () => db.stop(),
    };
  } catch (err) {
    if (!(err instanceof EmbeddedDynamoDBError && err.code === 'DSM_JAVA_NOT_FOUND')) throw err;
  }

  const server = await startDynalite();
  return {
    target: { endpoint: server.endpoint, region: 'us-east-1', localKeys: true, table, label: 'dynalite (embedded, no Java found)', payPerRequest: false },
    description: `started dynalite in this process at ${server.endpoint} (in memory), table ${table}`,
    notice: 'Java not found, so the demo runs on dynalite (pure Node) instead of DynamoDB Local: same API, but no TTL (expired sessions are still refused on read). Install Java 17 for DynamoDB Local.',
    noTtl: true,
    stop: server.stop,
  };
}

async function startDynalite(): Promise<{ endpoint: string; stop: () => Promise<void> }> {
  try {
    return await startEmbeddedDynalite();
  } catch (cause) {
    throw new EmbeddedDynamoDBError(
      'DSM_JAVA_NOT_FOUND',
      'Java was not found and the fallback "dynalite" could not start: install Java 17 (Debian: apt-get install openjdk-17-jre-headless), run `npm install`, or set AWS_ENDPOINT_URL_DYNAMODB to a running DynamoDB',
      { cause },
    );
  }
}
