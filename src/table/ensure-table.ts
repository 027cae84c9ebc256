import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  UpdateTimeToLiveCommand,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import type { ResolvedConfig } from '../config/options.js';
import { TableNotFoundError, TableSchemaError } from '../errors.js';
import { noteEngine } from '../aws/engine.js';
import { isAlreadyThere, isNotFound, isUnsupportedOperation } from '../aws/errors.js';
import type { Gateway } from '../core/gateway.js';
import type { Logger } from '../logger.js';
import { createTableInput, schemaProblem, TTL_ATTRIBUTE } from './schema.js';
import { noteMultiRegion } from '../regions/multi-region.js';

export interface EnsureTableResult {
  created: boolean;
  /** UNSUPPORTED: the engine has no TTL API (dynalite); UNKNOWN: enabling it failed otherwise. */
  ttl: 'ENABLED' | 'ENABLING' | 'DISABLED' | 'DISABLING' | 'UNKNOWN' | 'UNSUPPORTED';
}

const tableMissing = (err: unknown) => (err as { code?: string } | null)?.code === 'DSM_TABLE_NOT_FOUND' || isNotFound(err);

async function describe(gateway: Gateway, table: string): Promise<TableDescription | undefined> {
  try {
    const out = await gateway.send<{ Table?: TableDescription }>('DescribeTable', new DescribeTableCommand({ TableName: table }));
    return out.Table;
  } catch (err) {
    if (tableMissing(err)) return undefined;
    throw err;
  }
}

async function waitActive(gateway: Gateway, table: string, timeoutMs: number): Promise<TableDescription> {
  const deadline = Date.now() + timeoutMs;
  let delay = 100;
  for (;;) {
    const desc = await describe(gateway, table);
    if (desc?.TableStatus === 'ACTIVE') return desc;
    if (Date.now() > deadline) {
      throw new TableNotFoundError(
        table,
        `table "${table}" did not become ACTIVE within ${Math.round(timeoutMs / 1000)} s (status ${desc?.TableStatus ?? 'absent'}): ` +
          'check it in the DynamoDB console, then restart',
      );
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 2000);
  }
}

/**
 * Makes sure the session table exists with the seed's key schema and TTL on
 * `expiresAt`. Safe to call from many processes at once: a concurrent
 * CreateTable or UpdateTimeToLive by another process counts as success.
 */
export async function ensureTable(
  gateway: Gateway,
  config: Pick<
    ResolvedConfig,
    'table' | 'createIfNotExist' | 'billingMode' | 'readCapacityUnits' | 'writeCapacityUnits' | 'userIndex' | 'reapIntervalMs' | 'endpoint'
  >,
  target: string,
  logger: Logger,
): Promise<EnsureTableResult> {
  let desc = await describe(gateway, config.table);
  let created = false;
  if (!desc) {
    if (!config.createIfNotExist) {
      throw new TableNotFoundError(
        config.table,
        `table "${config.table}" does not exist at ${target} and createIfNotExist is false: ` +
          `create it with \`npx dynamodb-session create-table --table ${config.table}\`, or set createIfNotExist: true`,
      );
    }
    try {
      await gateway.send('CreateTable', new CreateTableCommand(createTableInput(config)));
      created = true;
      logger.info?.({ table: config.table, billingMode: config.billingMode }, 'created the session table');
    } catch (err) {
      // Another process won the race to create it: that is what we wanted.
      if (!isAlreadyThere(err)) throw err;
    }
    desc = await waitActive(gateway, config.table, 120_000);
  } else if (desc.TableStatus === 'CREATING') {
    desc = await waitActive(gateway, config.table, 120_000);
  }
  const problem = schemaProblem(desc);
  if (problem) {
    throw new TableSchemaError(
      config.table,
      `table "${config.table}" at ${target} cannot hold sessions: ${problem}. ` +
        'Use another table name (option "table"), or recreate it with `npx dynamodb-session create-table`',
    );
  }
  if (config.userIndex && !desc.GlobalSecondaryIndexes?.some((i) => i.IndexName === config.userIndex)) {
    logger.warn(
      { table: config.table, index: config.userIndex },
      'the table has no user index: destroyUserSessions() will scan the table; ' +
        'add the index with `npx dynamodb-session create-table --user-index` on a new table',
    );
  }
  // No TTL in MRSC: the store's reaper deletes expired sessions instead (regions/multi-region.ts).
  if (noteMultiRegion(gateway, desc, config, logger)) return { created, ttl: 'UNSUPPORTED' };
  return { created, ttl: await ensureTtl(gateway, config, target, logger) };
}

async function ensureTtl(
  gateway: Gateway,
  config: Pick<ResolvedConfig, 'table' | 'reapIntervalMs' | 'endpoint'>,
  target: string,
  logger: Logger,
): Promise<EnsureTableResult['ttl']> {
  const table = config.table;
  try {
    const out = await gateway.send<{ TimeToLiveDescription?: { TimeToLiveStatus?: string; AttributeName?: string } }>(
      'DescribeTimeToLive',
      new DescribeTimeToLiveCommand({ TableName: table }),
    );
    const status = out.TimeToLiveDescription?.TimeToLiveStatus ?? 'DISABLED';
    if (status === 'ENABLED' || status === 'ENABLING') {
      if (out.TimeToLiveDescription?.AttributeName !== TTL_ATTRIBUTE) {
        logger.warn(
          { table, attribute: out.TimeToLiveDescription?.AttributeName },
          `the table's TTL attribute is not "${TTL_ATTRIBUTE}": expired sessions are ignored on read but not deleted; ` +
            'run `npx dynamodb-session purge-expired` or set reapIntervalMs',
        );
      }
      return status;
    }
    await gateway.send(
      'UpdateTimeToLive',
      new UpdateTimeToLiveCommand({ TableName: table, TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true } }),
    );
    return 'ENABLED';
  } catch (err) {
    // Engines without TTL, or a concurrent enable by another process: sessions still
    // expire on read; only the deleting is left to purge-expired or the reaper.
    const message = (err as Error).message ?? '';
    if (/already enabled|multiple times/i.test(message)) return 'ENABLED';
    if (isUnsupportedOperation(err)) {
      noteEngine(gateway.engine, (err as { cause?: unknown }).cause ?? err, config.endpoint !== undefined);
      const engine = gateway.engine.name ?? 'the DynamoDB engine';
      logger.warn(
        { table, target, engine },
        config.reapIntervalMs > 0
          ? `${engine} at ${target} has no TTL: expired sessions read as absent, ` +
            `and this store's reaper deletes them every ${config.reapIntervalMs} ms (reapIntervalMs)`
          : `${engine} at ${target} has no TTL: expired sessions read as absent but stay in the table; ` +
            'set reapIntervalMs (e.g. 60000) for the store to delete them, or run `npx dynamodb-session purge-expired` on a schedule',
      );
      return 'UNSUPPORTED';
    }
    logger.warn(
      { table, reason: message.slice(0, 200) },
      'could not enable TTL: expired sessions are ignored on read; delete them with `npx dynamodb-session purge-expired` or set reapIntervalMs',
    );
    return 'UNKNOWN';
  }
}
