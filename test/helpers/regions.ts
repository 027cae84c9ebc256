/**
 * Two Regions of a global table for the tests: "us-east-1" is the suite's
 * DynamoDB Local, "eu-west-1" a second one this file starts (and stops), with
 * a replicator (replicator.ts) between them per table. A fault proxy in front
 * of each Region lets a test cut the other Region off from a server.
 */
import { after } from 'node:test';
import { startDynamoDBLocal } from '../../src/embedded/dynamodb-local.js';
import { SessionStore } from '../../src/store/session-store.js';
import type { SessionStoreOptions } from '../../src/config/options.js';
import { ENDPOINT, localOptions, uniqueTable } from './dynamo.js';
import { startReplicator, type Replicator } from './replicator.js';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';

export const EAST = 'us-east-1';
export const WEST = 'eu-west-1';

const second = await startDynamoDBLocal();
after(() => second.stop());

export const ENDPOINTS: Readonly<Record<string, string>> = { [EAST]: ENDPOINT, [WEST]: second.endpoint };

export interface GlobalTable {
  readonly table: string;
  readonly replicator: Replicator;
  /** A proxy in front of each Region: `proxies[WEST].down()` cuts eu-west-1 off from stores that reach it through it. */
  readonly proxies: Readonly<Record<string, FaultProxy>>;
  /** A store of a server in `region`; with `routing`, its `regions` reach the other Region through its proxy. */
  store(region: string, routing: boolean, extra?: SessionStoreOptions): SessionStore;
  /** A plain store reading `region`'s copy directly, strongly, for assertions. */
  copyIn(region: string): SessionStore;
  close(): Promise<void>;
}

export async function globalTable(options: { lagMs?: number; userIndex?: boolean } = {}): Promise<GlobalTable> {
  const table = uniqueTable('global');
  const replicator = await startReplicator({
    table,
    regions: [EAST, WEST].map((name) => ({ name, endpoint: ENDPOINTS[name]! })),
    lagMs: options.lagMs ?? 200,
    ...(options.userIndex ? { userIndex: 'userId-index' } : {}),
  });
  const proxies: Record<string, FaultProxy> = {};
  for (const region of [EAST, WEST]) proxies[region] = await startFaultProxy(Number(new URL(ENDPOINTS[region]!).port));
  const stores: SessionStore[] = [];
  const make = (opts: SessionStoreOptions) => {
    const store = new SessionStore(localOptions({ table, ...(options.userIndex ? { userIndex: true } : {}), ...opts }));
    stores.push(store);
    return store;
  };
  return {
    table,
    replicator,
    proxies,
    store(region, routing, extra = {}) {
      const other = region === EAST ? WEST : EAST;
      const regions = { [region]: ENDPOINTS[region]!, [other]: proxies[other]!.endpoint };
      return make({ region, endpoint: ENDPOINTS[region]!, ...(routing ? { regions } : {}), ...extra });
    },
    copyIn(region) {
      return make({ region, endpoint: ENDPOINTS[region]!, consistentRead: true });
    },
    async close() {
      await Promise.all(stores.map((s) => s.close()));
      await replicator.stop();
      await Promise.all(Object.values(proxies).map((p) => p.close()));
    },
  };
}
