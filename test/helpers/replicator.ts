/**
 * Two (or more) "Regions" of a DynamoDB global table in multi-Region eventual
 * consistency (MREC), made of DynamoDB Local instances: each Region's table has
 * a stream, and this replicator reads every stream and applies each change to
 * the other Regions after a set lag, settling concurrent writes by last writer
 * wins, as DynamoDB does:
 *
 * - a change is stamped with the time it was seen on its Region's stream
 *   (streams are polled every few ms, so the stamp is within a poll of the
 *   write; DynamoDB stamps the write itself);
 * - a Region applies a replicated change only when its stamp is later than
 *   that of the change its copy of the item holds; an older one is dropped
 *   (counted in `dropped`: a write some Region acknowledged and then lost);
 * - a change the replicator itself applied comes back on the destination's
 *   stream and is recognised (same image) instead of being sent on again.
 *
 * `partition()` holds every change back until `heal()`: the Regions cannot
 * see each other. Conditions and strongly consistent reads stay per Region,
 * which is the point: a version check made in one Region knows nothing of a
 * write in the other until the lag has passed.
 */
import { CreateTableCommand, DeleteItemCommand, DescribeTableCommand, DynamoDBClient, PutItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';

type Item = Record<string, AttributeValue>;

export interface RegionEndpoint {
  readonly name: string;
  readonly endpoint: string;
}

export interface ReplicatorOptions {
  readonly table: string;
  readonly regions: readonly RegionEndpoint[];
  /** Time from a change seen on its stream to its application elsewhere, in ms. Default 200. */
  readonly lagMs?: number;
  /** Also create a KEYS_ONLY user index named so (destroyUserSessions). */
  readonly userIndex?: string;
}

export interface Replicator {
  /** Changes applied to another Region. */
  readonly applied: number;
  /** Replicated changes a Region dropped because its copy held a later write: acknowledged writes lost by LWW. */
  readonly dropped: number;
  /** The Regions stop seeing each other: changes wait until `heal()`. */
  partition(): void;
  heal(): void;
  /** Resolves once every change seen so far has been applied or dropped and the streams are quiet. */
  settle(): Promise<void>;
  /**
   * Resolves once every Region's stream has been read through in a round begun
   * after the call: each change made before it has been seen and stamped, so a
   * write made after it is stamped later (last writer wins picks it).
   */
  caughtUp(): Promise<void>;
  stop(): Promise<void>;
}

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

/** Canonical JSON of an image: attribute order differs between what was put and what the stream shows. */
function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value instanceof Uint8Array) return JSON.stringify(Buffer.from(value).toString('base64'));
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  return `{${entries.sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
}

async function createReplicaTable(client: DynamoDBClient, table: string, userIndex: string | undefined): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: table,
      KeySchema: [{ AttributeName: 'sessionId', KeyType: 'HASH' }],
      AttributeDefinitions: [
        { AttributeName: 'sessionId', AttributeType: 'S' },
        ...(userIndex ? [{ AttributeName: 'userId', AttributeType: 'S' as const }] : []),
      ],
      BillingMode: 'PAY_PER_REQUEST',
      StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
      ...(userIndex
        ? {
            GlobalSecondaryIndexes: [
              { IndexName: userIndex, KeySchema: [{ AttributeName: 'userId', KeyType: 'HASH' }], Projection: { ProjectionType: 'KEYS_ONLY' } },
            ],
          }
        : {}),
    }),
  );
}

interface RegionState {
  readonly name: string;
  readonly client: DynamoDBClient;
  readonly streams: DynamoDBStreamsClient;
  streamArn: string;
  /** Shard id → iterator (undefined once the shard is closed and drained). */
  readonly shards: Map<string, string | undefined>;
  /** Shard id → the sequence number of the last record read from it. */
  readonly last: Map<string, string>;
  /** Per key: the stamp of the change this Region's copy holds. */
  readonly stamps: Map<string, number>;
  /** Per key: images of changes the replicator applied here, still to come back on this stream. */
  readonly echoes: Map<string, string[]>;
  /** Per key: the item as this Region's stream last showed it (null: absent). */
  readonly known: Map<string, Item | null>;
  /** Per key: every attribute name its images have had. */
  readonly names: Map<string, Set<string>>;
  /** Per key: the chain of applications, one at a time. */
  readonly chains: Map<string, Promise<void>>;
  /** When the last round that read every shard without an error began. */
  readThrough: number;
}

export async function startReplicator(options: ReplicatorOptions): Promise<Replicator> {
  const lagMs = options.lagMs ?? 200;
  const regions: RegionState[] = [];
  for (const r of options.regions) {
    const client = new DynamoDBClient({ region: r.name, endpoint: r.endpoint, credentials });
    const streams = new DynamoDBStreamsClient({ region: r.name, endpoint: r.endpoint, credentials });
    await createReplicaTable(client, options.table, options.userIndex);
    const desc = await client.send(new DescribeTableCommand({ TableName: options.table }));
    const streamArn = desc.Table!.LatestStreamArn!;
    const maps = { shards: new Map(), last: new Map(), stamps: new Map(), echoes: new Map(), known: new Map(), names: new Map(), chains: new Map() };
    regions.push({ name: r.name, client, streams, streamArn, ...maps, readThrough: 0 });
  }

  let applied = 0;
  let dropped = 0;
  let pending = 0;
  let records = 0;
  let lastStamp = 0;
  let partitioned = false;
  let stopped = false;
  const backlog: Array<() => void> = [];
  const remember = (region: RegionState, key: string, image: Item | undefined): void => {
    region.known.set(key, image ?? null);
    const names = region.names.get(key) ?? new Set<string>();
    for (const name of Object.keys(image ?? {})) names.add(name);
    region.names.set(key, names);
  };
  const stamp = () => (lastStamp = Math.max(Date.now(), lastStamp + 1));

  /**
   * A condition that holds only while the destination's item is the one its
   * stream last showed: a local write not seen yet fails it, and the change
   * is decided again once that write has been seen and stamped. Without it an
   * older change could overwrite a newer local write and the Regions diverge.
   */
  const unchangedSince = (to: RegionState, key: string) => {
    const known = to.known.get(key);
    if (!known) return { ConditionExpression: 'attribute_not_exists(sessionId)' };
    const names: Record<string, string> = {};
    const values: Record<string, AttributeValue> = {};
    const terms: string[] = [];
    let i = 0;
    for (const name of to.names.get(key) ?? []) {
      names[`#a${i}`] = name;
      if (known[name] === undefined) terms.push(`attribute_not_exists(#a${i})`);
      else {
        values[`:v${i}`] = known[name];
        terms.push(`#a${i} = :v${i}`);
      }
      i += 1;
    }
    const withValues = Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {};
    return { ConditionExpression: terms.join(' AND '), ExpressionAttributeNames: names, ...withValues };
  };

  const apply = async (to: RegionState, key: string, image: Item | undefined, at: number): Promise<void> => {
    for (let tries = 0; ; tries++) {
      if (at <= (to.stamps.get(key) ?? 0)) {
        dropped += 1;
        return;
      }
      const signature = image ? canonical(image) : 'REMOVE';
      if (signature === canonical(to.known.get(key) ?? 'REMOVE')) {
        to.stamps.set(key, at);
        return;
      }
      const echoes = to.echoes.get(key) ?? [];
      to.echoes.set(key, echoes);
      echoes.push(signature);
      try {
        const condition = unchangedSince(to, key);
        if (image) await to.client.send(new PutItemCommand({ TableName: options.table, Item: image, ...condition }));
        else await to.client.send(new DeleteItemCommand({ TableName: options.table, Key: { sessionId: { S: key } }, ...condition }));
        to.stamps.set(key, at);
        remember(to, key, image);
        applied += 1;
        return;
      } catch (err) {
        echoes.splice(echoes.lastIndexOf(signature), 1);
        if ((err as Error).name !== 'ConditionalCheckFailedException' || tries > 200) throw err;
        // A local write landed that the stream has not shown yet: wait for it, then decide again.
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  };

  const schedule = (to: RegionState, key: string, image: Item | undefined, at: number): void => {
    pending += 1;
    const run = () => {
      const next = (to.chains.get(key) ?? Promise.resolve()).then(() => apply(to, key, image, at)).catch(() => undefined);
      to.chains.set(key, next);
      void next.finally(() => {
        pending -= 1;
      });
    };
    setTimeout(() => (partitioned ? backlog.push(run) : run()), lagMs);
  };

  const seen = (from: RegionState, record: StreamRecord): void => {
    const key = record.dynamodb?.Keys?.sessionId?.S;
    if (!key) return;
    records += 1;
    const image = record.eventName === 'REMOVE' ? undefined : (record.dynamodb?.NewImage as Item | undefined);
    const signature = image ? canonical(image) : 'REMOVE';
    const echoes = from.echoes.get(key);
    const echo = echoes?.indexOf(signature) ?? -1;
    remember(from, key, image);
    if (echo >= 0) {
      echoes!.splice(echo, 1);
      return;
    }
    const at = stamp();
    from.stamps.set(key, at);
    for (const to of regions) if (to !== from) schedule(to, key, image, at);
  };

  const discover = async (region: RegionState): Promise<void> => {
    const out = await region.streams.send(new DescribeStreamCommand({ StreamArn: region.streamArn }));
    for (const shard of out.StreamDescription?.Shards ?? []) {
      if (region.shards.has(shard.ShardId!)) continue;
      const it = await region.streams.send(
        new GetShardIteratorCommand({ StreamArn: region.streamArn, ShardId: shard.ShardId!, ShardIteratorType: 'TRIM_HORIZON' }),
      );
      region.shards.set(shard.ShardId!, it.ShardIterator);
    }
  };

  const pollLoop = async (region: RegionState): Promise<void> => {
    let rounds = 0;
    while (!stopped) {
      const began = Date.now();
      try {
        if (rounds++ % 50 === 0) await discover(region);
        // Read through only when every shard was read in this round.
        let complete = true;
        for (const [id, iterator] of region.shards) {
          if (!iterator) continue;
          let out;
          try {
            out = await region.streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
          } catch (err) {
            // DynamoDB Local can refuse an iterator that names a record older than the shard's oldest kept one,
            // while other tables' streams are busy: read on from the last record seen (as DynamoDB's own readers do).
            if ((err as Error).name !== 'TrimmedDataAccessException' && (err as Error).name !== 'ExpiredIteratorException') throw err;
            const after = region.last.get(id);
            const it = await region.streams.send(
              new GetShardIteratorCommand({
                StreamArn: region.streamArn,
                ShardId: id,
                ...(after ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: after } : { ShardIteratorType: 'TRIM_HORIZON' }),
              }),
            );
            region.shards.set(id, it.ShardIterator);
            complete = false;
            continue;
          }
          for (const record of out.Records ?? []) {
            seen(region, record);
            if (record.dynamodb?.SequenceNumber) region.last.set(id, record.dynamodb.SequenceNumber);
          }
          region.shards.set(id, out.NextShardIterator);
        }
        if (complete) region.readThrough = began;
      } catch {
        // A stopped instance or a closed shard: the next round finds out.
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const loops = regions.map((r) => pollLoop(r));
  /** Resolves once every Region's stream has been read through, from a round begun after the call. */
  const caughtUp = async (): Promise<void> => {
    const asked = Date.now();
    while (!stopped && regions.some((r) => r.readThrough <= asked)) await new Promise((r) => setTimeout(r, 5));
  };

  return {
    get applied() {
      return applied;
    },
    get dropped() {
      return dropped;
    },
    partition() {
      partitioned = true;
    },
    heal() {
      partitioned = false;
      for (const run of backlog.splice(0)) run();
    },
    async settle() {
      // Quiet means: every stream read through past a moment after the last change was seen, and
      // nothing left to apply. A time since the last record alone is not: on a busy machine a round
      // of reads can take longer than that, and a change still unread would be missed.
      for (;;) {
        await new Promise((r) => setTimeout(r, lagMs + 100));
        const mark = records;
        await caughtUp();
        if (pending === 0 && backlog.length === 0 && records === mark) return;
      }
    },
    caughtUp,
    async stop() {
      stopped = true;
      await Promise.all(loops);
      for (const r of regions) {
        r.client.destroy();
        r.streams.destroy();
      }
    },
  };
}
