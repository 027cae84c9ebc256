import { contextOf } from '../src/store/session-store.js';
import { liveKeys } from '../src/core/table-scan.js';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { CreateTableCommand, DescribeTableCommand, DescribeTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { SessionStore } from '../src/store/session-store.js';
import { TableNotFoundError, TableSchemaError } from '../src/errors.js';
import { bundledScript } from './helpers/bundle.js';
import { ENDPOINT, localOptions, uniqueTable } from './helpers/dynamo.js';

describe('table bootstrap in ready()', () => {
  it('creates a missing table with the seed key schema, provisioned 10/5 by default, and TTL on expiresAt', async () => {
    const store = new SessionStore(localOptions());
    const result = await store.ready();
    assert.equal(result?.created, true);
    const { Table } = await store.client.send(new DescribeTableCommand({ TableName: store.config.table }));
    assert.equal(Table?.TableStatus, 'ACTIVE');
    assert.deepEqual(Table?.KeySchema, [{ AttributeName: 'sessionId', KeyType: 'HASH' }]);
    assert.deepEqual(Table?.AttributeDefinitions, [{ AttributeName: 'sessionId', AttributeType: 'S' }]);
    assert.equal(Table?.ProvisionedThroughput?.ReadCapacityUnits, 10);
    assert.equal(Table?.ProvisionedThroughput?.WriteCapacityUnits, 5);
    const ttl = await store.client.send(new DescribeTimeToLiveCommand({ TableName: store.config.table }));
    assert.equal(ttl.TimeToLiveDescription?.AttributeName, 'expiresAt');
    assert.equal(ttl.TimeToLiveDescription?.TimeToLiveStatus, 'ENABLED');
    await store.close();
  });

  it('creates the table with the configured capacity or on-demand billing', async () => {
    const provisioned = new SessionStore(localOptions({ readCapacityUnits: 3, writeCapacityUnits: 2 }));
    await provisioned.ready();
    const p = await provisioned.client.send(new DescribeTableCommand({ TableName: provisioned.config.table }));
    assert.equal(p.Table?.ProvisionedThroughput?.ReadCapacityUnits, 3);
    assert.equal(p.Table?.ProvisionedThroughput?.WriteCapacityUnits, 2);
    const onDemand = new SessionStore(localOptions({ billingMode: 'PAY_PER_REQUEST' }));
    await onDemand.ready();
    const d = await onDemand.client.send(new DescribeTableCommand({ TableName: onDemand.config.table }));
    assert.equal(d.Table?.BillingModeSummary?.BillingMode, 'PAY_PER_REQUEST');
    await provisioned.close();
    await onDemand.close();
  });

  it('a missing table with createIfNotExist false is a TableNotFoundError naming table, endpoint and the fix', async () => {
    const store = new SessionStore(localOptions({ createIfNotExist: false }));
    await assert.rejects(store.ready(), (err: unknown) => {
      assert.ok(err instanceof TableNotFoundError);
      assert.equal(err.code, 'DSM_TABLE_NOT_FOUND');
      assert.match(err.message, new RegExp(store.config.table));
      assert.match(err.message, new RegExp(ENDPOINT.replace(/[.:/]/g, '\\$&')));
      assert.match(err.message, /dynamodb-session create-table/);
      return true;
    });
    // No table was created behind our back.
    await assert.rejects(store.client.send(new DescribeTableCommand({ TableName: store.config.table })), /ResourceNotFound|non-existent/);
    await store.close();
  });

  it('an existing table made for the Tomcat manager (sessionId hash key only) is accepted as is', async () => {
    const table = uniqueTable('tomcat');
    const store = new SessionStore(localOptions({ table, createIfNotExist: false }));
    await store.client.send(
      new CreateTableCommand({
        TableName: table,
        KeySchema: [{ AttributeName: 'sessionId', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'sessionId', AttributeType: 'S' }],
        ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 1 },
      }),
    );
    const result = await store.ready();
    assert.equal(result?.created, false);
    await store.set('x', { ok: true });
    assert.deepEqual(await store.get('x'), { ok: true });
    await store.close();
  });

  for (const [label, keySchema, defs] of [
    ['another hash key name', [{ AttributeName: 'id', KeyType: 'HASH' }], [{ AttributeName: 'id', AttributeType: 'S' }]],
    ['a numeric sessionId', [{ AttributeName: 'sessionId', KeyType: 'HASH' }], [{ AttributeName: 'sessionId', AttributeType: 'N' }]],
    [
      'a range key',
      [
        { AttributeName: 'sessionId', KeyType: 'HASH' },
        { AttributeName: 'at', KeyType: 'RANGE' },
      ],
      [
        { AttributeName: 'sessionId', AttributeType: 'S' },
        { AttributeName: 'at', AttributeType: 'N' },
      ],
    ],
  ] as const) {
    it(`an existing table with ${label} is a TableSchemaError`, async () => {
      const table = uniqueTable('wrong');
      const store = new SessionStore(localOptions({ table }));
      await store.client.send(
        new CreateTableCommand({
          TableName: table,
          KeySchema: keySchema.map((k) => ({ ...k })),
          AttributeDefinitions: defs.map((d) => ({ ...d })),
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      await assert.rejects(store.ready(), (err: unknown) => {
        assert.ok(err instanceof TableSchemaError);
        assert.equal(err.code, 'DSM_TABLE_SCHEMA');
        assert.match(err.message, new RegExp(table));
        return true;
      });
      await store.close();
    });
  }

  it('several processes calling ready() at once on a missing table all succeed', async () => {
    const table = uniqueTable('race');
    const script = `
      import { SessionStore } from './src/store/session-store.ts';
      const store = new SessionStore({ endpoint: ${JSON.stringify(ENDPOINT)}, region: 'us-east-1', accessKeyId: 'a', secretAccessKey: 'b', table: ${JSON.stringify(table)} });
      await store.ready();
      await store.set('from-' + process.pid, { pid: process.pid });
      console.log('ready ' + process.pid);
    `;
    const main = await bundledScript(script);
    const runs = Array.from({ length: 4 }, () => {
      const child = spawn(process.execPath, [main], {
        cwd: process.cwd(),
        env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (c) => (out += c));
      child.stderr.on('data', (c) => (err += c));
      return new Promise<{ code: number | null; out: string; err: string }>((resolve) => child.on('exit', (code) => resolve({ code, out, err })));
    });
    // In this process too, several stores at once.
    const local = Array.from({ length: 3 }, () => new SessionStore(localOptions({ table })));
    const [results] = await Promise.all([Promise.all(runs), Promise.all(local.map((s) => s.ready()))]);
    for (const r of results) assert.equal(r.code, 0, r.err);
    assert.equal((await liveKeys(contextOf(local[0]!))).length, 4);
    await Promise.all(local.map((s) => s.close()));
  });

  it('skipTableCheck makes no DescribeTable call', async () => {
    const store = new SessionStore(localOptions({ skipTableCheck: true }));
    await store.ready();
    assert.equal(store.stats().calls.DescribeTable, undefined);
    await store.close();
  });
});

describe('the client the store makes', () => {
  it('resolves the SDK middleware stack once per command class, yet a command with middleware of its own still runs it', async () => {
    const { clockSkewMs } = await import('../src/store/diagnose.js');
    const store = new SessionStore(localOptions());
    await store.ready();
    assert.equal((store.client.config as { cacheMiddleware?: boolean }).cacheMiddleware, true);
    // Fill the cache for GetItem first: a probe whose middleware the cache skipped would find no Date header.
    await store.get('warm-the-cache');
    const first = await clockSkewMs(store);
    assert.equal(typeof first, 'number', 'the probe read the Date header after GetItem was cached');
    // And its middleware did not stay behind for later GetItems (a cached copy would keep it).
    const handlers = (store.client as unknown as { handlers?: WeakMap<object, unknown> }).handlers;
    assert.ok(handlers === undefined || !handlers.has((await import('@aws-sdk/client-dynamodb')).GetItemCommand), 'the probe left no cached GetItem stack');
    await store.set('after-probe', { a: 1 });
    assert.deepEqual(await store.get('after-probe'), { a: 1 });
    assert.equal(typeof (await clockSkewMs(store)), 'number', 'a second probe still reads the header');
    await store.close();
  });
});
