/**
 * `expired` events from the store's own housekeeping: purgeExpired, the
 * reaper and the CLI's purge-expired tell of each session they delete as
 * expired, once, and of none they skip. Against DynamoDB Local, on tables
 * without TTL so that nothing but the code under test deletes.
 */
import { contextOf } from '../src/store/session-store.js';
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { BatchWriteItemCommand, CreateTableCommand, ScanCommand, UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { SessionStore } from '../src/store/session-store.js';
import { purgeExpired } from '../src/core/purge.js';
import { startReaper, type ReaperTick } from '../src/core/reaper.js';
import type { ExpiredEvent } from '../src/core/events.js';
import { idTag } from '../src/core/session-id.js';
import { createTableInput } from '../src/table/schema.js';
import { cliPath } from './helpers/bundle.js';
import { ENDPOINT, localOptions } from './helpers/dynamo.js';

type Item = Record<string, AttributeValue>;

const nowSec = () => Math.floor(Date.now() / 1000);
const stores: SessionStore[] = [];
after(() => Promise.all(stores.map((s) => s.close())));

async function bareTable(): Promise<SessionStore> {
  const store = new SessionStore(localOptions({ skipTableCheck: true, createIfNotExist: false }));
  stores.push(store);
  await store.client.send(new CreateTableCommand(createTableInput({ ...store.config, billingMode: 'PAY_PER_REQUEST' })));
  return store;
}

/** An item as the store writes it, expiring at `expiresAtMs`. */
function sessionItem(store: SessionStore, key: string, expiresAtMs: number, extra: Item = {}): Item {
  return {
    sessionId: { S: key },
    data: { B: contextOf(store).codec.frame(JSON.stringify({ key })) },
    version: { N: '1' },
    expiresAt: { N: String(Math.ceil(expiresAtMs / 1000)) },
    expiresAtMs: { N: String(expiresAtMs) },
    createdAt: { N: String(Date.now()) },
    updatedAt: { N: String(Date.now()) },
    ...extra,
  };
}

async function put(store: SessionStore, items: Item[]): Promise<void> {
  for (let i = 0; i < items.length; i += 25) {
    await store.client.send(new BatchWriteItemCommand({ RequestItems: { [store.config.table]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) } }));
  }
}

async function keys(store: SessionStore): Promise<string[]> {
  const out = await store.client.send(new ScanCommand({ TableName: store.config.table, ProjectionExpression: 'sessionId' }));
  return (out.Items ?? []).map((i) => i.sessionId!.S!).sort();
}

function collect(store: SessionStore): ExpiredEvent[] {
  const events: ExpiredEvent[] = [];
  store.on('expired', (e: ExpiredEvent) => events.push(e));
  return events;
}

describe('expired events from purgeExpired', () => {
  it("one event per session deleted, source 'purge', with its key, tag, user and exact expiry; none for a live session or one under a live lease", async () => {
    const store = await bareTable();
    const past = Date.now() - 60_000;
    await put(store, [
      sessionItem(store, 'gone-1', past + 1, { userId: { S: 'ada' } }),
      sessionItem(store, 'gone-2', past + 2),
      sessionItem(store, 'live', Date.now() + 3_600_000, { userId: { S: 'ada' } }),
      sessionItem(store, 'leased', past, { lockOwner: { S: 'busy' }, lockExpiresAt: { N: String(Date.now() + 600_000) } }),
    ]);
    const events = collect(store);
    const result = await purgeExpired(contextOf(store), { segments: 2 });
    assert.deepEqual(result, { scanned: 4, expired: 3, deleted: 2, skipped: 1 });
    assert.deepEqual(
      events.sort((a, b) => a.key.localeCompare(b.key)),
      [
        { key: 'gone-1', session: idTag('gone-1'), userId: 'ada', source: 'purge', expiredAt: past + 1 },
        { key: 'gone-2', session: idTag('gone-2'), source: 'purge', expiredAt: past + 2 },
      ],
    );
    assert.deepEqual(await keys(store), ['leased', 'live']);
  });

  it('a dry run deletes nothing and tells of nothing', async () => {
    const store = await bareTable();
    await put(store, [sessionItem(store, 'old', Date.now() - 10_000)]);
    const events = collect(store);
    assert.equal((await purgeExpired(contextOf(store), { dryRun: true })).expired, 1);
    assert.deepEqual(events, []);
  });

  it('a session renewed between the Scan and its delete is skipped and tells of nothing; the other one is told once', async () => {
    const store = await bareTable();
    await put(store, [sessionItem(store, 'a', Date.now() - 5000), sessionItem(store, 'b', Date.now() - 5000)]);
    const send = contextOf(store).gateway.send.bind(contextOf(store).gateway);
    let raced: string | undefined;
    contextOf(store).gateway.send = (async (operation: string, command: { input: { Key?: Item } }, opts?: object) => {
      if (operation === 'DeleteItem' && raced === undefined) {
        raced = command.input.Key!.sessionId!.S!;
        await store.client.send(
          new UpdateItemCommand({
            TableName: store.config.table,
            Key: { sessionId: { S: raced } },
            UpdateExpression: 'SET expiresAt = :later, expiresAtMs = :laterMs',
            ExpressionAttributeValues: { ':later': { N: String(nowSec() + 600) }, ':laterMs': { N: String(Date.now() + 600_000) } },
          }),
        );
      }
      return send(operation, command as never, opts);
    }) as typeof send;
    const events = collect(store);
    const result = await purgeExpired(contextOf(store), { segments: 1, concurrency: 1 });
    assert.equal(result.deleted, 1);
    assert.equal(result.skipped, 1);
    assert.deepEqual(
      events.map((e) => e.key),
      ['a', 'b'].filter((k) => k !== raced),
    );
  });

  it('a listener that throws does not stop the purge; the failure is logged', async () => {
    const store = await bareTable();
    await put(store, [sessionItem(store, 'x', Date.now() - 5000), sessionItem(store, 'y', Date.now() - 5000)]);
    let calls = 0;
    store.on('expired', () => {
      calls += 1;
      throw new Error('listener bug');
    });
    const result = await purgeExpired(contextOf(store), { segments: 1 });
    assert.equal(result.deleted, 2);
    assert.equal(calls, 2);
    assert.match((store.logger as unknown as { text(): string }).text(), /listener bug/);
  });
});

describe('expired events from the reaper', () => {
  it("each session the reaper deletes is one event with source 'reaper'", { timeout: 60_000 }, async () => {
    const store = await bareTable();
    const expiredAt = Date.now() - 30_000;
    await put(store, Array.from({ length: 5 }, (_, i) => sessionItem(store, `r${i}`, expiredAt, { userId: { S: `u${i}` } })));
    const events = collect(store);
    const ticks: ReaperTick[] = [];
    const reaper = startReaper(contextOf(store), { intervalMs: 200, onTick: (t) => ticks.push(t) });
    try {
      const deadline = Date.now() + 30_000;
      while (!ticks.some((t) => (t.result?.deleted ?? 0) > 0)) {
        assert.ok(Date.now() < deadline, 'the reaper purged within 30 s');
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await reaper.stop();
    }
    assert.deepEqual(
      events.sort((a, b) => a.key.localeCompare(b.key)),
      Array.from({ length: 5 }, (_, i) => ({ key: `r${i}`, session: idTag(`r${i}`), userId: `u${i}`, source: 'reaper', expiredAt })),
    );
  });
});

describe('expired events from the CLI', () => {
  it('purge-expired --events prints one JSON line per session it deleted, and none on a dry run', async () => {
    const store = await bareTable();
    const expiredAt = Date.now() - 30_000;
    await put(store, [sessionItem(store, 'c1', expiredAt, { userId: { S: 'grace' } }), sessionItem(store, 'c2', Date.now() + 600_000)]);
    const main = await cliPath();
    const cli = (...args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          [main, 'purge-expired', ...args, '--table', store.config.table, '--endpoint', ENDPOINT],
          { env: { ...process.env, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_REGION: 'us-east-1', DSM_TABLE: '' }, timeout: 60_000 },
          (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
        );
      });
    const dry = await cli('--dry-run', '--events');
    assert.equal(dry.code, 0, dry.stderr);
    assert.doesNotMatch(dry.stdout, /"source"/);
    const run = await cli('--events');
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.split('\n').filter((l) => l.startsWith('{'));
    assert.deepEqual(
      lines.map((l) => JSON.parse(l)),
      [{ event: 'expired', key: 'c1', session: idTag('c1'), userId: 'grace', source: 'purge', expiredAt }],
    );
    assert.match(run.stdout, /deleted 1/);
    assert.deepEqual(await keys(store), ['c2']);
  });
});
