/**
 * Store counters of the whole cluster. Each worker counts only its own
 * DynamoDB calls, so the admin panel asks the primary, which asks every
 * worker over the cluster's IPC channel and hands back all answers.
 */
import cluster, { type Worker } from 'node:cluster';
import { emptyStats, type StoreStats } from '../src/core/stats.js';
import type { MetricSummary } from './otel-metrics.js';

export interface WorkerStats {
  pid: number;
  stats: StoreStats;
  /** What the worker's OpenTelemetry metric reader holds (demo/otel-metrics.ts). */
  metrics: MetricSummary[];
}

type Message =
  | { type: 'dsm-demo:collect'; id: number }
  | { type: 'dsm-demo:report'; id: string }
  | { type: 'dsm-demo:stats'; id: string; pid: number; stats: StoreStats; metrics: MetricSummary[] }
  | { type: 'dsm-demo:collected'; id: number; workers: WorkerStats[] };

const isMessage = (m: unknown): m is Message => typeof m === 'object' && m !== null && String((m as { type?: unknown }).type).startsWith('dsm-demo:');

/** A worker that stops answering (it is exiting) must not hold the panel up. */
const COLLECT_TIMEOUT_MS = 1500;

/** Primary side: relays collection requests to every live worker. */
export function serveClusterStats(): void {
  const gathering = new Map<string, { workers: WorkerStats[]; expected: number; done: () => void }>();
  cluster.on('message', (worker: Worker, msg: unknown) => {
    if (!isMessage(msg)) return;
    if (msg.type === 'dsm-demo:collect') {
      const live = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && w.isConnected());
      const id = `${worker.id}:${msg.id}`;
      const entry = { workers: [] as WorkerStats[], expected: live.length, done: () => undefined as void };
      const timer = setTimeout(() => entry.done(), COLLECT_TIMEOUT_MS);
      entry.done = () => {
        clearTimeout(timer);
        gathering.delete(id);
        if (worker.isConnected()) worker.send({ type: 'dsm-demo:collected', id: msg.id, workers: entry.workers.sort((a, b) => a.pid - b.pid) } satisfies Message);
      };
      gathering.set(id, entry);
      for (const w of live) w.send({ type: 'dsm-demo:report', id } satisfies Message);
    } else if (msg.type === 'dsm-demo:stats') {
      const entry = gathering.get(msg.id);
      if (!entry) return;
      entry.workers.push({ pid: msg.pid, stats: msg.stats, metrics: msg.metrics });
      if (entry.workers.length >= entry.expected) entry.done();
    }
  });
}

/** Worker side: answers the primary's requests with this process's counters. */
export function answerStatsRequests(local: () => StoreStats, metrics: () => Promise<MetricSummary[]>): void {
  process.on('message', (msg: unknown) => {
    if (isMessage(msg) && msg.type === 'dsm-demo:report') {
      const stats = local();
      void metrics()
        .catch(() => [])
        .then((m) => process.send?.({ type: 'dsm-demo:stats', id: msg.id, pid: process.pid, stats, metrics: m } satisfies Message));
    }
  });
}

let nextId = 0;

/** Worker side: every worker's counters, or this worker's alone when there is no primary to ask. */
export async function clusterStats(local: () => StoreStats, metrics: () => Promise<MetricSummary[]>): Promise<WorkerStats[]> {
  if (!process.send) return [{ pid: process.pid, stats: local(), metrics: await metrics() }];
  const alone = await metrics();
  const id = ++nextId;
  return new Promise((resolve) => {
    const onMessage = (msg: unknown) => {
      if (isMessage(msg) && msg.type === 'dsm-demo:collected' && msg.id === id) finish(msg.workers);
    };
    const timer = setTimeout(() => finish([{ pid: process.pid, stats: local(), metrics: alone }]), COLLECT_TIMEOUT_MS * 2);
    const finish = (workers: WorkerStats[]) => {
      clearTimeout(timer);
      process.off('message', onMessage);
      resolve(workers);
    };
    process.on('message', onMessage);
    process.send!({ type: 'dsm-demo:collect', id } satisfies Message);
  });
}

/** Adds counters up: several stores of one worker, or all workers. */
export function sumStats(all: StoreStats[]): StoreStats {
  const total = emptyStats();
  for (const s of all) {
    for (const [op, n] of Object.entries(s.calls)) total.calls[op] = (total.calls[op] ?? 0) + n;
    for (const key of Object.keys(s) as Array<keyof StoreStats>) {
      if (key !== 'calls') (total[key] as number) += s[key] as number;
    }
  }
  return total;
}
