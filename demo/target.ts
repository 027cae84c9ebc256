/**
 * Which DynamoDB the demo talks to. The primary decides once and hands the
 * answer to its workers through their environment, so every process of the
 * cluster reaches the same table.
 */
import type { SessionStoreOptions } from '../src/config/options.js';

export interface DemoTarget {
  /** Unset for Amazon DynamoDB itself. */
  endpoint?: string;
  region?: string;
  /** Dummy keys for engines that check none (DynamoDB Local, dynalite). */
  localKeys: boolean;
  table: string;
  /** Said on the page and at start: which engine holds the sessions. */
  label: string;
  /** On AWS, a table the demo creates should cost nothing while idle. */
  payPerRequest: boolean;
}

const ENV = {
  endpoint: 'DEMO_ENDPOINT',
  region: 'DEMO_REGION',
  localKeys: 'DEMO_LOCAL_KEYS',
  table: 'DEMO_TABLE_RESOLVED',
  label: 'DEMO_LABEL',
  payPerRequest: 'DEMO_PAY_PER_REQUEST',
} as const;

export function targetToEnv(target: DemoTarget): Record<string, string> {
  return {
    [ENV.endpoint]: target.endpoint ?? '',
    [ENV.region]: target.region ?? '',
    [ENV.localKeys]: target.localKeys ? '1' : '',
    [ENV.table]: target.table,
    [ENV.label]: target.label,
    [ENV.payPerRequest]: target.payPerRequest ? '1' : '',
  };
}

export function targetFromEnv(env: NodeJS.ProcessEnv): DemoTarget {
  const table = env[ENV.table];
  if (!table) throw new Error('demo/worker.ts is started by demo/start.ts (npm start), which tells it where DynamoDB is');
  return {
    ...(env[ENV.endpoint] ? { endpoint: env[ENV.endpoint] } : {}),
    ...(env[ENV.region] ? { region: env[ENV.region] } : {}),
    localKeys: env[ENV.localKeys] === '1',
    table,
    label: env[ENV.label] ?? '',
    payPerRequest: env[ENV.payPerRequest] === '1',
  };
}

export function storeOptions(target: DemoTarget): SessionStoreOptions {
  return {
    table: target.table,
    ...(target.endpoint ? { endpoint: target.endpoint } : {}),
    ...(target.region ? { region: target.region } : {}),
    ...(target.localKeys ? { accessKeyId: 'local', secretAccessKey: 'local' } : {}),
    ...(target.payPerRequest ? { billingMode: 'PAY_PER_REQUEST' as const } : {}),
  };
}
