/**
 * Spans through the OpenTelemetry API (telemetry-metrics.ts loads it, and
 * keeps the metrics). Installed without a registered tracer or meter provider
 * (its SDK), a hook is a look at the API's stand-in provider and nothing more:
 * no span, no context switch, no attribute object (the no-op span alone took
 * a tenth of a cold read's CPU, docs/benchmarks.md).
 *
 * A span's facts (DynamoDB attempts, capacity, bytes) are gathered from the
 * calls made under it, found through the active context, so the layers below
 * the façade need no span passed to them.
 */
import type * as OtelApi from '@opentelemetry/api';
import { idTag } from './session-id.js';
import {
  addCapacity,
  errorType,
  instruments,
  loadTelemetry,
  otelApi,
  SCOPE,
  tableAttributes,
  type Api,
  type Attributes,
  type Instruments,
} from './telemetry-metrics.js';

/** The registered provider's tracer, once one is found; until then every span is skipped. */
let tracer: OtelApi.Tracer | undefined;

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

/** Whether no hook can record anything: the API is not installed (or not loaded yet). The façade then calls straight through. */
export function telemetryOff(): boolean {
  return otelApi() === undefined;
}

/** What a span learns while it runs, written as attributes when it ends. */
interface SpanFacts {
  parent: SpanFacts | undefined;
  attempts: number;
  capacity: number;
  conflicts: number;
}

/** Where a recording span of the store's holds its facts: a property of the span (a WeakMap entry cost more than the rest of the hook). */
const FACTS = Symbol('dynamodb-session-manager span facts');
type WithFacts = OtelApi.Span & { [FACTS]?: SpanFacts };

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

type Describe<T> = ((result: T) => Attributes | undefined) | undefined;

/**
 * Runs `run` inside a span `name` (an internal span: the AWS SDK's client
 * spans, when instrumented, nest under it), and records its duration
 * histogram when it has one. `describe` turns the result into attributes
 * (outcome, bytes, chunks), called only when something records.
 */
export function traced<T>(store: TracedStore, name: string, operation: string, session: SessionRef, run: () => Promise<T>, describe?: Describe<T>): Promise<T> {
  const api = otelApi();
  if (api === undefined) return run();
  const histogram = DURATIONS[name];
  const spans = activeTracer(api);
  const metrics = histogram !== undefined ? instruments(api) : undefined;
  const recorder = metrics !== undefined ? (metrics[histogram!] as OtelApi.Histogram) : undefined;
  if (spans !== undefined) return tracedWith(api, spans, recorder, store, name, operation, session, run, describe);
  if (recorder !== undefined) return measured(recorder, store.config.table, run, describe);
  return run();
}

/** The metric attributes of a phase that ended with `outcome` (or failed with `err`): the table's, and the outcome or error type. */
function outcomeAttributes(table: string, outcome: string | number | boolean | undefined): Attributes {
  return outcome === undefined ? tableAttributes(table) : tableAttributes(table, 'dynamodb_session.outcome', String(outcome));
}

/** A phase with a duration histogram and no tracer provider: timed and recorded, no span. */
async function measured<T>(histogram: OtelApi.Histogram, table: string, run: () => Promise<T>, describe: Describe<T>): Promise<T> {
  const started = performance.now();
  let result: T;
  try {
    result = await run();
  } catch (err) {
    histogram.record((performance.now() - started) / 1000, tableAttributes(table, 'error.type', errorType(err)));
    throw err;
  }
  histogram.record((performance.now() - started) / 1000, outcomeAttributes(table, describe?.(result)?.['dynamodb_session.outcome']));
  return result;
}

function tracedWith<T>(
  otel: Api,
  tracer: OtelApi.Tracer,
  histogram: OtelApi.Histogram | undefined,
  store: TracedStore,
  name: string,
  operation: string,
  session: SessionRef,
  run: () => Promise<T>,
  describe: Describe<T>,
): Promise<T> {
  const started = performance.now();
  const table = store.config.table;
  const outer = otel.trace.getActiveSpan() as WithFacts | undefined;
  const attributes: Attributes = {
    'db.system.name': 'aws.dynamodb',
    'db.collection.name': table,
    'db.operation.name': operation,
    'dynamodb_session.locking': store.config.locking,
  };
  if (session) attributes['dynamodb_session.session'] = 'tag' in session ? session.tag : tagOf(session.id);
  return tracer.startActiveSpan(name, { kind: otel.SpanKind.INTERNAL, attributes }, (span: WithFacts) => {
    const recording = span.isRecording();
    let own: SpanFacts | undefined;
    if (recording) {
      own = { parent: outer?.[FACTS], attempts: 0, capacity: 0, conflicts: 0 };
      // Reflect.set: a span that takes no property (none of the SDK's) gathers no facts rather than failing the call.
      Reflect.set(span, FACTS, own);
    }
    return inSpan(otel, span, own, histogram, table, name, started, run, describe);
  });
}

/** The body of a span: runs `run`, then writes what it learnt (attributes, status, the duration histogram) and ends the span. */
async function inSpan<T>(
  otel: Api,
  span: OtelApi.Span,
  own: SpanFacts | undefined,
  histogram: OtelApi.Histogram | undefined,
  table: string,
  name: string,
  started: number,
  run: () => Promise<T>,
  describe: Describe<T>,
): Promise<T> {
  let result: T;
  try {
    result = await run();
  } catch (err) {
    const code = errorType(err);
    if (own) {
      span.setAttribute('error.type', code);
      span.recordException(err as Error);
      span.setStatus({ code: otel.SpanStatusCode.ERROR, message: `${code}: ${(err as Error)?.message ?? String(err)}`.slice(0, 300) });
    }
    endSpan(span, own, histogram, name, started, tableAttributes(table, 'error.type', code));
    throw err;
  }
  let outcome: string | number | boolean | undefined;
  const described = describe && (own || histogram) ? describe(result) : undefined;
  if (described) {
    if (own && own.conflicts > 0 && described['dynamodb_session.outcome'] === 'merged') described['dynamodb_session.outcome'] = 'conflict';
    if (own) span.setAttributes(described);
    outcome = described['dynamodb_session.outcome'];
  }
  endSpan(span, own, histogram, name, started, histogram ? outcomeAttributes(table, outcome) : undefined);
  return result;
}

function endSpan(
  span: OtelApi.Span,
  own: SpanFacts | undefined,
  histogram: OtelApi.Histogram | undefined,
  name: string,
  started: number,
  metricAttributes: Attributes | undefined,
): void {
  const seconds = (performance.now() - started) / 1000;
  if (own) {
    span.setAttribute('dynamodb_session.attempts', own.attempts);
    if (own.capacity > 0) span.setAttribute('dynamodb_session.consumed_capacity', own.capacity);
    if (name === 'session.lock') span.setAttribute('dynamodb_session.lock_wait_ms', Math.round(seconds * 1000));
  }
  if (histogram && metricAttributes) histogram.record(seconds, metricAttributes);
  span.end();
}

/**
 * An administrative operation (purge, revoke, import, …) as a span named
 * `session.admin.<action>`: the same attributes as a request's spans, and
 * `describe` adds its counts (items deleted, sessions imported).
 */
export async function tracedAdmin<T>(store: TracedStore, action: string, operation: string, run: () => Promise<T>, describe?: Describe<T>): Promise<T> {
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

function spanFacts(otel: Api): SpanFacts | undefined {
  if (tracer === undefined) return undefined;
  return (otel.trace.getActiveSpan() as WithFacts | undefined)?.[FACTS];
}

/** One DynamoDB call answered (or failed) under the active span: its SDK attempts and the capacity it consumed. */
export function noteCall(table: string, operation: string, attempts: number, capacityUnits: number): void {
  const api = otelApi();
  if (api === undefined) return;
  for (let f = spanFacts(api); f; f = f.parent) {
    f.attempts += attempts;
    f.capacity += capacityUnits;
  }
  if (capacityUnits > 0 && instruments(api)) addCapacity(table, operation, capacityUnits);
}

/** A save merged with a newer write; `conflicts` paths needed onConflict. */
export function noteMerge(table: string, conflicts: number): void {
  const api = otelApi();
  if (api === undefined) return;
  for (let f = spanFacts(api); f; f = f.parent) f.conflicts += conflicts;
  const m = instruments(api);
  if (!m) return;
  m.merges.add(1, tableAttributes(table));
  if (conflicts > 0) m.conflicts.add(conflicts, tableAttributes(table));
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
  const api = otelApi();
  if (api === undefined) return;
  instruments(api)?.sessionSize.record(bytes, tableAttributes(table));
  if (tracer === undefined) return;
  const span = api.trace.getActiveSpan() as WithFacts | undefined;
  if (span?.[FACTS]) span.setAttributes({ 'dynamodb_session.item_bytes': bytes, 'dynamodb_session.chunks': chunks });
}
