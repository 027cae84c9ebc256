/**
 * The store's OpenTelemetry metrics as the admin panel shows them: a meter
 * provider registered before any store is made, read by an in-process metric
 * reader when the panel asks (docs/telemetry.md lists every metric). Each
 * metric is summed over its attribute sets: a counter's total, a histogram's
 * count and sum.
 */
import { metrics } from '@opentelemetry/api';
import { AggregationTemporality, DataPointType, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';

export interface MetricSummary {
  name: string;
  unit: string;
  /** A counter's total; a histogram's number of measurements. */
  value: number;
  /** A histogram's sum of measurements. */
  sum?: number;
}

class PanelReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

let reader: PanelReader | undefined;

/** Registers the process's meter provider and its reader: call it before the first store is made. */
export function startMetricReader(): void {
  reader ??= new PanelReader();
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
}

export async function readMetrics(): Promise<MetricSummary[]> {
  if (!reader) return [];
  const { resourceMetrics } = await reader.collect();
  const out: MetricSummary[] = [];
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const m of scope.metrics) {
      const line: MetricSummary = { name: m.descriptor.name, unit: m.descriptor.unit, value: 0 };
      for (const point of m.dataPoints) {
        if (m.dataPointType === DataPointType.HISTOGRAM) {
          const h = point.value as { count: number; sum?: number };
          line.value += h.count;
          line.sum = (line.sum ?? 0) + (h.sum ?? 0);
        } else line.value += point.value as number;
      }
      out.push(line);
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** Adds up the workers' summaries, metric by metric. */
export function sumMetrics(all: MetricSummary[][]): MetricSummary[] {
  const total = new Map<string, MetricSummary>();
  for (const list of all) {
    for (const m of list) {
      const t = total.get(m.name) ?? { name: m.name, unit: m.unit, value: 0, ...(m.sum !== undefined ? { sum: 0 } : {}) };
      t.value += m.value;
      if (m.sum !== undefined) t.sum = (t.sum ?? 0) + m.sum;
      total.set(m.name, t);
    }
  }
  return [...total.values()].sort((a, b) => a.name.localeCompare(b.name));
}
