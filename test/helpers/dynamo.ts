/**
 * Where the tests find their engines: the suite's runner (test/run.ts) starts
 * DynamoDB Local and dynalite and passes DSM_TEST_ENDPOINT and
 * DSM_TEST_DYNALITE_ENDPOINT; a file run on its own starts its own.
 */
import { after } from 'node:test';
import { randomBytes } from 'node:crypto';
import { startDynamoDBLocal } from '../../src/embedded/dynamodb-local.js';
import { startDynalite } from '../../src/embedded/dynalite.js';
import type { SessionStoreOptions } from '../../src/config/options.js';
import type { Logger } from '../../src/logger.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

let endpoint = process.env.DSM_TEST_ENDPOINT;
if (!endpoint) {
  const db = await startDynamoDBLocal();
  endpoint = db.endpoint;
  process.env.DSM_TEST_ENDPOINT = endpoint;
  after(() => db.stop());
}

export const ENDPOINT: string = endpoint;

let dynaliteEndpoint = process.env.DSM_TEST_DYNALITE_ENDPOINT;
if (!dynaliteEndpoint) {
  const server = await startDynalite();
  dynaliteEndpoint = server.endpoint;
  process.env.DSM_TEST_DYNALITE_ENDPOINT = dynaliteEndpoint;
  after(() => server.stop());
}

export interface Engine {
  /** As the store names it in its messages. */
  readonly name: 'DynamoDB Local' | 'dynalite';
  readonly endpoint: string;
  /** What sets it apart, for test names. */
  readonly traits: { returnsItemOnConditionFailure: boolean; ttl: boolean };
}

/**
 * The engine matrix: tests of the store's promises (no lost update, a logout
 * sticks, faults answered 503) run on each. DynamoDB Local returns the item a
 * failed condition found; dynalite, like older DynamoDB Local, LocalStack and
 * Alternator releases, returns none, and has no TTL.
 */
export const ENGINES: readonly Engine[] = [
  { name: 'DynamoDB Local', endpoint: ENDPOINT, traits: { returnsItemOnConditionFailure: true, ttl: true } },
  { name: 'dynalite', endpoint: dynaliteEndpoint, traits: { returnsItemOnConditionFailure: false, ttl: false } },
];

/** A table name no other test uses. */
export function uniqueTable(prefix = 'test'): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

/** Options reaching DynamoDB Local with dummy keys (it checks none). */
export function localOptions(extra: SessionStoreOptions = {}): SessionStoreOptions {
  return {
    endpoint: ENDPOINT,
    region: 'us-east-1',
    accessKeyId: 'local',
    secretAccessKey: 'local',
    table: uniqueTable(),
    logger: quietLogger(),
    ...extra,
  };
}

export interface CapturedLogger extends Logger {
  lines: Array<{ level: string; obj: object | string; msg?: string }>;
  text(): string;
}

/** A logger that keeps what it is told, for assertions, and prints nothing. */
export function quietLogger(): CapturedLogger {
  const lines: CapturedLogger['lines'] = [];
  const push = (level: string) => (obj: object | string, msg?: string) => {
    lines.push({ level, obj, ...(msg !== undefined ? { msg } : {}) });
  };
  return {
    lines,
    debug: push('debug'),
    info: push('info'),
    warn: push('warn'),
    error: push('error'),
    text: () => lines.map((l) => `${l.level} ${JSON.stringify(l.obj)} ${l.msg ?? ''}`).join('\n'),
  };
}
