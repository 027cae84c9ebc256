/**
 * Builds a store's shared parts (store-context.ts) from its resolved options:
 * the codec (with the encryption keys, which are used here and kept nowhere
 * else), the gateway every DynamoDB call goes through, the counters and the
 * per-process memory of decoded and written items.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ResolvedConfig } from '../config/options.js';
import { createCodec } from '../codec/codec.js';
import { DecodedCache } from './decoded-cache.js';
import { Gateway } from './gateway.js';
import { EndNotices } from './lifecycle.js';
import type { Logger } from '../logger.js';
import { emptyStats } from './stats.js';
import type { RequestContext, StoreContext } from './store-context.js';

/**
 * `config` holds the secrets (the codec takes its keys from it); `redacted` is what the parts keep.
 * `facade` is the store's own: its key function, its table check and its events.
 */
export function createContext(
  config: ResolvedConfig,
  redacted: ResolvedConfig,
  logger: Logger,
  client: DynamoDBClient,
  target: string,
  facade: Pick<StoreContext, 'keyOf' | 'ready' | 'emit'>,
): RequestContext {
  const codec = createCodec({
    ...config,
    onKeyBudget: (keyId, frames) =>
      logger.warn(
        { table: config.table, keyId, frames },
        'this process has encrypted 2^30 sessions with one key: put a new key first in encryptionKeys soon (AES-GCM random IVs: 2^32 per key)',
      ),
  });
  const statsData = emptyStats();
  const where = { table: config.table, target, endpoint: config.endpoint, settleBudgetMs: config.requestTimeoutMs * config.maxAttempts };
  const gateway = new Gateway(client, statsData, where, config.returnConsumedCapacity);
  return {
    config: redacted,
    gateway,
    codec,
    logger,
    statsData,
    decoded: new DecodedCache(config.decodedCacheBytes),
    latest: new Map(),
    ends: new EndNotices(),
    ...facade,
  };
}
