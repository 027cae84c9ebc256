/**
 * Traces and metrics through the OpenTelemetry API, an optional peer. The API
 * is imported once, by the first store's ready(); when it is not installed
 * every hook here is one check of an undefined variable, and nothing else is
 * loaded. Installed without a registered tracer or meter provider (its SDK),
 * a hook is a look at the API's stand-in provider and nothing more: no span,
 * no context switch, no attribute object (the no-op span alone took a tenth
 * of a cold read's CPU, docs/benchmarks.md).
 *
 * A span's facts (DynamoDB attempts, capacity, bytes) are gathered from the
 * calls made under it, found through the active context, so the layers below
 * the façade need no span passed to them. The meter is asked for at the first
 * measurement: the API has no stand-in meter provider (as it has for tracers),
 * so a MeterProvider registered after that is not seen; register it first.
 */
import type * as OtelApi from '@opentelemetry/api';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { idTag } from './session-id.js';

type Api = typeof OtelApi;
type Attributes = Record<string, string | number | boolean>;

/** The scope name of every span and instrument, and the prefix of the store's own attributes and metrics. */
export const SCOPE = 'dynamodb-session-manager';
export const PREFIX = 'dynamodb_session';
// The hooks below spell attribute names out in full: a literal key costs nothing, a `${PREFIX}.…` one a string built and looked up per call.

let api: Api | undefined;
let loading: Promise<void> | undefined;
/** The registered provider's tracer, once one is found; until then every span is skipped. */
let tracer: OtelApi.Tracer | undefined;

/** Imports @opentelemetry/api once per process; resolves either way (absent: telemetry stays off). */
export function loadTelemetry(): Promise<void> {
  return (loading ??= import('@opentelemetry/api').then(
    (m) => {
      // The CommonJS build's import() of a CommonJS module: its exports may sit under `default`.
      const found = ((m as { trace?: unknown }).trace ? m : (m as unknown as { default: Api }).default) as Api;
      if (found?.trace && found.metrics) api = found;
    },
    () => undefined,
  ));
}

/** Whether the API was found (tests and the packed-package check). */
export function telemetryLoaded(): boolean {
  return api !== undefined;
}

interface Instruments {
  loadDuration: OtelApi.Histogram;
  saveDuration: OtelApi.Histogram;
  lockWait: OtelApi.Histogram;
  sessionSize: OtelApi.Histogram;
  merges: OtelApi.Counter;
  conflicts: OtelApi.Counter;
  lockTimeouts: OtelApi.Counter;
  unavailable: OtelApi.Counter;
  retries: OtelApi.Counter;
  capacity: OtelApi.ObservableCounter;
  leases: OtelApi.UpDownCounter;
}

/** null: no MeterProvider was registered at the first measurement, so none is recorded. */
let made: Instruments | null | undefined;

/**
 * The tracer of the registered provider, or undefined while none is: the API's
 * stand-in provider says whether it has one behind it (a provider of another
 * kind is a real one). Found once, it is kept, as the API's own stand-in keeps it.
 */
function activeTracer(otel: Api): OtelApi.Tracer | undefined {
  if (tracer !== undefined) return tracer;
  const provider = otel.trace.getTracerProvider() as Partial<OtelApi.ProxyTracerProvider> & OtelApi.TracerProvider;
  const found = typeof provider.getDelegateTracer === 'function' ? provider.getDelegateTracer(SCOPE) : provider.getTracer(SCOPE);
  if (found !== undefined) tracer = found;
  return found;
}

// OpenTelemetry's conventions: durations in seconds, sizes in By, counts in {thing}.
function instruments(otel: Api): Instruments | undefined {
  if (made !== undefined) return made ?? undefined;
  const meter = otel.metrics.getMeter(SCOPE);
  // The API's no-op meter: nothing would be kept, so nothing is measured.
  if (Object.getPrototypeOf(meter) === Object.getPrototypeOf(otel.createNoopMeter())) {
    made = null;
    return undefined;
  }
  const seconds = { unit: 's', advice: { explicitBucketBoundaries: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] } };
  made = {
    loadDuration: meter.createHistogram(`${PREFIX}.load.duration`, { ...seconds, description: 'Duration of session loads, lease wait included' }),
    saveDuration: meter.createHistogram(`${PREFIX}.save.duration`, {
      ...seconds,
      description: 'Duration of session saves (the end of a request that may have changed it)',
    }),
    lockWait: meter.createHistogram(`${PREFIX}.lock.wait.duration`, { ...seconds, description: 'Time a locked load waited for the session\'s lease' }),
    sessionSize: meter.createHistogram(`${PREFIX}.session.size`, {
      unit: 'By',
      description: 'Encoded size of the sessions written',
      advice: { explicitBucketBoundaries: [256, 1024, 4096, 16384, 65536, 262144, 409600, 1048576] },
    }),
    merges: meter.createCounter(`${PREFIX}.merges`, { unit: '{merge}', description: 'Saves that met a newer write and merged with it' }),
    conflicts: meter.createCounter(`${PREFIX}.conflicts`, {
      unit: '{conflict}',
      description: 'Paths both writers changed differently in a merge (onConflict decided)',
    }),
    lockTimeouts: meter.createCounter(`${PREFIX}.lock.timeouts`, { unit: '{timeout}', description: 'Locked loads that gave up after maxLockWaitMs' }),
    unavailable: meter.createCounter(`${PREFIX}.unavailable.responses`, {
      unit: '{response}',
      description: 'Requests answered 503 with Retry-After (outage, lock time-out, unknown key)',
    }),
    retries: meter.createCounter(`${PREFIX}.retries`, { unit: '{retry}', description: 'DynamoDB calls sent again, by the error that made them retry' }),
    capacity: meter.createObservableCounter(`${PREFIX}.capacity.consumed`, {
      unit: '{capacity_unit}',
      description: 'Capacity units DynamoDB reported, by operation (returnConsumedCapacity)',
    }),
    leases: meter.createUpDownCounter(`${PREFIX}.leases.held`, { unit: '{lease}', description: 'Pessimistic leases this process holds now' }),
  };
  made.capacity.addCallback((result) => {
    for (const [attributes, units] of consumed) result.observe(units, attributes);
  });
  return made;
}

/**
 * Capacity units by table and operation, summed here and read by the metric
 * reader when it collects (an asynchronous counter): every DynamoDB call
 * reports some, and a synchronous counter's add hashes its attributes on each.
 */
const consumed = new Map<Attributes, number>();
/** The attribute set of each table and operation, made once. */
const capacityKeys = new Map<string, Map<string, Attributes>>();
function addCapacity(table: string, operation: string, units: number): void {
  let byOperation = capacityKeys.get(table);
  if (byOperation === undefined) capacityKeys.set(table, (byOperation = new Map()));
  let attributes = byOperation.get(operation);
  if (attributes === undefined) byOperation.set(operation, (attributes = { 'db.collection.name': table, 'db.operation.name': operation }));
  consumed.set(attributes, (consumed.get(attributes) ?? 0) + units);
}

/** What a span learns while it runs, written as attributes when it ends. */
interface SpanFacts {
  parent: SpanFacts | undefined;
  attempts: number;
  capacity: number;
  conflicts: number;
}

const facts = new WeakMap<OtelApi.Span, SpanFacts>();

/** What each kind of span feeds: its duration histogram. */
const DURATIONS: Record<string, keyof Instruments | undefined> = {
  'session.load': 'loadDuration',
  'session.save': 'saveDuration',
  'session.lock': 'lockWait',
};

/** What a store says about itself on every span. */
export interface TracedStore {
  readonly config: { readonly table: string; readonly locking: string };
}

/** The session as the logs name it (a short hash), never the id; computed only when something records it. */
export type SessionRef = { id: string } | { tag: string } | undefined;

/** Outcomes in the vocabulary of the docs' table: a CommitOutcome, or a load's. */
const OUTCOMES: Record<string, string> = { written: 'stored', merged: 'merged', unchanged: 'skipped', touched: 'touched', destroyed: 'destroyed' };

/**
 * Runs `run` inside a span `name` (an internal span: the AWS SDK's client
 * spans, when instrumented, nest under it), and records its duration
 * histogram when it has one. `describe` turns the result into attributes
 * (outcome, bytes, chunks), called only when something records.
 */
export function traced<T>(
  store: TracedStore,
  name: string,
  operation: string,
  session: SessionRef,
  run: () => Promise<T>,
  describe?: (result: T) => Attributes | undefined,
): Promise<T> {
  if (api === undefined) return run();
  const histogram = DURATIONS[name];
  const spans = activeTracer(api);
  const metrics = histogram !== undefined ? instruments(api) : undefined;
  if (spans !== undefined) return tracedWith(api, spans, metrics, store, name, operation, session, run, describe);
  if (metrics !== undefined) return measured(metrics[histogram!] as OtelApi.Histogram, store, run, describe);
  return run();
}

/** A phase with a duration histogram and no tracer provider: timed and recorded, no span. */
async function measured<T>(
  histogram: OtelApi.Histogram,
  store: TracedStore,
  run: () => Promise<T>,
  describe: ((result: T) => Attributes | undefined) | undefined,
): Promise<T> {
  const started = performance.now();
  const metricAttributes: Attributes = { 'db.collection.name': store.config.table };
  try {
    const result = await run();
    const outcome = describe?.(result)?.['dynamodb_session.outcome'];
    if (outcome !== undefined) metricAttributes['dynamodb_session.outcome'] = outcome;
    return result;
  } catch (err) {
    metricAttributes['error.type'] = errorType(err);
    throw err;
  } finally {
    histogram.record((performance.now() - started) / 1000, metricAttributes);
  }
}

async function tracedWith<T>(
  otel: Api,
  tracer: OtelApi.Tracer,
  metrics: Instruments | undefined,
  store: TracedStore,
  name: string,
  operation: string,
  session: SessionRef,
  run: () => Promise<T>,
  describe: ((result: T) => Attributes | undefined) | undefined,
): Promise<T> {
  const histogram = DURATIONS[name];
  const started = performance.now();
  const table = store.config.table;
  const outer = otel.trace.getActiveSpan();
  const attributes: Attributes = {
    'db.system.name': 'aws.dynamodb',
    'db.collection.name': table,
    'db.operation.name': operation,
    'dynamodb_session.locking': store.config.locking,
  };
  if (session) attributes['dynamodb_session.session'] = 'tag' in session ? session.tag : tagOf(session.id);
  return tracer.startActiveSpan(name, { kind: otel.SpanKind.INTERNAL, attributes }, async (span) => {
    const recording = span.isRecording();
    const own: SpanFacts = { parent: outer ? facts.get(outer) : undefined, attempts: 0, capacity: 0, conflicts: 0 };
    if (recording) facts.set(span, own);
    const metricAttributes: Attributes = { 'db.collection.name': table };
    try {
      const result = await run();
      const described = describe && (recording || metrics) ? describe(result) : undefined;
      if (described) {
        if (own.conflicts > 0 && described['dynamodb_session.outcome'] === 'merged') described['dynamodb_session.outcome'] = 'conflict';
        if (recording) span.setAttributes(described);
        const outcome = described['dynamodb_session.outcome'];
        if (outcome !== undefined) metricAttributes['dynamodb_session.outcome'] = outcome;
      }
      return result;
    } catch (err) {
      const code = errorType(err);
      metricAttributes['error.type'] = code;
      if (recording) {
        span.setAttribute('error.type', code);
        span.recordException(err as Error);
        span.setStatus({ code: otel.SpanStatusCode.ERROR, message: `${code}: ${(err as Error)?.message ?? String(err)}`.slice(0, 300) });
      }
      throw err;
    } finally {
      const seconds = (performance.now() - started) / 1000;
      if (recording) {
        span.setAttribute('dynamodb_session.attempts', own.attempts);
        if (own.capacity > 0) span.setAttribute('dynamodb_session.consumed_capacity', own.capacity);
        if (name === 'session.lock') span.setAttribute('dynamodb_session.lock_wait_ms', Math.round(seconds * 1000));
      }
      if (histogram && metrics) (metrics[histogram] as OtelApi.Histogram).record(seconds, metricAttributes);
      span.end();
    }
  });
}

/**
 * An administrative operation (purge, revoke, import, …) as a span named
 * `session.admin.<action>`: the same attributes as a request's spans, and
 * `describe` adds its counts (items deleted, sessions imported).
 */
export async function tracedAdmin<T>(
  store: TracedStore,
  action: string,
  operation: string,
  run: () => Promise<T>,
  describe?: (result: T) => Attributes | undefined,
): Promise<T> {
  // Tools (the CLI's purge) may run one before anything has made the store ready.
  await loadTelemetry();
  return traced(store, `session.admin.${action}`, operation, undefined, run, describe);
}

// A request's spans name one session several times (load, lock, save): its tag, a SHA-256, is computed once.
const tags = new Map<string, string>();
function tagOf(id: string): string {
  let tag = tags.get(id);
  if (tag === undefined) {
    if (tags.size >= 1000) tags.clear();
    tag = idTag(id);
    tags.set(id, tag);
  }
  return tag;
}

/** The code a span and a metric name an error by: the store's DSM_* code, else the SDK's error name. */
export function errorType(err: unknown): string {
  const e = err as { code?: unknown; name?: unknown } | null;
  if (e && typeof e.code === 'string') return e.code;
  if (e && typeof e.name === 'string') return e.name;
  return 'Error';
}

function spanFacts(otel: Api): SpanFacts | undefined {
  if (tracer === undefined) return undefined;
  const span = otel.trace.getActiveSpan();
  return span ? facts.get(span) : undefined;
}

/** One DynamoDB call answered (or failed) under the active span: its SDK attempts and the capacity it consumed. */
export function noteCall(table: string, operation: string, attempts: number, capacityUnits: number): void {
  if (api === undefined) return;
  for (let f = spanFacts(api); f; f = f.parent) {
    f.attempts += attempts;
    f.capacity += capacityUnits;
  }
  if (capacityUnits > 0 && instruments(api)) addCapacity(table, operation, capacityUnits);
}

/** A save merged with a newer write; `conflicts` paths needed onConflict. */
export function noteMerge(table: string, conflicts: number): void {
  if (api === undefined) return;
  for (let f = spanFacts(api); f; f = f.parent) f.conflicts += conflicts;
  const m = instruments(api);
  if (!m) return;
  m.merges.add(1, { 'db.collection.name': table });
  if (conflicts > 0) m.conflicts.add(conflicts, { 'db.collection.name': table });
}

export function noteLockTimeout(table: string): void {
  if (api !== undefined) instruments(api)?.lockTimeouts.add(1, { 'db.collection.name': table });
}

/** A pessimistic lease taken (+1) or given back (-1). */
export function noteLease(table: string, change: 1 | -1): void {
  if (api !== undefined) instruments(api)?.leases.add(change, { 'db.collection.name': table });
}

/** A call the store itself sends again (the SDK's own retries are counted by instrumentClient). */
export function noteRetry(errorCode: string): void {
  if (api !== undefined) instruments(api)?.retries.add(1, { 'error.type': errorCode });
}

// An adapter may classify one error more than once (its error hook, then its response): counted once.
const answered = new WeakSet<object>();

/** A request answered 503 because of `err`. */
export function noteUnavailable(err: unknown): void {
  if (api === undefined || typeof err !== 'object' || err === null || answered.has(err)) return;
  answered.add(err);
  instruments(api)?.unavailable.add(1, { 'error.type': errorType(err) });
}

const ATTEMPT_ERRORS = Symbol('dynamodb-session-manager attempt errors');
const instrumented = new WeakSet<object>();

/**
 * Counts the SDK's retries by the error of each retried attempt: one
 * middleware inside the retry loop notes every failed attempt, one outside it
 * counts them when the call ends (all of them after a success; all but the
 * last, which was not retried, after a failure). Added once per client,
 * before its first call (the client caches its middleware stack).
 */
export function instrumentClient(client: DynamoDBClient): void {
  if (api === undefined || instrumented.has(client)) return;
  instrumented.add(client);
  type Context = Record<symbol, string[] | undefined>;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      try {
        return await next(args);
      } catch (err) {
        ((context as unknown as Context)[ATTEMPT_ERRORS] ??= []).push(errorType(err));
        throw err;
      }
    },
    { step: 'deserialize', priority: 'high', name: 'dynamodbSessionAttemptErrors' },
  );
  client.middlewareStack.add(
    (next, context) => async (args) => {
      let failed = false;
      try {
        return await next(args);
      } catch (err) {
        failed = true;
        throw err;
      } finally {
        const errors = (context as unknown as Context)[ATTEMPT_ERRORS];
        if (errors) for (const code of failed ? errors.slice(0, -1) : errors) noteRetry(code);
      }
    },
    { step: 'initialize', priority: 'low', name: 'dynamodbSessionRetries' },
  );
}

/** A load's attributes: whether a session was found, its stored chunks. */
export function describeLoad(loaded: { handle: { chunks?: number | undefined; json: string } } | null): Attributes {
  if (!loaded) return { 'dynamodb_session.outcome': 'missing' };
  return {
    'dynamodb_session.outcome': 'found',
    'dynamodb_session.chunks': loaded.handle.chunks ?? 0,
    'dynamodb_session.session_bytes': loaded.handle.json.length,
  };
}

/** A save's or touch's attributes, in the outcome vocabulary of docs/telemetry.md. */
export function describeCommit(outcome: string): Attributes {
  return { 'dynamodb_session.outcome': OUTCOMES[outcome] ?? outcome };
}

/** The item a save writes: its encoded size (a histogram, and the active span's attributes) and its chunk items. */
export function noteItem(table: string, bytes: number, chunks: number): void {
  if (api === undefined) return;
  instruments(api)?.sessionSize.record(bytes, { 'db.collection.name': table });
  if (tracer === undefined) return;
  const span = api.trace.getActiveSpan();
  if (span && facts.has(span)) span.setAttributes({ 'dynamodb_session.item_bytes': bytes, 'dynamodb_session.chunks': chunks });
}
