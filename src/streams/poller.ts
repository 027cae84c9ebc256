/**
 * Reads the session table's stream from a server (or against DynamoDB Local,
 * which has Streams but no Lambda) and turns DynamoDB's TTL deletions into
 * `expired` events on the store. `@aws-sdk/client-dynamodb-streams` is an
 * optional peer, loaded when a poller starts.
 */
import type { DynamoDBStreamsClient, _Record as StreamsRecord, ShardIteratorType } from '@aws-sdk/client-dynamodb-streams';
import type { ExpiredEvent } from '../core/events.js';
import { tellExpired } from '../core/expired-event.js';
import { contextOf, type SessionStore } from '../store/session-store.js';
import { ConfigError } from '../errors.js';
import { streamFailure } from '../aws/errors.js';
import { registerSizes } from '../core/sizes.js';
import { optionalPeer } from '../adapters/optional-peer.js';
import { sessionStreamArn } from '../table/streams.js';
import { expiredEventFromRecord } from './records.js';
import { announcedIn } from '../regions/stream-owner.js';

export interface StreamsPollerOptions {
  /**
   * Called once for each session DynamoDB's TTL deleted, in stream order,
   * before the store's `expired` listeners hear of it. A rejection is retried
   * from that record on the next poll: nothing after it is read first.
   */
  onExpired?: (event: ExpiredEvent) => unknown;
  /** Wait between polls of a stream that had nothing new, in ms. Default 1000. */
  intervalMs?: number;
  /**
   * Where reading starts: `'latest'` (default), deletions from the start on;
   * or `'trim-horizon'`, everything the stream still holds (24 hours), for a
   * process that must not miss what happened while it was down.
   */
  startAt?: 'latest' | 'trim-horizon';
  /** Your own DynamoDBStreamsClient; default, one made with the store's region, endpoint and credentials. */
  client?: DynamoDBStreamsClient;
}

export interface StreamsPollerStats {
  /** GetRecords calls: each is one streams read request unit. */
  getRecordsCalls: number;
  /** Stream records read, of any kind. */
  records: number;
  /** `expired` events told (TTL deletions). */
  expired: number;
  /** Failed calls and rejected `onExpired`s, each retried. */
  failures: number;
  /** Shards being read now. */
  shards: number;
}

export interface StreamsPoller {
  /** The stream read. */
  readonly streamArn: string;
  stats(): StreamsPollerStats;
  /** Stops after the call in flight; closes the client it made. */
  stop(): Promise<void>;
}

interface ShardState {
  id: string;
  parent: string | undefined;
  iterator: string | undefined;
  /** How to get an iterator when there is none (at start, after a failure, after one expired). */
  resume: { type: ShardIteratorType; sequence?: string };
  /** The last record handled. */
  last: string | undefined;
}

const errorName = (err: unknown) => (err as { name?: string } | null)?.name ?? '';

/**
 * Polls the stream of `store`'s table (it must have one with the old image:
 * `npx dynamodb-session create-table --streams`) and tells the store's
 * `expired` listeners, and `onExpired`, of each TTL deletion (source 'ttl').
 * Other records (writes, and deletes the store made and reports itself) pass
 * by. Resolves once it is reading, so a deletion made after it resolves is
 * seen. Run one per table: every poller sees every record, and DynamoDB
 * throttles more than two readers of a shard.
 */
export async function startStreamsPoller(store: SessionStore, options: StreamsPollerOptions = {}): Promise<StreamsPoller> {
  const intervalMs = options.intervalMs ?? 1000;
  if (!Number.isInteger(intervalMs) || intervalMs < 10) {
    throw new ConfigError(`option "intervalMs" of startStreamsPoller must be an integer of at least 10 ms (got ${String(options.intervalMs)})`);
  }
  const startAt = options.startAt ?? 'latest';
  if (startAt !== 'latest' && startAt !== 'trim-horizon') {
    throw new ConfigError(`option "startAt" of startStreamsPoller must be "latest" or "trim-horizon" (got ${String(options.startAt)})`);
  }
  if (options.onExpired !== undefined && typeof options.onExpired !== 'function') {
    throw new ConfigError('option "onExpired" of startStreamsPoller must be a function');
  }
  const sdk = await optionalPeer('@aws-sdk/client-dynamodb-streams', 'startStreamsPoller', () => import('@aws-sdk/client-dynamodb-streams'));
  await store.ready();
  const table = store.config.table;
  const streamArn = await sessionStreamArn(contextOf(store).gateway, table);
  const client =
    options.client ??
    new sdk.DynamoDBStreamsClient({
      region: store.client.config.region,
      credentials: store.client.config.credentials,
      // DynamoDB Local serves both APIs on one port; the Regions have a streams endpoint of their own.
      ...(store.config.endpoint ? { endpoint: store.config.endpoint } : {}),
      maxAttempts: store.config.maxAttempts,
    });

  const stats: StreamsPollerStats = { getRecordsCalls: 0, records: 0, expired: 0, failures: 0, shards: 0 };
  const shards = new Map<string, ShardState>();
  const finished = new Set<string>();
  let stopped = false;
  let rediscover = false;
  let nextDiscovery = 0;
  let failing = false;
  let wake: (() => void) | undefined;

  const warn = (reason: string, err?: unknown) => {
    stats.failures += 1;
    // Said once per streak of failures, not once per poll.
    if (failing) return;
    failing = true;
    store.logger.warn({ table, stream: streamArn, reason: err ? `${errorName(err)}: ${(err as Error).message}` : undefined }, reason);
  };

  /** Finds shards not seen yet. At the start with 'latest', shards already closed are history and skipped. */
  const discover = async (initial: boolean): Promise<void> => {
    let start: string | undefined;
    const listed = new Set<string>();
    do {
      const out = await client.send(new sdk.DescribeStreamCommand({ StreamArn: streamArn, ...(start ? { ExclusiveStartShardId: start } : {}) }));
      for (const shard of out.StreamDescription?.Shards ?? []) {
        const id = shard.ShardId;
        if (id) listed.add(id);
        if (!id || shards.has(id) || finished.has(id)) continue;
        const closed = shard.SequenceNumberRange?.EndingSequenceNumber !== undefined;
        if (initial && startAt === 'latest' && closed) {
          finished.add(id);
          continue;
        }
        // A shard found after the start came after it: read from its beginning.
        const type: ShardIteratorType = initial && startAt === 'latest' ? 'LATEST' : 'TRIM_HORIZON';
        shards.set(id, { id, parent: shard.ParentShardId, iterator: undefined, resume: { type }, last: undefined });
      }
      start = out.StreamDescription?.LastEvaluatedShardId;
    } while (start);
    // A shard past the stream's 24 hours is no longer listed, so nothing can bring it back: without
    // this, a poller running for months would remember every shard it ever finished.
    for (const id of finished) if (!listed.has(id)) finished.delete(id);
    nextDiscovery = Date.now() + 60_000;
    rediscover = false;
  };

  const openIterator = async (state: ShardState): Promise<void> => {
    const out = await client.send(
      new sdk.GetShardIteratorCommand({
        StreamArn: streamArn,
        ShardId: state.id,
        ShardIteratorType: state.resume.type,
        ...(state.resume.sequence ? { SequenceNumber: state.resume.sequence } : {}),
      }),
    );
    state.iterator = out.ShardIterator;
  };

  /** One GetRecords on a shard; true when it returned records (poll again at once). */
  const poll = async (state: ShardState): Promise<boolean> => {
    stats.getRecordsCalls += 1;
    const out = await client.send(new sdk.GetRecordsCommand({ ShardIterator: state.iterator, Limit: 1000 }));
    const records: StreamsRecord[] = out.Records ?? [];
    for (const record of records) {
      const event = expiredEventFromRecord(record);
      if (event && announcedIn(record, store.config.region, store.config.regions?.map((r) => r.name))) {
        try {
          await options.onExpired?.(event);
        } catch (err) {
          // Read this record again next time, and nothing after it before.
          state.iterator = undefined;
          state.resume = { type: 'AT_SEQUENCE_NUMBER', sequence: record.dynamodb!.SequenceNumber! };
          warn('onExpired of the streams poller threw: the record is read again at the next poll', err);
          return false;
        }
        stats.expired += 1;
        tellExpired(contextOf(store), event);
      }
      stats.records += 1;
      state.last = record.dynamodb?.SequenceNumber;
      if (state.last) state.resume = { type: 'AFTER_SEQUENCE_NUMBER', sequence: state.last };
    }
    state.iterator = out.NextShardIterator;
    if (!state.iterator) {
      // Closed and read to its end: its children (found by the next DescribeStream) come next.
      shards.delete(state.id);
      finished.add(state.id);
      rediscover = true;
    }
    return records.length > 0;
  };

  const readShard = async (state: ShardState): Promise<boolean> => {
    try {
      if (!state.iterator) await openIterator(state);
      if (!state.iterator) return false;
      return await poll(state);
    } catch (err) {
      const failure = streamFailure(err);
      state.iterator = undefined;
      if (failure === 'trimmed') {
        state.resume = { type: 'TRIM_HORIZON' };
        warn('records of the session stream were trimmed (older than 24 hours) before they were read: expiries among them were missed', err);
      } else if (failure === 'not-found') {
        shards.delete(state.id);
        rediscover = true;
        warn('a shard of the session stream is gone (stream turned off, or trimmed): looking for the shards it has now', err);
      } else if (failure === 'other') {
        warn('reading the session stream failed; it is tried again at the next poll', err);
      }
      // An expired iterator (15 minutes unused) is renewed from the last record handled.
      return false;
    }
  };

  const sleep = () =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, intervalMs);
      timer.unref();
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  await discover(true);
  // Iterators first, so that what happens from here on is read.
  for (const state of shards.values()) {
    if (state.parent && shards.has(state.parent)) continue;
    try {
      await openIterator(state);
    } catch (err) {
      warn('opening the session stream failed; it is tried again at the next poll', err);
    }
  }
  failing = false;

  const loop = (async () => {
    while (!stopped) {
      let busy = false;
      let ok = true;
      try {
        // No shard to read: a new stream may have none until its first write (DynamoDB Local makes it then).
        if (rediscover || shards.size === 0 || Date.now() >= nextDiscovery) await discover(false);
      } catch (err) {
        ok = false;
        warn('describing the session stream failed; it is tried again at the next poll', err);
      }
      for (const state of [...shards.values()]) {
        if (stopped) break;
        // A child shard waits for its parent to be read to its end: records of one item stay in order.
        if (state.parent && shards.has(state.parent)) continue;
        const before = stats.failures;
        if (await readShard(state)) busy = true;
        if (stats.failures !== before) ok = false;
      }
      stats.shards = shards.size;
      if (ok) failing = false;
      if (!busy && !stopped) await sleep();
    }
  })();

  const poller: StreamsPoller = {
    streamArn,
    stats: () => ({ ...stats, shards: shards.size }),
    async stop() {
      stopped = true;
      wake?.();
      await loop;
      if (!options.client) client.destroy();
    },
  };
  registerSizes(poller, () => ({ shards: shards.size, finished: finished.size }));
  return poller;
}
