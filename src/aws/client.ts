/**
 * The settings of the DynamoDB client the store talks through: region,
 * endpoint, credentials, retries and time-outs from the resolved config, in
 * one place. Which client it is: regions/store-client.ts.
 */
import type { DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { FALLBACK_REGION, type ResolvedConfig } from '../config/options.js';
import type { Logger } from '../logger.js';
import { credentialsFor } from './credentials.js';
import { UndiciHttpHandler } from './http-handler.js';
import { resolveTarget } from './target.js';

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

/** The settings of the client for `config`'s region and endpoint. */
export function clientConfig(config: ResolvedConfig, logger?: Pick<Logger, 'warn'>): DynamoDBClientConfig {
  let told = false;
  const { credentials } = credentialsFor(config, () => {
    if (told) return;
    told = true;
    logger?.warn(
      { endpoint: resolveTarget(config).endpoint?.url },
      'no AWS credentials found: requests to this endpoint on this machine are signed with placeholder keys, ' +
        'which DynamoDB Local accepts (give credentials to use others)',
    );
  });
  return {
    region: config.region ?? regionProvider(),
    // The endpoint replaces the region's URL only; the region still signs the requests. Without
    // one, the SDK finds AWS_ENDPOINT_URL_DYNAMODB and the others itself (target.ts says which).
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
  };
}

export { describeTarget } from './target.js';
