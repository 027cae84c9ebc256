/**
 * The DynamoDB client the store talks through: region, endpoint, credentials,
 * retries and time-outs from the resolved config, in one place.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { FALLBACK_REGION, type ResolvedConfig } from '../config/options.js';
import type { Logger } from '../core/logger.js';
import { credentialsFor } from './credentials.js';
import { UndiciHttpHandler } from './http-handler.js';

/**
 * AWS_REGION, then AWS_DEFAULT_REGION (which the JS SDK alone does not read,
 * but the AWS CLI and the other SDKs do), then the profile's `region`, then the
 * Tomcat manager's us-east-1. The SDK's own last resort, asking the EC2
 * instance metadata service, is left out on purpose: off EC2 it stalls the
 * first request of every process for a second (DynamoDB Local set-ups included),
 * and the Tomcat manager never did it either.
 *
 * The config loaders are imported at the first request, which asks for the
 * region to sign with, rather than at import (a Lambda cold start); they read
 * the environment and files only when called anyway.
 */
function regionProvider(): () => Promise<string> {
  let region: Promise<string> | undefined;
  return () => (region ??= loadRegion());
}

async function loadRegion(): Promise<string> {
  const [{ NODE_REGION_CONFIG_FILE_OPTIONS, NODE_REGION_CONFIG_OPTIONS }, { loadConfig }] = await Promise.all([
    import('@smithy/config-resolver'),
    import('@smithy/node-config-provider'),
  ]);
  const load = loadConfig(
    {
      ...NODE_REGION_CONFIG_OPTIONS,
      environmentVariableSelector: (env) => env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined,
      default: () => FALLBACK_REGION,
    },
    NODE_REGION_CONFIG_FILE_OPTIONS,
  );
  // A malformed shared config file is not worth failing every request over: fall back like a missing one.
  return load().then((r) => r || FALLBACK_REGION, () => FALLBACK_REGION);
}

/**
 * The client for `config`, or `config.client` when the application brings its own.
 * `logger` hears, once, that an endpoint on this machine is signed for with placeholder keys.
 */
export function createDynamoDBClient(config: ResolvedConfig, logger?: Pick<Logger, 'warn'>): DynamoDBClient {
  if (config.client) return config.client;
  let told = false;
  const { credentials } = credentialsFor(config, () => {
    if (told) return;
    told = true;
    logger?.warn(
      { endpoint: config.endpoint },
      'no AWS credentials found: requests to this endpoint on this machine are signed with placeholder keys, which DynamoDB Local accepts (give credentials to use others)',
    );
  });
  return new DynamoDBClient({
    region: config.region ?? regionProvider(),
    // The endpoint replaces the region's URL only; the region still signs the requests.
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    credentials,
    maxAttempts: config.maxAttempts,
    retryMode: config.retryMode,
    // The SDK otherwise rebuilds and sorts the middleware stack on every send: a third of its CPU
    // per call on this store's requests (npm run bench:sdk). Nothing here changes the stack after creation.
    cacheMiddleware: true,
    // undici instead of node:http: 35-45 % less client CPU per call (npm run bench:sdk). It keeps
    // connections open between calls and throws on a time-out, where the SDK's handler only logs.
    requestHandler: new UndiciHttpHandler({ requestTimeoutMs: config.requestTimeoutMs, connectionTimeoutMs: config.requestTimeoutMs }),
  });
}

/** The `region` line of the profile's section in a shared config/credentials file, read the way the SDK would find it. */
function regionInFile(path: string, sections: string[]): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  let inSection = false;
  for (const line of text.split(/\r?\n/)) {
    const header = /^\s*\[\s*([^\]]+?)\s*\]/.exec(line);
    if (header) inSection = sections.includes(header[1]!.replace(/\s+/g, ' '));
    // Indented lines are sub-properties of a service section, not the profile's own region.
    else if (inSection) {
      const region = /^region\s*=\s*([^\s#;]+)/.exec(line);
      if (region) return region[1];
    }
  }
  return undefined;
}

/** Where the region comes from when the options give none, mirroring regionProvider() synchronously for messages. */
function defaultRegion(): { region: string; from: string } {
  const { AWS_REGION, AWS_DEFAULT_REGION, AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE } = process.env;
  if (AWS_REGION) return { region: AWS_REGION, from: 'AWS_REGION' };
  if (AWS_DEFAULT_REGION) return { region: AWS_DEFAULT_REGION, from: 'AWS_DEFAULT_REGION' };
  const profile = AWS_PROFILE || 'default';
  const home = process.env.HOME || homedir();
  // The SDK looks in the credentials file first for the region (NODE_REGION_CONFIG_FILE_OPTIONS), then in config.
  const region =
    regionInFile(AWS_SHARED_CREDENTIALS_FILE || join(home, '.aws', 'credentials'), [profile]) ??
    regionInFile(AWS_CONFIG_FILE || join(home, '.aws', 'config'), profile === 'default' ? ['default', 'profile default'] : [`profile ${profile}`]);
  if (region) return { region, from: `profile ${profile}` };
  return { region: FALLBACK_REGION, from: 'default' };
}

/**
 * Where the store's requests go, for messages: `endpoint http://127.0.0.1:8000`,
 * `region eu-west-1`, `region eu-west-1 (AWS_REGION)` or `region us-east-1 (default)`.
 */
export function describeTarget(config: ResolvedConfig): string {
  if (config.client) return 'the DynamoDBClient of the "client" option';
  if (config.endpoint) return `endpoint ${config.endpoint}`;
  // The SDK sends a client without an endpoint option to these when they are set.
  const configured = process.env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS === 'true' ? undefined : process.env.AWS_ENDPOINT_URL_DYNAMODB ? 'AWS_ENDPOINT_URL_DYNAMODB' : process.env.AWS_ENDPOINT_URL ? 'AWS_ENDPOINT_URL' : undefined;
  if (configured) return `endpoint ${process.env[configured]} (${configured})`;
  if (config.region) return `region ${config.region}`;
  const { region, from } = defaultRegion();
  return `region ${region} (${from})`;
}
