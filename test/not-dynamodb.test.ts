/**
 * An endpoint where something other than DynamoDB answers (a web server's
 * HTML 404, a proxy's text): the store says the endpoint does not speak the
 * DynamoDB API, as an outage (503 and retry), not as an IAM refusal.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import express from 'express';
import { DynamoDBStore, dynamoSession } from '../src/adapters/express.js';
import { SessionStore } from '../src/store/session-store.js';
import { localOptions, quietLogger, uniqueTable } from './helpers/dynamo.js';
import { SECRET } from './helpers/web-app.js';

const ANSWERS = [
  { what: 'an HTML 404 page', status: 404, type: 'text/html; charset=utf-8', body: '<!doctype html><title>Not Found</title><h1>Not Found</h1>' },
  { what: 'a 200 with HTML', status: 200, type: 'text/html', body: '<html><body>It works!</body></html>' },
  { what: 'JSON without a DynamoDB error type', status: 404, type: 'application/json', body: '{"error":"no such route"}' },
];

/** A web server that is not DynamoDB: every request gets the same answer. */
async function notDynamoDB(answer: (typeof ANSWERS)[number]): Promise<{ endpoint: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    req.resume();
    res.writeHead(answer.status, { 'content-type': answer.type });
    res.end(answer.body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const options = (endpoint: string) => ({ endpoint, region: 'us-east-1', accessKeyId: 'local', secretAccessKey: 'local', table: 'sessions', logger: quietLogger(), maxAttempts: 1 });

describe('an endpoint that does not speak the DynamoDB API', () => {
  for (const answer of ANSWERS) {
    it(`${answer.what}: ready() and get() fail with StoreUnavailableError saying so, on one line, naming the endpoint and the answer`, async () => {
      const server = await notDynamoDB(answer);
      const store = new SessionStore(options(server.endpoint));
      try {
        for (const call of [() => store.ready(), () => store.get('some-session-id')]) {
          await assert.rejects(call(), (err: Error & { code?: string }) => {
            assert.equal(err.name, 'StoreUnavailableError');
            assert.equal(err.code, 'DSM_STORE_UNAVAILABLE');
            assert.match(err.message, new RegExp(`endpoint ${server.endpoint.replace(/\./g, '\\.')} \\(option "endpoint"\\), region \\S+ \\([^)]+\\) does not speak the DynamoDB API: .* with HTTP ${answer.status} \\(${answer.type.split(';')[0]!.replace('/', '\\/')}\\)`));
            assert.doesNotMatch(err.message, /IAM|refused/);
            assert.equal(err.message.split('\n').length, 1);
            return true;
          });
        }
      } finally {
        await store.close();
        await server.close();
      }
    });
  }

  it('an Express app with dynamoSession() answers 503 with Retry-After, not 500', async () => {
    const server = await notDynamoDB(ANSWERS[0]!);
    const store = new DynamoDBStore({ ...options(server.endpoint), skipTableCheck: true });
    const app = express();
    app.use(dynamoSession({ store, secret: SECRET, resave: false, saveUninitialized: false }));
    app.get('/', (req, res) => {
      (req.session as unknown as { views: number }).views = 1;
      res.json({ ok: true });
    });
    const http = app.listen(0, '127.0.0.1');
    await once(http, 'listening');
    try {
      const res = await fetch(`http://127.0.0.1:${(http.address() as AddressInfo).port}/`);
      await res.arrayBuffer();
      assert.equal(res.status, 503);
      assert.ok(Number(res.headers.get('retry-after')) > 0, 'Retry-After');
    } finally {
      http.close();
      await store.store.close();
      await server.close();
    }
  });
});

describe('DynamoDB itself is not mistaken for another server', () => {
  let store: SessionStore;
  before(async () => {
    store = new SessionStore(localOptions({ table: uniqueTable('wrongkey'), skipTableCheck: true, createIfNotExist: false }));
    await store.client.send(
      new CreateTableCommand({
        TableName: store.config.table,
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  });
  after(() => store.close());

  it('a call DynamoDB Local refuses (a key that is not the table key) stays a refused call, DSM_DYNAMODB', async () => {
    await assert.rejects(store.get('some-session-id'), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'DSM_DYNAMODB');
      assert.match(err.message, /ValidationException/);
      return true;
    });
  });
});
