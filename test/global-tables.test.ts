/**
 * A global table in multi-Region eventual consistency (MREC): two DynamoDB
 * Local instances for two Regions, a replicator applying each one's stream to
 * the other by last writer wins after 200 ms (test/helpers/replicator.ts), and
 * stores (servers) in both Regions working on the same sessions at once.
 *
 * With `regions` (home Region routing) every write and lease of a session
 * goes to its home Region: nothing acknowledged is lost, and a logout or a
 * revoke sticks in both Regions. Without it, the same scenarios lose what the
 * docs warn of (docs/global-tables.md), and each test shows that loss.
 */
import { describe, it, after, before } from 'node:test';
import assert from 'node:assert/strict';
import type { SessionStore } from '../src/store/session-store.js';
import { homeRegionOf, homeSessionId } from '../src/regions/home-region.js';
import { StoreUnavailableError } from '../src/errors.js';
import { EAST, WEST, ENDPOINTS, globalTable, type GlobalTable } from './helpers/regions.js';
import { DeleteItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand, DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand, type _Record } from '@aws-sdk/client-dynamodb-streams';
import { createStreamsHandler } from '../src/streams/lambda.js';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sessionHandler } from '../src/adapters/http.js';

/** One request incrementing the session's counter (POST: under locking 'auto' it takes the lease); true when acknowledged. */
async function increment(store: SessionStore, id: string): Promise<boolean> {
  try {
    const loaded = await store.load(id, { method: 'POST' });
    if (!loaded) return false;
    await store.commit(loaded.handle, id, { ...loaded.data, n: ((loaded.data.n as number) ?? 0) + 1 });
    return true;
  } catch {
    return false;
  }
}

/** `k` increments in a row from each store, the stores running at once; how many were acknowledged. */
async function race(stores: SessionStore[], id: string, k: number): Promise<number> {
  const counts = await Promise.all(
    stores.map(async (store) => {
      let acked = 0;
      for (let i = 0; i < k; i++) if (await increment(store, id)) acked += 1;
      return acked;
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}

async function counterIn(g: GlobalTable, region: string, id: string): Promise<number | null> {
  const data = await g.copyIn(region).get(id);
  return data === null ? null : ((data.n as number) ?? 0);
}

async function create(store: SessionStore, id: string, data: Record<string, unknown>, userId?: string): Promise<void> {
  await store.commit(null, id, data, userId !== undefined ? { userId } : {});
}

const K = 12;

describe('a session id names its home Region', () => {
  it('a new id ends in ~region and routes there; an id without one gets the same home on every server', () => {
    const regions = [EAST, WEST];
    assert.equal(homeRegionOf(homeSessionId(WEST), regions), WEST);
    assert.equal(homeRegionOf(homeSessionId(EAST), regions), EAST);
    assert.equal(homeRegionOf(`${homeSessionId(WEST)}#w1#0`, regions), WEST, "a large session's chunk lives with its head");
    const plain = 'legacy-id-without-home';
    assert.ok(regions.includes(homeRegionOf(plain, regions)));
    assert.equal(homeRegionOf(plain, regions), homeRegionOf(plain, [...regions]));
  });
});

describe('MREC, two Regions, 200 ms replication lag: the classic race', () => {
  let g: GlobalTable;
  before(async () => {
    g = await globalTable();
  });
  after(() => g.close());

  it(`routing on: ${K} increments from each Region at once lose no acknowledged increment, in either Region`, async () => {
    const east = g.store(EAST, true);
    const west = g.store(WEST, true);
    const id = homeSessionId(EAST);
    await create(east, id, { n: 0 });
    const acked = await race([east, west], id, K);
    await g.replicator.settle();
    assert.equal(acked, 2 * K, 'every request was acknowledged');
    assert.equal(await counterIn(g, EAST, id), acked);
    assert.equal(await counterIn(g, WEST, id), acked);
    assert.equal(g.replicator.dropped, 0, 'no Region dropped a replicated write');
  });

  it(`routing off: the same race loses acknowledged increments (last writer wins between Regions)`, async () => {
    const east = g.store(EAST, false);
    const west = g.store(WEST, false);
    const id = homeSessionId(EAST);
    await create(east, id, { n: 0 });
    await g.replicator.settle();
    const acked = await race([east, west], id, K);
    await g.replicator.settle();
    const eastN = await counterIn(g, EAST, id);
    const westN = await counterIn(g, WEST, id);
    assert.equal(eastN, westN, 'the Regions converge');
    const lost = acked - (eastN ?? 0);
    assert.ok(lost > 0, `expected lost increments: ${acked} acknowledged, ${eastN} kept`);
    console.log(`# routing off: ${acked} increments acknowledged, ${eastN} kept, ${lost} lost`);
  });
});

describe('MREC: a logout and a revoke stick in both Regions', () => {
  let g: GlobalTable;
  before(async () => {
    g = await globalTable({ userIndex: true });
  });
  after(() => g.close());

  for (const routing of [true, false]) {
    const outcome = routing ? 'does not bring the session back' : 'brings it back';
    it(`routing ${routing ? 'on' : 'off'}: a logout in the home Region, then a write from the other before replication ${outcome}`, async () => {
      const east = g.store(EAST, routing);
      const west = g.store(WEST, routing);
      const id = homeSessionId(EAST);
      await create(east, id, { n: 1 });
      await g.replicator.settle();
      // A request in the west loads the session, the user logs out in the east meanwhile, the west request saves.
      const loaded = await west.load(id, { method: 'POST' });
      assert.ok(loaded);
      // Nothing replicates until both writes are done, however slow the machine.
      g.replicator.partition();
      const logout = east.destroy(id);
      // Under routing the west request holds the lease at home: the logout waits for its save, then deletes.
      await west.commit(loaded.handle, id, { ...loaded.data, n: 2 }).catch(() => undefined);
      await logout;
      // The west's next write is made after the logout has been seen on the east's stream (so stamped after it, as the write's time would be).
      await g.replicator.caughtUp();
      // A later request from the west, before the logout has reached it.
      const again = await west.load(id, { method: 'POST' });
      if (again) await west.commit(again.handle, id, { ...again.data, n: 3 }).catch(() => undefined);
      g.replicator.heal();
      await g.replicator.settle();
      const inEast = await counterIn(g, EAST, id);
      const inWest = await counterIn(g, WEST, id);
      if (routing) {
        assert.equal(again, null, 'the home Region knows of the logout at once');
        assert.deepEqual([inEast, inWest], [null, null], 'gone in both Regions');
      } else {
        assert.ok(again, 'the west still had the session');
        assert.deepEqual([inEast, inWest], [3, 3], 'the logout was overwritten in both Regions');
      }
    });

    it(`routing ${routing ? 'on' : 'off'}: a revoke from one Region while the other writes ${routing ? 'sticks' : 'is undone'}`, async () => {
      const east = g.store(EAST, routing);
      const west = g.store(WEST, routing);
      const user = `user-${routing}`;
      const homedEast = homeSessionId(EAST);
      const homedWest = homeSessionId(WEST);
      await create(east, homedEast, { n: 1 }, user);
      await create(west, homedWest, { n: 1 }, user);
      await g.replicator.settle();
      // The revoke runs in the west; a request of the east session, in the east, loaded it just before.
      const loaded = await east.load(homedEast, { method: 'GET' });
      assert.ok(loaded);
      // The write lands before the revoke has replicated, however slow the machine: replication waits until both are done.
      g.replicator.partition();
      assert.equal(await west.destroyUserSessions(user), 2);
      // The east write is made after the revoke has been seen on the west's stream: last writer wins then settles on the write, as DynamoDB's stamps (the write's time) would.
      await g.replicator.caughtUp();
      await east.commit(loaded.handle, homedEast, { ...loaded.data, n: 2 }).catch(() => undefined);
      g.replicator.heal();
      await g.replicator.settle();
      const left: Array<number | null> = [];
      for (const id of [homedEast, homedWest]) for (const region of [EAST, WEST]) left.push(await counterIn(g, region, id));
      if (routing) assert.deepEqual(left, [null, null, null, null], 'every session of the user is gone in both Regions');
      else assert.deepEqual(left.slice(0, 2), [2, 2], 'the east session came back in both Regions');
    });
  }
});

describe('MREC: reads', () => {
  let g: GlobalTable;
  before(async () => {
    g = await globalTable({ lagMs: 400 });
  });
  after(() => g.close());

  it('a read the version cookie cannot vouch for goes home; one it can stays local (the home Region cut off)', async () => {
    const east = g.store(EAST, true);
    const west = g.store(WEST, true, { maxAttempts: 1 });
    const id = homeSessionId(EAST);
    await create(east, id, { n: 1 });
    const first = await east.load(id);
    await east.commit(first!.handle, id, { n: 2 });
    const version = first!.handle.storedVersion;
    // Before replication: the west's copy is missing or older than the cookie's version, so the read goes home.
    const early = await west.load(id, { method: 'GET', minVersion: version });
    assert.equal(early?.data.n, 2);
    await g.replicator.settle();
    g.proxies[EAST]!.down();
    try {
      const local = await west.load(id, { method: 'GET', minVersion: version });
      assert.equal(local?.data.n, 2, 'read from the west copy, without the east');
      await assert.rejects(west.load(id, { method: 'GET' }), StoreUnavailableError, 'a read without a cookie is strong, at home');
    } finally {
      g.proxies[EAST]!.up();
    }
  });
});

describe("MREC: the home Region unreachable (a partition)", () => {
  let g: GlobalTable;
  before(async () => {
    g = await globalTable();
  });
  after(() => g.close());

  it("onRegionFailure 'fail' (the default): a write to a session homed in the cut-off Region is a StoreUnavailableError (503)", async () => {
    const west = g.store(WEST, true);
    const east = g.store(EAST, true, { maxAttempts: 1 });
    const id = homeSessionId(WEST);
    await create(west, id, { n: 1 });
    await g.replicator.settle();
    g.proxies[WEST]!.down();
    try {
      await assert.rejects(east.load(id, { method: 'POST' }), StoreUnavailableError);
    } finally {
      g.proxies[WEST]!.up();
    }
  });

  it("onRegionFailure 'failover': writes go on in both Regions during the partition, and last writer wins loses one of them after it", async () => {
    const west = g.store(WEST, true);
    const east = g.store(EAST, true, { maxAttempts: 1, onRegionFailure: 'failover' });
    const id = homeSessionId(WEST);
    await create(west, id, { cart: [] });
    await g.replicator.settle();
    g.proxies[WEST]!.down();
    g.replicator.partition();
    let eastWrote = false;
    let westWrote = false;
    try {
      const a = await east.load(id, { method: 'POST' });
      await east.commit(a!.handle, id, { cart: [...(a!.data.cart as string[]), 'east'] });
      eastWrote = true;
      const b = await west.load(id, { method: 'POST' });
      await west.commit(b!.handle, id, { cart: [...(b!.data.cart as string[]), 'west'] });
      westWrote = true;
    } finally {
      g.proxies[WEST]!.up();
      g.replicator.heal();
    }
    await g.replicator.settle();
    assert.ok(eastWrote && westWrote, 'both writes were acknowledged');
    const inEast = (await g.copyIn(EAST).get(id))?.cart;
    const inWest = (await g.copyIn(WEST).get(id))?.cart;
    assert.deepEqual(inEast, inWest, 'the Regions converge');
    assert.equal((inEast as string[]).length, 1, `one acknowledged write is lost (kept: ${JSON.stringify(inEast)})`);
    assert.ok(g.replicator.dropped >= 1);
  });
});

/** Every record `table`'s stream in `endpoint`'s Region holds, oldest first. */
async function streamRecords(endpoint: string, region: string, table: string): Promise<_Record[]> {
  const client = new DynamoDBStreamsClient({ region, endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const { DynamoDBClient, DescribeTableCommand } = await import('@aws-sdk/client-dynamodb');
  const ddb = new DynamoDBClient({ region, endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  try {
    const arn = (await ddb.send(new DescribeTableCommand({ TableName: table }))).Table!.LatestStreamArn!;
    const records: _Record[] = [];
    for (const shard of (await client.send(new DescribeStreamCommand({ StreamArn: arn }))).StreamDescription?.Shards ?? []) {
      const start = new GetShardIteratorCommand({ StreamArn: arn, ShardId: shard.ShardId!, ShardIteratorType: 'TRIM_HORIZON' });
      let iterator = (await client.send(start)).ShardIterator;
      for (let empty = 0; iterator && empty < 3; ) {
        const out = await client.send(new GetRecordsCommand({ ShardIterator: iterator }));
        records.push(...(out.Records ?? []));
        empty = out.Records?.length ? 0 : empty + 1;
        iterator = out.NextShardIterator;
      }
    }
    return records;
  } finally {
    client.destroy();
    ddb.destroy();
  }
}

describe('MREC: an expiry is told in one Region only', () => {
  let g: GlobalTable;
  before(async () => {
    g = await globalTable();
  });
  after(() => g.close());

  it("a TTL deletion reaches both Regions' streams; only the consumer of the Region that wrote the session last tells it", async () => {
    const east = g.store(EAST, true);
    const id = homeSessionId(WEST);
    // Made by a server in the east, written in its home, the west: the item records so (writtenIn).
    await create(east, id, { n: 1 });
    await g.replicator.settle();
    const key = east.keyOf(id);
    // TTL deletes it in the west; the deletion is replicated to the east.
    await g.copyIn(WEST).client.send(new DeleteItemCommand({ TableName: g.table, Key: { sessionId: { S: key } } }));
    await g.replicator.settle();
    const removes = async (region: string) =>
      (await streamRecords(ENDPOINTS[region]!, region, g.table))
        .filter((r) => r.eventName === 'REMOVE' && r.dynamodb?.Keys?.sessionId?.S === key)
        .map((r) => ({ ...r, userIdentity: { Type: 'Service', PrincipalId: 'dynamodb.amazonaws.com' } }));
    const eastRecords = await removes(EAST);
    const westRecords = await removes(WEST);
    const records: Record<string, _Record[]> = { [EAST]: eastRecords, [WEST]: westRecords };
    assert.equal(eastRecords.length, 1);
    assert.equal(westRecords.length, 1);
    assert.equal((eastRecords[0]!.dynamodb?.OldImage?.writtenIn as { S?: string } | undefined)?.S, WEST);
    const told: string[] = [];
    for (const region of [EAST, WEST]) {
      const handler = createStreamsHandler({ region, regions: [EAST, WEST], onExpired: () => told.push(region) });
      await handler({ Records: records[region] as never });
    }
    assert.deepEqual(told, [WEST], 'told once, in the west');
    // Without the Regions, each Region's consumer tells it: twice.
    let unaware = 0;
    for (const region of [EAST, WEST]) await createStreamsHandler({ onExpired: () => (unaware += 1) })({ Records: records[region] as never });
    assert.equal(unaware, 2);
  });
});

describe('MREC: servers in both Regions (the node:http entry), routing on', () => {
  let g: GlobalTable;
  const servers: Server[] = [];
  before(async () => {
    g = await globalTable();
  });
  after(async () => {
    for (const server of servers) server.close();
    await g.close();
  });

  /** A server of `region`: POST /inc adds one to the session's counter, POST /logout destroys the session. */
  async function serverIn(region: string): Promise<string> {
    const withSession = sessionHandler({ store: g.store(region, true), secret: 'global-tables-test-secret-of-32-chars!' });
    const server = createServer((req, res) =>
      withSession(req, res, async (session) => {
        if (req.url === '/logout') await session.destroy();
        else session.set('n', (session.get<number>('n') ?? 0) + 1);
        res.end(JSON.stringify({ n: session.get('n') ?? null }));
      }),
    );
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it(`${K} POSTs to each Region's server at once, one browser: every one answered 200 and kept in both Regions; a logout in the other Region sticks`, async () => {
    const [east, west] = [await serverIn(EAST), await serverIn(WEST)];
    const first = await fetch(`${east}/inc`, { method: 'POST' });
    assert.equal(first.status, 200);
    const cookie = first.headers.getSetCookie().find((c) => c.startsWith('sid='))!.split(';')[0]!;
    const id = decodeURIComponent(cookie.slice('sid='.length)).replace(/^s:/, '').split('.').slice(0, -1).join('.');
    assert.equal(homeRegionOf(id, [EAST, WEST]), EAST, 'the session was given the Region that created it as its home');
    const post = (url: string) => fetch(`${url}/inc`, { method: 'POST', headers: { cookie } }).then((r) => r.status);
    const statuses = await Promise.all(Array.from({ length: 2 * K }, (_, i) => post(i % 2 === 0 ? east : west)));
    assert.deepEqual(statuses, Array(2 * K).fill(200));
    await g.replicator.settle();
    assert.equal(await counterIn(g, EAST, id), 2 * K + 1, 'east: every acknowledged increment');
    assert.equal(await counterIn(g, WEST, id), 2 * K + 1, 'west: every acknowledged increment');
    // A logout through the west server, then an increment through the east one: the session stays gone everywhere.
    assert.equal((await fetch(`${west}/logout`, { method: 'POST', headers: { cookie } })).status, 200);
    const after = await fetch(`${east}/inc`, { method: 'POST', headers: { cookie } });
    assert.deepEqual(await after.json(), { n: 1 }, 'a new, empty session: the old one is gone');
    await g.replicator.settle();
    assert.equal(await counterIn(g, EAST, id), null);
    assert.equal(await counterIn(g, WEST, id), null);
  });
});
