/**
 * The Streams consumer (`dynamodb-session-manager/streams`) against DynamoDB
 * Local with Streams on: the poller reads the real stream of a real table; a
 * TTL deletion, which DynamoDB Local never makes, is a REMOVE record read from
 * that stream and signed as DynamoDB documents its TTL process signs them
 * (userIdentity type "Service", principalId "dynamodb.amazonaws.com").
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { CreateTableCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand, DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand, type _Record } from '@aws-sdk/client-dynamodb-streams';
import { SessionStore } from '../src/store/session-store.js';
import type { ExpiredEvent } from '../src/core/events.js';
import { idTag } from '../src/core/session-id.js';
import { createTableInput } from '../src/table/schema.js';
import { createStreamsHandler, expiredEventFromRecord, startStreamsPoller, type StreamsPoller } from '../src/streams/index.js';
import { cliPath } from './helpers/bundle.js';
import { ENDPOINT, localOptions, uniqueTable } from './helpers/dynamo.js';

const stores: SessionStore[] = [];
const pollers: StreamsPoller[] = [];
after(async () => {
  await Promise.all(pollers.map((p) => p.stop()));
  await Promise.all(stores.map((s) => s.close()));
});

const streamsClient = new DynamoDBStreamsClient({ endpoint: ENDPOINT, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
after(() => streamsClient.destroy());

/** A store whose table has a stream (createTableInput({ streams: true })), `userId` taken from the data. */
async function streamTable(view?: 'KEYS_ONLY'): Promise<SessionStore> {
  const store = new SessionStore(localOptions({ skipTableCheck: true, createIfNotExist: false, userId: 'user' }));
  stores.push(store);
  const input = createTableInput({ ...store.config, billingMode: 'PAY_PER_REQUEST', streams: true });
  if (view) input.StreamSpecification!.StreamViewType = view;
  await store.client.send(new CreateTableCommand(input));
  return store;
}

async function until(what: string, done: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!done()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Every record the table's stream holds, read with the SDK as any consumer would. */
async function streamRecords(store: SessionStore): Promise<_Record[]> {
  const { Table } = await store.client.send(new DescribeTableCommand({ TableName: store.config.table }));
  const arn = Table!.LatestStreamArn!;
  const { StreamDescription } = await streamsClient.send(new DescribeStreamCommand({ StreamArn: arn }));
  const records: _Record[] = [];
  for (const shard of StreamDescription?.Shards ?? []) {
    let { ShardIterator: iterator } = await streamsClient.send(new GetShardIteratorCommand({ StreamArn: arn, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }));
    while (iterator) {
      const out = await streamsClient.send(new GetRecordsCommand({ ShardIterator: iterator }));
      records.push(...(out.Records ?? []));
      if ((out.Records ?? []).length === 0) break;
      iterator = out.NextShardIterator;
    }
  }
  return records;
}

/** As the TTL process signs its deletions, in the Streams API's spelling (the SDK's). */
const signedByTtl = (record: _Record): _Record => ({ ...record, userIdentity: { Type: 'Service', PrincipalId: 'dynamodb.amazonaws.com' } });

/**
 * The record as a DynamoDB Streams event source gives it to Lambda: JSON, binary values in
 * base64, the creation time in epoch seconds, and `userIdentity` spelt `type` / `principalId`.
 */
function asLambdaRecord(record: _Record, identity?: { type: string; principalId: string }): object {
  const json = JSON.parse(
    JSON.stringify(record, (key, value: unknown) => {
      if (value instanceof Uint8Array || (value && typeof value === 'object' && (value as { type?: string }).type === 'Buffer')) {
        return Buffer.from((value as { data?: number[] }).data ?? (value as Uint8Array)).toString('base64');
      }
      return key === 'ApproximateCreationDateTime' ? Math.floor(new Date(value as string).getTime() / 1000) : value;
    }),
  ) as Record<string, unknown>;
  delete json.userIdentity;
  return { ...json, eventSource: 'aws:dynamodb', ...(identity ? { userIdentity: identity } : {}) };
}

describe('createTableInput and the CLI turn the stream on', () => {
  it('createTableInput({ streams: true }) makes a table whose stream carries the old image (OLD_IMAGE)', async () => {
    const store = await streamTable();
    const { Table } = await store.client.send(new DescribeTableCommand({ TableName: store.config.table }));
    assert.deepEqual(Table?.StreamSpecification, { StreamEnabled: true, StreamViewType: 'OLD_IMAGE' });
    assert.ok(Table?.LatestStreamArn);
  });

  it('create-table --streams: a new table gets an OLD_IMAGE stream; an existing one without a stream gets it; run again nothing changes', { timeout: 120_000 }, async () => {
    const main = await cliPath();
    const cli = (...args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, [main, ...args, '--endpoint', ENDPOINT], { env: { ...process.env, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_REGION: 'us-east-1', DSM_TABLE: '' }, timeout: 60_000 }, (err, stdout, stderr) =>
          resolve({ code: err ? Number((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
        );
      });
    const probe = new SessionStore(localOptions({ skipTableCheck: true }));
    stores.push(probe);
    const view = async (table: string) => (await probe.client.send(new DescribeTableCommand({ TableName: table }))).Table?.StreamSpecification;

    const fresh = uniqueTable('cli_streams');
    const made = await cli('create-table', '--streams', '--table', fresh);
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, /created table .*\n.*turned its stream on \(OLD_IMAGE\)/);
    assert.deepEqual(await view(fresh), { StreamEnabled: true, StreamViewType: 'OLD_IMAGE' });

    const existing = uniqueTable('cli_streams');
    assert.equal((await cli('create-table', '--table', existing)).code, 0);
    assert.equal((await view(existing))?.StreamEnabled ?? false, false);
    const turnedOn = await cli('create-table', '--streams', '--table', existing);
    assert.equal(turnedOn.code, 0, turnedOn.stderr);
    assert.match(turnedOn.stdout, /exists already.*\n.*turned its stream on \(OLD_IMAGE\)/);
    assert.deepEqual(await view(existing), { StreamEnabled: true, StreamViewType: 'OLD_IMAGE' });
    const again = await cli('create-table', '--streams', '--table', existing);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /stream OLD_IMAGE on already: .*; nothing changed/);
  });
});

describe('the Lambda handler', () => {
  it('a REMOVE signed by the TTL principal is one expired event (source ttl) with key, user and exact expiry; a plain delete and a REMOVE by another principal are none', async () => {
    const store = await streamTable();
    await store.set('ttl-me', { user: 'ada' }, { expires: Date.now() + 60_000 });
    const { expiresAtMs } = (await store.load('ttl-me'))!.handle;
    await store.destroy('ttl-me');
    const records = await streamRecords(store);
    const remove = records.find((r) => r.eventName === 'REMOVE')!;
    assert.ok(remove, 'DynamoDB Local streamed the delete');
    assert.equal(remove.userIdentity, undefined, 'a delete made through the API carries no TTL identity');

    const told: ExpiredEvent[] = [];
    const handler = createStreamsHandler({ onExpired: (e) => void told.push(e) });
    const out = await handler({
      Records: [
        ...records.map((r) => asLambdaRecord(r)),
        asLambdaRecord(remove, { type: 'Service', principalId: 'some-other.amazonaws.com' }),
        asLambdaRecord(remove, { type: 'Service', principalId: 'dynamodb.amazonaws.com' }),
      ] as never,
    });
    assert.deepEqual(out, { batchItemFailures: [] });
    assert.deepEqual(told, [{ key: 'ttl-me', session: idTag('ttl-me'), userId: 'ada', source: 'ttl', expiredAt: expiresAtMs }]);

    // The same record in the Streams API's own spelling (Type / PrincipalId), as the poller reads it.
    assert.deepEqual(expiredEventFromRecord(signedByTtl(remove)), told[0]);
    assert.equal(expiredEventFromRecord(remove), undefined);
  });

  it('a KEYS_ONLY stream gives the key alone', async () => {
    const store = await streamTable('KEYS_ONLY');
    await store.set('keys-only', { user: 'ada' });
    await store.destroy('keys-only');
    const remove = (await streamRecords(store)).find((r) => r.eventName === 'REMOVE')!;
    assert.deepEqual(expiredEventFromRecord(signedByTtl(remove)), { key: 'keys-only', session: idTag('keys-only'), source: 'ttl' });
  });

  it('a rejected onExpired is reported as the batch item failure, and nothing after it is told', async () => {
    const store = await streamTable();
    for (const id of ['first', 'second']) {
      await store.set(id, { user: id });
      await store.destroy(id);
    }
    const removes = (await streamRecords(store)).filter((r) => r.eventName === 'REMOVE');
    assert.equal(removes.length, 2);
    const told: string[] = [];
    const handler = createStreamsHandler({
      onExpired: (e) => {
        told.push(e.key);
        if (e.key === 'first') throw new Error('downstream is down');
      },
    });
    const out = await handler({ Records: removes.map((r) => asLambdaRecord(r, { type: 'Service', principalId: 'dynamodb.amazonaws.com' })) as never });
    assert.deepEqual(out, { batchItemFailures: [{ itemIdentifier: removes[0]!.dynamodb!.SequenceNumber! }] });
    assert.deepEqual(told, ['first']);
  });
});

describe('the streams poller, on the real stream of DynamoDB Local', () => {
  it('reads a plain delete made on the table and tells of no expiry', async () => {
    const store = await streamTable();
    const events: ExpiredEvent[] = [];
    store.on('expired', (e: ExpiredEvent) => events.push(e));
    const onExpired: ExpiredEvent[] = [];
    const poller = await startStreamsPoller(store, { intervalMs: 20, onExpired: (e) => void onExpired.push(e) });
    pollers.push(poller);
    await store.set('plain', { user: 'grace' });
    await store.destroy('plain');
    // The insert and the delete, both read: only then does "no event" mean anything.
    await until('the poller read both records', () => poller.stats().records >= 2);
    assert.deepEqual(events, []);
    assert.deepEqual(onExpired, []);
    assert.equal(poller.stats().expired, 0);
    await poller.stop();
  });

  it('a TTL-signed REMOVE is told once to the store and to onExpired; a rejected onExpired is retried from that record', async () => {
    const store = await streamTable();
    // DynamoDB Local's own stream, read by the poller's own client; its REMOVE records of "ttl-" sessions
    // are signed as the TTL process signs them, since DynamoDB Local never deletes by TTL.
    const client = new DynamoDBStreamsClient({ endpoint: ENDPOINT, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    const send = client.send.bind(client) as (command: unknown) => Promise<{ Records?: _Record[] }>;
    client.send = (async (command: unknown) => {
      const out = await send(command);
      if (command instanceof GetRecordsCommand) {
        out.Records = out.Records?.map((r) => (r.eventName === 'REMOVE' && r.dynamodb?.Keys?.sessionId?.S?.startsWith('ttl-') ? signedByTtl(r) : r));
      }
      return out;
    }) as typeof client.send;
    after(() => client.destroy());

    const events: ExpiredEvent[] = [];
    store.on('expired', (e: ExpiredEvent) => events.push(e));
    const attempts: string[] = [];
    const poller = await startStreamsPoller(store, {
      client,
      intervalMs: 20,
      onExpired: (e) => {
        attempts.push(e.key);
        if (attempts.length === 1) throw new Error('a downstream hiccup');
      },
    });
    pollers.push(poller);
    await store.set('ttl-1', { user: 'ada' });
    await store.set('kept', { user: 'ada' });
    await store.destroy('ttl-1');
    await store.destroy('kept');
    await until('the poller read all four records', () => poller.stats().records >= 4);
    const stats = JSON.stringify(poller.stats());
    assert.deepEqual(attempts, ['ttl-1', 'ttl-1'], stats);
    assert.deepEqual(
      events.map((e) => [e.key, e.userId, e.source]),
      [['ttl-1', 'ada', 'ttl']],
      stats,
    );
    assert.equal(poller.stats().expired, 1, stats);
    // The rejection, and any call the loaded machine made fail on the way (each retried).
    assert.ok(poller.stats().failures >= 1, stats);
    await poller.stop();
  });

  it('a table without a stream, or with a KEYS_ONLY one, is a TableSchemaError that says how to turn a fitting one on', async () => {
    const plain = new SessionStore(localOptions());
    stores.push(plain);
    await plain.ready();
    await assert.rejects(startStreamsPoller(plain), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'DSM_TABLE_SCHEMA');
      assert.match(err.message, /has no stream: .*create-table --streams/);
      return true;
    });
    const keysOnly = await streamTable('KEYS_ONLY');
    await assert.rejects(startStreamsPoller(keysOnly), /KEYS_ONLY.*lack the deleted session's owner and expiry/);
  });
});

describe('the IAM policy for the consumer', () => {
  it("iamPolicy with the 'streams' feature allows reading the table's stream (DescribeStream, GetShardIterator, GetRecords) and finding it (DescribeTable); admin may turn it on (UpdateTable)", async () => {
    const { iamPolicy } = await import('../src/table/iam-policy.js');
    const { resolveConfig } = await import('../src/config/resolve-config.js');
    const config = resolveConfig({ table: 'Sessions', region: 'eu-west-1', skipTableCheck: true });
    const policy = iamPolicy(config, { account: '123456789012', features: ['streams'] });
    assert.ok(policy.Statement[0]!.Action.includes('dynamodb:DescribeTable'));
    assert.deepEqual(policy.Statement.find((s) => s.Sid === 'SessionStream'), {
      Sid: 'SessionStream',
      Effect: 'Allow',
      Action: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
      Resource: ['arn:aws:dynamodb:eu-west-1:123456789012:table/Sessions/stream/*'],
    });
    assert.equal(iamPolicy(config).Statement.find((s) => s.Sid === 'SessionStream'), undefined);
    assert.ok(iamPolicy(config, { features: ['admin'] }).Statement[0]!.Action.includes('dynamodb:UpdateTable'));
  });
});
