// TEMPORARY placeholder (being replaced by the full credentials/region implementation).
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { FALLBACK_REGION, type ResolvedConfig } from '../config/options.js';

export function createDynamoDBClient(config: ResolvedConfig): DynamoDBClient {
  if (config.client) return config.client;
  return new DynamoDBClient({
    region: config.region ?? process.env.AWS_REGION ?? FALLBACK_REGION,
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    ...(config.accessKeyId && config.secretAccessKey ? { credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey } } : {}),
    maxAttempts: config.maxAttempts,
    requestHandler: new NodeHttpHandler({ requestTimeout: config.requestTimeoutMs, connectionTimeout: config.requestTimeoutMs }),
  });
}

export function describeTarget(config: ResolvedConfig): string {
  return config.endpoint ? `endpoint ${config.endpoint}` : `region ${config.region ?? FALLBACK_REGION}`;
}
