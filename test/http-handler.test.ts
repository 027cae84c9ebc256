import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { UndiciHttpHandler } from '../src/aws/http-handler.js';
import { SessionStore } from '../src/store/session-store.js';
import { localOptions } from './helpers/dynamo.js';

/** A loopback HTTP server whose answer each test sets; it records what it was sent. */
class FakeEndpoint {
  server: Server;
  answer: (req: IncomingMessage, res: ServerResponse, body: string) => void = (_req, res) => res.end('{}');
  received: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: string }> = [];
  sockets = new Set<Socket>();
  /** Connections accepted so far. */
  accepted = 0;

  constructor() {
    this.server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        this.received.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        this.answer(req, res, body);
      });
    });
    this.server.on('connection', (s) => {
      this.accepted += 1;
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  async start(host = '127.0.0.1'): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, host, resolve));
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Waits (at most a second) until no connection is open. */
  async idle(): Promise<number> {
    for (let i = 0; i < 50 && this.sockets.size > 0; i++) await new Promise((r) => setTimeout(r, 20));
    return this.sockets.size;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

const request = (port: number, extra: Record<string, unknown> = {}) => ({
  protocol: 'http:',
  hostname: '127.0.0.1',
  port,
  method: 'POST',
  path: '/',
  headers: { host: `127.0.0.1:${port}`, 'content-type': 'application/x-amz-json-1.0' },
  body: '{"TableName":"t"}',
  ...extra,
});

const dynamo = (port: number, handler: UndiciHttpHandler, maxAttempts = 1) =>
  new DynamoDBClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    maxAttempts,
    requestHandler: handler,
  });

const ITEM = JSON.stringify({ Item: { sessionId: { S: 'abc' }, version: { N: '3' } } });

describe('the HTTP handler of the store\'s own client', () => {
  const endpoint = new FakeEndpoint();
  before(() => endpoint.start());
  after(() => endpoint.stop());

  it('sends method, path, query, headers and body as given, and returns the status, the headers (repeated ones joined) and the whole body', async () => {
    endpoint.received.length = 0;
    const big = 'x'.repeat(200_000);
    endpoint.answer = (_req, res) => {
      res.setHeader('x-amzn-requestid', 'r-1');
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.statusCode = 400;
      res.end(big);
    };
    const handler = new UndiciHttpHandler({ requestTimeoutMs: 2_000, connectionTimeoutMs: 2_000 });
    try {
      const { response } = await handler.handle(request(endpoint.port, { path: '/p', query: { b: 'two words', a: ['1', '2'], flag: null }, headers: { host: `127.0.0.1:${endpoint.port}`, 'x-test': 'yes' } }) as never);
      assert.equal(response.statusCode, 400);
      assert.equal(response.headers['x-amzn-requestid'], 'r-1');
      assert.equal(response.headers['set-cookie'], 'a=1, b=2');
      assert.equal(Buffer.from(response.body as Uint8Array).toString('utf8'), big);
      const seen = endpoint.received[0]!;
      assert.equal(seen.method, 'POST');
      assert.equal(seen.url, '/p?a=1&a=2&b=two%20words&flag');
      assert.equal(seen.headers['x-test'], 'yes');
      assert.equal(seen.body, '{"TableName":"t"}');
    } finally {
      handler.destroy();
    }
  });

  it('keeps connections open between calls, and destroy() closes them', async () => {
    endpoint.answer = (_req, res) => res.end(ITEM);
    const handler = new UndiciHttpHandler({ requestTimeoutMs: 2_000, connectionTimeoutMs: 2_000 });
    const client = dynamo(endpoint.port, handler);
    assert.equal(await endpoint.idle(), 0);
    const before = endpoint.accepted;
    for (let i = 0; i < 20; i++) {
      const out = await client.send(new GetItemCommand({ TableName: 't', Key: { sessionId: { S: 'abc' } } }));
      assert.equal(out.Item?.version?.N, '3');
    }
    // undici's pool counts a connection still being set up as busy, so the second call may open another.
    assert.ok(endpoint.accepted - before <= 2, `twenty sequential calls opened ${endpoint.accepted - before} connections`);
    assert.ok(endpoint.sockets.size >= 1, 'connections stay open after the calls');
    client.destroy();
    assert.equal(await endpoint.idle(), 0, 'destroy() closed the connection');
  });

  it('an endpoint that never answers fails with a TimeoutError after requestTimeoutMs, which the SDK retries', async () => {
    endpoint.received.length = 0;
    endpoint.answer = () => {}; // never answers
    const handler = new UndiciHttpHandler({ requestTimeoutMs: 300, connectionTimeoutMs: 300 });
    const client = dynamo(endpoint.port, handler, 2);
    const started = Date.now();
    try {
      await assert.rejects(client.send(new GetItemCommand({ TableName: 't', Key: { sessionId: { S: 'abc' } } })), (err: Error & { $metadata?: { attempts?: number } }) => {
        assert.equal(err.name, 'TimeoutError');
        assert.equal(err.$metadata?.attempts, 2);
        return true;
      });
      assert.equal(endpoint.received.length, 2, 'the SDK tried twice');
      assert.ok(Date.now() - started >= 600, 'each attempt waited for the time-out');
    } finally {
      client.destroy();
    }
  });

  it('a connection closed under the request is an ECONNRESET that the SDK retries on a new connection', async () => {
    let calls = 0;
    endpoint.answer = (req, res) => {
      calls += 1;
      if (calls === 1) req.socket.destroy();
      else res.end(ITEM);
    };
    const client = dynamo(endpoint.port, new UndiciHttpHandler({ requestTimeoutMs: 2_000, connectionTimeoutMs: 2_000 }), 3);
    try {
      const out = await client.send(new GetItemCommand({ TableName: 't', Key: { sessionId: { S: 'abc' } } }));
      assert.equal(out.Item?.sessionId?.S, 'abc');
      assert.equal(out.$metadata.attempts, 2);
    } finally {
      client.destroy();
    }
    const once = dynamo(endpoint.port, new UndiciHttpHandler({ requestTimeoutMs: 2_000, connectionTimeoutMs: 2_000 }), 1);
    endpoint.answer = (req) => req.socket.destroy();
    try {
      await assert.rejects(once.send(new GetItemCommand({ TableName: 't', Key: { sessionId: { S: 'abc' } } })), { code: 'ECONNRESET' });
    } finally {
      once.destroy();
    }
  });

  it('an aborted call ends with an AbortError, and one aborted before it starts is never sent', async () => {
    endpoint.received.length = 0;
    endpoint.answer = () => {}; // never answers: only the abort can end the call
    const handler = new UndiciHttpHandler({ requestTimeoutMs: 5_000, connectionTimeoutMs: 5_000 });
    try {
      const controller = new AbortController();
      const pending = handler.handle(request(endpoint.port) as never, { abortSignal: controller.signal });
      setTimeout(() => controller.abort(), 100);
      await assert.rejects(pending, { name: 'AbortError' });
      const sentBefore = endpoint.received.length;
      await assert.rejects(handler.handle(request(endpoint.port) as never, { abortSignal: AbortSignal.abort() }), { name: 'AbortError' });
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(endpoint.received.length, sentBefore);
    } finally {
      handler.destroy();
    }
  });

  // undici is loaded at the first request (a cold start that makes no call does not pay for it): the agent is made then.
  it('concurrent first requests of a new handler share one agent: with one connection allowed, one connection is opened', async () => {
    endpoint.answer = (_req, res) => setTimeout(() => res.end('{}'), 20);
    const acceptedBefore = endpoint.accepted;
    const handler = new UndiciHttpHandler({ requestTimeoutMs: 2_000, connectionTimeoutMs: 2_000, maxConnections: 1 });
    try {
      const answers = await Promise.all(Array.from({ length: 4 }, () => handler.handle(request(endpoint.port) as never)));
      assert.deepEqual(answers.map((a) => a.response.statusCode), [200, 200, 200, 200]);
      assert.equal(endpoint.accepted - acceptedBefore, 1);
    } finally {
      handler.destroy();
    }
  });

  it('a handler destroyed before its first request refuses it without sending it, as when its agent was made up front', async () => {
    endpoint.received.length = 0;
    endpoint.answer = (_req, res) => res.end('{}');
    const handler = new UndiciHttpHandler({ requestTimeoutMs: 2_000, connectionTimeoutMs: 2_000 });
    handler.destroy();
    await assert.rejects(handler.handle(request(endpoint.port) as never), { code: 'UND_ERR_DESTROYED' });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(endpoint.received.length, 0);
  });

  it('a refused connection keeps its ECONNREFUSED code, which the SDK retries', async () => {
    const closed = new FakeEndpoint();
    await closed.start();
    const port = closed.port;
    await closed.stop();
    const client = dynamo(port, new UndiciHttpHandler({ requestTimeoutMs: 1_000, connectionTimeoutMs: 1_000 }), 2);
    try {
      await assert.rejects(client.send(new GetItemCommand({ TableName: 't', Key: { sessionId: { S: 'abc' } } })), (err: Error & { code?: string; $metadata?: { attempts?: number } }) => {
        assert.equal(err.code, 'ECONNREFUSED');
        assert.equal(err.$metadata?.attempts, 2);
        return true;
      });
    } finally {
      client.destroy();
    }
  });

  it('reaches an endpoint given as an IPv6 literal', async () => {
    const v6 = new FakeEndpoint();
    await v6.start('::1');
    v6.answer = (_req, res) => res.end(ITEM);
    const client = new DynamoDBClient({
      endpoint: `http://[::1]:${v6.port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      maxAttempts: 1,
      requestHandler: new UndiciHttpHandler({ requestTimeoutMs: 2_000, connectionTimeoutMs: 2_000 }),
    });
    try {
      const out = await client.send(new GetItemCommand({ TableName: 't', Key: { sessionId: { S: 'abc' } } }));
      assert.equal(out.Item?.version?.N, '3');
      assert.equal(v6.received.length, 1);
    } finally {
      client.destroy();
      await v6.stop();
    }
  });

  it('is what a store built from options sends through; a client the application brings is left as it is', async () => {
    const store = new SessionStore(localOptions());
    assert.ok(store.client.config.requestHandler instanceof UndiciHttpHandler);
    await store.set('handler-check', { a: 1 });
    assert.deepEqual((await store.get('handler-check'))?.a, 1);
    await store.close();
    const own = new DynamoDBClient({ region: 'us-east-1' });
    const brought = new SessionStore(localOptions({ client: own }));
    assert.equal(brought.client, own);
    assert.ok(!(own.config.requestHandler instanceof UndiciHttpHandler));
    own.destroy();
    await brought.close();
  });
});
