/**
 * The OpenTelemetry API, an optional peer, and the store's metrics through it.
 * The API is imported once, by the first store's ready(); when it is not
 * installed every hook is one check of an undefined variable, and nothing
 * else is loaded. Spans are telemetry.ts's.
 *
 * The meter is asked for at the first measurement: the API has no stand-in
 * meter provider (as it has for tracers), so a MeterProvider registered after
 * that is not seen; register it first.
 */
import type * as OtelApi from '@opentelemetry/api';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

export type Api = typeof OtelApi;
export type Attributes = Record<string, string | number | boolean>;

/** The scope name of every span and instrument, and the prefix of the store's own attributes and metrics. */
export const SCOPE = 'dynamodb-session-manager';
export const PREFIX = 'dynamodb_session';
// The hooks spell attribute names out in full: a literal key costs nothing, a `${PREFIX}.…` one a string built and looked up per call.

let api: Api | undefined;
let loading: Promise<void> | undefined;

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

/** The API, once found; undefined while telemetry is off (not installed, or not loaded yet). */
export function otelApi(): Api | undefined {
  return api;
}

/** Whether the API was found (tests and the packed-package check). */
export function telemetryLoaded(): boolean {
  return api !== undefined;
}

export interface Instruments {
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

// OpenTelemetry's conventions: durations in seconds, sizes in By, counts in {thing}.
export function instruments(otel: Api): Instruments | undefined {
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
 * The attribute set `{ [name]: value }` beside the table's, made once and then
 * handed to the SDK on every measurement: the SDK keeps what it is given as
 * the key of its series, so these objects are never changed.
 */
const attributeSets = new Map<string, Map<string, Map<string | undefined, Attributes>>>();
export function tableAttributes(table: string, name = '', value?: string): Attributes {
  let byName = attributeSets.get(table);
  if (byName === undefined) attributeSets.set(table, (byName = new Map()));
  let byValue = byName.get(name);
  if (byValue === undefined) byName.set(name, (byValue = new Map()));
  let attributes = byValue.get(value);
  if (attributes === undefined) {
    attributes = { 'db.collection.name': table };
    if (value !== undefined) attributes[name] = value;
    // A value from an error or an outcome: few kinds, but a bound keeps a stream of odd ones from growing this.
    if (byValue.size < 100) byValue.set(value, attributes);
  }
  return attributes;
}

/**
 * Capacity units by table and operation, summed here and read by the metric
 * reader when it collects (an asynchronous counter): every DynamoDB call
 * reports some, and a synchronous counter's add hashes its attributes on each.
 */
const consumed = new Map<Attributes, number>();
/** The attribute set of each table and operation, made once. */
const capacityKeys = new Map<string, Map<string, Attributes>>();
export function addCapacity(table: string, operation: string, units: number): void {
  let byOperation = capacityKeys.get(table);
  if (byOperation === undefined) capacityKeys.set(table, (byOperation = new Map()));
  let attributes = byOperation.get(operation);
  if (attributes === undefined) byOperation.set(operation, (attributes = { 'db.collection.name': table, 'db.operation.name': operation }));
  consumed.set(attributes, (consumed.get(attributes) ?? 0) + units);
}

/** The code a span and a metric name an error by: the store's DSM_* code, else the SDK's error name. */
export function errorType(err: unknown): string {
  const e = err as { code?: unknown; name?: unknown } | null;
  if (e && typeof e.code === 'string') return e.code;
  if (e && typeof e.name === 'string') return e.name;
  return 'Error';
}

export function noteLockTimeout(table: string): void {
  if (api !== undefined) instruments(api)?.lockTimeouts.add(1, tableAttributes(table));
}

/** A pessimistic lease taken (+1) or given back (-1). */
export function noteLease(table: string, change: 1 | -1): void {
  if (api !== undefined) instruments(api)?.leases.add(change, tableAttributes(table));
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
