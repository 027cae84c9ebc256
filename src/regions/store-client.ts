/**
 * Which client a store talks through: the application's own (`client`), a
 * RoutingClient over the replicas of a global table (`regions`), or one
 * Region's, made with aws/client.ts's settings.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ResolvedConfig } from '../config/options.js';
import type { Logger } from '../logger.js';
import { clientConfig } from '../aws/client.js';
import { RoutingClient } from './routing-client.js';

/** `logger` hears, once, that an endpoint on this machine is signed for with placeholder keys. */
export function createDynamoDBClient(config: ResolvedConfig, logger?: Pick<Logger, 'warn'>): DynamoDBClient {
  if (config.client) return config.client;
  if (config.regions) return new RoutingClient(config, logger);
  return new DynamoDBClient(clientConfig(config, logger));
}
