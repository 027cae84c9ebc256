/**
 * `node --import tsx --import ./bench/with-otel.ts …`: the process traced and
 * measured as an application with the OpenTelemetry SDK would be: every span
 * sampled and batched to an exporter, metrics aggregated by a reader. The
 * exporters drop what they get: sending it is the exporter's cost, not the store's.
 */
import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { AggregationTemporality, MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';

const spans: SpanExporter = { export: (_: ReadableSpan[], done) => done({ code: 0 }), shutdown: async () => undefined };
const points: PushMetricExporter = {
  export: (_, done) => done({ code: 0 }),
  forceFlush: async () => undefined,
  shutdown: async () => undefined,
  selectAggregationTemporality: () => AggregationTemporality.CUMULATIVE,
};
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
// OTEL_BENCH=context: the context manager alone (AsyncLocalStorage, which every traced Node.js app runs), no provider.
if (process.env.OTEL_BENCH !== 'context') {
trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(spans)] }));
metrics.setGlobalMeterProvider(new MeterProvider({ readers: [new PeriodicExportingMetricReader({ exporter: points, exportIntervalMillis: 10_000 })] }));
}
