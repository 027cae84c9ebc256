/**
 * OpenTelemetry traces and metrics (docs/telemetry.md), read with the SDK's
 * in-memory span exporter and metric reader, through the Web, Express and
 * Fastify entries against DynamoDB Local. The providers are registered before
 * any store exists, as an application's tracing set-up must be.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { context, metrics, trace, SpanStatusCode } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type DataPoint, type Histogram } from '@opentelemetry/sdk-metrics';

const spans = new InMemorySpanExporter();
const contextManager = new AsyncLocalStorageContextManager().enable();
context.setGlobalContextManager(contextManager);
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
trace.setGlobalTracerProvider(tracerProvider);
const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 });
const meterProvider = new MeterProvider({ readers: [reader] });
metrics.setGlobalMeterProvider(meterProvider);

const { localOptions, uniqueTable, ENDPOINT } = await import('./helpers/dynamo.js');
const { startApp } = await import('./helpers/lifecycle-apps.js');
const { startTcpProxy } = await import('./helpers/tcp-proxy.js');
const { webSessions } = await import('../src/adapters/web.js');
const { SessionStore } = await import('../src/store/session-store.js');

after(async () => {
  await tracerProvider.shutdown();
  await meterProvider.shutdown();
  contextManager.disable();
});

/** Spans by name, with their children, for asserting a tree. */
function tree(list: ReadableSpan[]) {
  const children = (span: ReadableSpan) => list.filter((s) => s.parentSpanContext?.spanId === span.spanContext().spanId);
  const named = (name: string) => list.filter((s) => s.name === name);
  return { children, named, one: (name: string) => { const found = named(name); assert.equal(found.length, 1, `one ${name} span, got ${list.map((s) => s.name).join(', ')}`); return found[0]!; } };
}

/** Every data point of a metric, summed over attribute sets that match `where`. */
async function metric(name: string, where: Record<string, unknown> = {}): Promise<{ sum: number; count: number }> {
  await reader.forceFlush();
  const batches = metricExporter.getMetrics();
  const last = batches[batches.length - 1];
  let sum = 0;
  let count = 0;
  for (const scope of last?.scopeMetrics ?? []) {
    for (const m of scope.metrics) {
      if (m.descriptor.name !== name) continue;
      for (const point of m.dataPoints as DataPoint<number | Histogram>[]) {
        if (!Object.entries(where).every(([k, v]) => point.attributes[k] === v)) continue;
        if (typeof point.value === 'number') sum += point.value;
        else {
          sum += point.value.sum ?? 0;
          count += point.value.count;
        }
      }
    }
  }
  return { sum, count };
}

/** The session's cookie of an answer, not its version cookie (`<name>.v`, which Express may set first): these tests read strongly. */
const cookieOf = (res: Response): string =>
  res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0]!)
    .find((c) => !c.split('=')[0]!.endsWith('.v')) ?? '';
/** The session id inside a signed cookie `sid=s%3A<id>.<signature>`. */
const idOf = (cookie: string): string => decodeURIComponent(cookie.slice(cookie.indexOf('=') + 1)).slice(2).replace(/\.[^.]*$/, '');

describe('telemetry through the Web entry', { concurrency: false }, () => {
  const table = uniqueTable('otel_web');
  const web = webSessions({ ...localOptions({ table, locking: 'auto', returnConsumedCapacity: true }), secret: 'a test secret that is at least thirty-two characters long' });
  const store = web.sessions.store;
  before(() => store.ready());
  after(() => store.close());

  it('a locked POST that meets a newer write: load > lock, then a save that merged, with attempts, capacity, bytes and the session only by its tag', async () => {
    const first = await web.handle(new Request('http://app/start', { method: 'POST' }), async (session) => {
      session.set('keys', { start: 1 });
      return Response.json({ ok: true });
    });
    const cookie = cookieOf(first);
    assert.ok(cookie);
    spans.reset();
    let go!: () => void;
    const gate = new Promise<void>((r) => (go = r));
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    const post = web.handle(new Request('http://app/key/a', { method: 'POST', headers: { cookie } }), async (session) => {
      entered();
      await gate;
      session.set('keys', { ...(session.get<Record<string, number>>('keys') ?? {}), a: 1 });
      return Response.json({ ok: true });
    });
    await inside;
    // A safe request takes no lease (locking: 'auto'): its write lands while the POST holds the lease.
    const get = await web.handle(new Request('http://app/touch/b', { headers: { cookie } }), async (session) => {
      session.set('keys', { ...(session.get<Record<string, number>>('keys') ?? {}), b: 1 });
      return Response.json({ ok: true });
    });
    assert.equal(get.status, 200);
    go();
    assert.equal((await post).status, 200);
    const id = idOf(cookie);
    assert.deepEqual((await store.get(id))?.keys, { start: 1, a: 1, b: 1 });

    const t = tree(spans.getFinishedSpans());
    const loads = t.named('session.load');
    const locked = loads.find((s) => s.attributes['db.operation.name'] === 'UpdateItem');
    assert.ok(locked, 'the POST\'s load takes the lease with an UpdateItem');
    assert.deepEqual(t.children(locked).map((s) => s.name), ['session.lock']);
    const lock = t.children(locked)[0]!;
    assert.equal(typeof lock.attributes['dynamodb_session.lock_wait_ms'], 'number');
    assert.equal(locked.attributes['dynamodb_session.outcome'], 'found');
    assert.equal(locked.attributes['db.system.name'], 'aws.dynamodb');
    assert.equal(locked.attributes['db.collection.name'], table);
    assert.equal(locked.attributes['dynamodb_session.locking'], 'auto');
    const saves = t.named('session.save');
    const merged = saves.find((s) => s.attributes['dynamodb_session.outcome'] === 'merged');
    assert.ok(merged, `a save that merged, got ${saves.map((s) => s.attributes['dynamodb_session.outcome']).join(', ')}`);
    assert.ok((merged.attributes['dynamodb_session.attempts'] as number) >= 2, 'the conditional write that failed, then the merged one');
    assert.ok((merged.attributes['dynamodb_session.consumed_capacity'] as number) > 0);
    assert.ok((merged.attributes['dynamodb_session.item_bytes'] as number) > 0);
    assert.equal(merged.attributes['dynamodb_session.chunks'], 0);
    assert.equal(merged.status.code, SpanStatusCode.UNSET);
    for (const span of spans.getFinishedSpans()) {
      const tag = span.attributes['dynamodb_session.session'];
      assert.match(String(tag), /^[0-9a-f]{12}$/, `${span.name} names the session by its tag`);
      for (const value of Object.values(span.attributes)) assert.ok(!String(value).includes(id), `${span.name} carries no session id`);
    }
    assert.ok((await metric('dynamodb_session.merges', { 'db.collection.name': table })).sum >= 1);
    assert.ok((await metric('dynamodb_session.save.duration', { 'db.collection.name': table, 'dynamodb_session.outcome': 'merged' })).count >= 1);
    assert.ok((await metric('dynamodb_session.load.duration', { 'db.collection.name': table })).count >= 3);
    assert.ok((await metric('dynamodb_session.lock.wait.duration', { 'db.collection.name': table })).count >= 1);
    assert.ok((await metric('dynamodb_session.session.size', { 'db.collection.name': table })).count >= 2);
    assert.ok((await metric('dynamodb_session.capacity.consumed', { 'db.collection.name': table, 'db.operation.name': 'UpdateItem' })).sum > 0);
    assert.equal((await metric('dynamodb_session.leases.held', { 'db.collection.name': table })).sum, 0, 'every lease given back');
  });

  it('a conflict (both wrote the same key) is the outcome "conflict" and counted', async () => {
    const first = await web.handle(new Request('http://app/start', { method: 'POST' }), async (session) => {
      session.set('k', 0);
      return Response.json({ ok: true });
    });
    const cookie = cookieOf(first);
    spans.reset();
    const before = await metric('dynamodb_session.conflicts', { 'db.collection.name': table });
    let go!: () => void;
    const gate = new Promise<void>((r) => (go = r));
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    const post = web.handle(new Request('http://app/k', { method: 'POST', headers: { cookie } }), async (session) => {
      entered();
      await gate;
      session.set('k', 1);
      return Response.json({ ok: true });
    });
    await inside;
    await web.handle(new Request('http://app/k', { headers: { cookie } }), async (session) => {
      session.set('k', 2);
      return Response.json({ ok: true });
    });
    go();
    await post;
    const outcomes = tree(spans.getFinishedSpans()).named('session.save').map((s) => s.attributes['dynamodb_session.outcome']);
    assert.ok(outcomes.includes('conflict'), outcomes.join(', '));
    assert.equal((await metric('dynamodb_session.conflicts', { 'db.collection.name': table })).sum - before.sum, 1);
  });
});

describe('telemetry of failures', { concurrency: false }, () => {
  it('an outage: the load span fails with the store\'s code, the 503 is counted once, and the SDK\'s retries by error', async () => {
    const proxy = await startTcpProxy(Number(new URL(ENDPOINT).port));
    const table = uniqueTable('otel_outage');
    const web = webSessions({ ...localOptions({ table, endpoint: proxy.endpoint, maxAttempts: 2, requestTimeoutMs: 500 }), secret: 'a test secret that is at least thirty-two characters long' });
    try {
      await web.sessions.store.ready();
      const first = await web.handle(new Request('http://app/'), async (session) => {
        session.set('n', 1);
        return Response.json({ ok: true });
      });
      const cookie = cookieOf(first);
      const before503 = await metric('dynamodb_session.unavailable.responses', { 'error.type': 'DSM_STORE_UNAVAILABLE' });
      spans.reset();
      proxy.down();
      const res = await web.handle(new Request('http://app/', { headers: { cookie } }), async () => Response.json({ ok: true }));
      assert.equal(res.status, 503);
      const t = tree(spans.getFinishedSpans());
      const load = t.one('session.load');
      assert.equal(load.status.code, SpanStatusCode.ERROR);
      assert.equal(load.attributes['error.type'], 'DSM_STORE_UNAVAILABLE');
      assert.equal(load.attributes['dynamodb_session.attempts'], 2, 'maxAttempts: 2');
      assert.ok(load.events.some((e) => e.name === 'exception'));
      assert.equal(t.named('session.save').length, 0);
      assert.equal((await metric('dynamodb_session.unavailable.responses', { 'error.type': 'DSM_STORE_UNAVAILABLE' })).sum - before503.sum, 1);
      assert.ok((await metric('dynamodb_session.retries')).sum >= 1, 'the SDK sent the GetItem again');
      assert.ok((await metric('dynamodb_session.load.duration', { 'db.collection.name': table, 'error.type': 'DSM_STORE_UNAVAILABLE' })).count >= 1);
    } finally {
      proxy.up();
      await web.sessions.store.close();
      await proxy.close();
    }
  });

  it('a lock time-out: the lock span fails with DSM_LOCK_TIMEOUT inside the load span, and is counted', async () => {
    const table = uniqueTable('otel_lock');
    const options = localOptions({ table, locking: 'pessimistic', maxLockWaitMs: 300 });
    const web = webSessions({ ...options, secret: 'a test secret that is at least thirty-two characters long' });
    const other = new SessionStore({ ...options, skipTableCheck: true });
    try {
      await web.sessions.store.ready();
      const first = await web.handle(new Request('http://app/', { method: 'POST' }), async (session) => {
        session.set('n', 1);
        return Response.json({ ok: true });
      });
      const cookie = cookieOf(first);
      const id = idOf(cookie);
      // Another server holds the session's lease.
      const held = await other.load(id, { lock: true });
      assert.ok(held);
      const before = await metric('dynamodb_session.lock.timeouts', { 'db.collection.name': table });
      spans.reset();
      const res = await web.handle(new Request('http://app/', { method: 'POST', headers: { cookie } }), async () => Response.json({ ok: true }));
      assert.equal(res.status, 503);
      await other.release(held.handle);
      const t = tree(spans.getFinishedSpans().filter((s) => s.attributes['db.collection.name'] === table && s.attributes['dynamodb_session.session'] !== undefined));
      const load = t.named('session.load').find((s) => s.status.code === SpanStatusCode.ERROR);
      assert.ok(load);
      const [lock] = t.children(load);
      assert.equal(lock?.name, 'session.lock');
      assert.equal(lock.status.code, SpanStatusCode.ERROR);
      assert.equal(lock.attributes['error.type'], 'DSM_LOCK_TIMEOUT');
      assert.ok((lock.attributes['dynamodb_session.lock_wait_ms'] as number) >= 300);
      assert.ok((lock.attributes['dynamodb_session.attempts'] as number) >= 1, JSON.stringify(lock.attributes));
      assert.equal((await metric('dynamodb_session.lock.timeouts', { 'db.collection.name': table })).sum - before.sum, 1);
    } finally {
      await Promise.all([web.sessions.store.close(), other.close()]);
    }
  });
});

describe('telemetry through the Express and Fastify entries', { concurrency: false }, () => {
  for (const framework of ['express', 'fastify'] as const) {
    it(`${framework}: a locked POST is load > lock, then a save that stored, then the lease counted back to 0`, async () => {
      const table = uniqueTable(`otel_${framework}`);
      const app = await startApp(framework, { store: { table, locking: 'pessimistic' } });
      try {
        spans.reset();
        const res = await fetch(`${app.url}/app/incr`, { method: 'POST' });
        assert.equal(res.status, 200);
        const cookie = cookieOf(res);
        const again = await fetch(`${app.url}/app/incr`, { method: 'POST', headers: { cookie } });
        assert.deepEqual(await again.json(), { n: 2 });
        const t = tree(spans.getFinishedSpans().filter((s) => s.attributes['db.collection.name'] === table));
        const load = t.named('session.load').find((s) => s.attributes['dynamodb_session.outcome'] === 'found');
        assert.ok(load, t.named('session.load').map((s) => JSON.stringify(s.attributes)).join('\n'));
        assert.deepEqual(t.children(load).map((s) => s.name), ['session.lock']);
        const outcomes = t.named('session.save').map((s) => s.attributes['dynamodb_session.outcome']);
        assert.deepEqual(outcomes, ['stored', 'stored']);
        assert.equal(t.named('session.save')[1]!.attributes['dynamodb_session.locking'], 'pessimistic');
        assert.equal((await metric('dynamodb_session.leases.held', { 'db.collection.name': table })).sum, 0);
        assert.equal((await metric('dynamodb_session.save.duration', { 'db.collection.name': table, 'dynamodb_session.outcome': 'stored' })).count, 2);
      } finally {
        await app.close();
        await app.store.close();
      }
    });
  }

  it('purge and revoke are admin spans', async () => {
    const table = uniqueTable('otel_admin');
    const store = new SessionStore(localOptions({ table, userId: 'user' }));
    try {
      await store.ready();
      await store.set('a-session-id-of-at-least-some-length-1', { user: 'u1' });
      spans.reset();
      assert.equal(await store.destroyUserSessions('u1'), 1);
      await store.purgeExpired();
      const t = tree(spans.getFinishedSpans());
      assert.equal(t.one('session.admin.revoke').attributes['dynamodb_session.deleted'], 1);
      assert.equal(t.one('session.admin.purge').attributes['db.operation.name'], 'Scan');
    } finally {
      await store.close();
    }
  });
});

describe('spans of the AWS SDK instrumentation nest under the store\'s', { concurrency: false }, () => {
  interface Line { name: string; kind: number; id: string; parent: string | null; scope: string }
  const traced = async (undici: boolean): Promise<Line[]> => {
    const table = uniqueTable('otel_sdk');
    const { execFile } = await import('node:child_process');
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        ['--import', 'tsx', '--import', './test/fixtures/otel-hook.mjs', 'test/fixtures/otel-aws-sdk.ts'],
        { env: { ...process.env, DSM_TEST_ENDPOINT: ENDPOINT, DSM_TABLE: table, OTEL_UNDICI: undici ? '1' : '0' }, timeout: 120_000 },
        (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
      ),
    );
    return out.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Line);
  };
  const under = (lines: Line[], parent: Line) => lines.filter((l) => l.parent === parent.id);

  it('each DynamoDB call is a client span of @opentelemetry/instrumentation-aws-sdk inside the store\'s span (the store\'s own undici handler)', async () => {
    const lines = await traced(false);
    const lock = lines.find((l) => l.name === 'session.lock')!;
    const save = lines.find((l) => l.name === 'session.save')!;
    assert.ok(lock && save, JSON.stringify(lines));
    const sdk = (l: Line) => l.scope.includes('aws-sdk');
    assert.deepEqual(under(lines, lock).filter(sdk).map((l) => l.name), ['DynamoDB.UpdateItem'], JSON.stringify(lines));
    assert.deepEqual(under(lines, save).filter(sdk).map((l) => l.name), ['DynamoDB.UpdateItem'], JSON.stringify(lines));
    assert.equal(lines.filter((l) => l.scope.includes('undici')).length, 0, 'no transport spans without the undici instrumentation');
  });

  it('with @opentelemetry/instrumentation-undici, each HTTP request to DynamoDB is a span under its SDK call', async () => {
    const lines = await traced(true);
    const calls = lines.filter((l) => l.scope.includes('aws-sdk'));
    assert.ok(calls.length >= 2, JSON.stringify(lines));
    for (const call of calls) assert.equal(under(lines, call).filter((l) => l.scope.includes('undici')).length, 1, `${call.name} has its HTTP span: ${JSON.stringify(lines)}`);
  });
});
