/** Turns measured runs into markdown tables and writes them between markers in docs/benchmarks.md. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { CapacityTally } from './counting-proxy.js';
import type { Floor } from './floor.js';
import type { LoadResult, Workload } from './load.js';
import type { StoreSpec } from './stores.js';

export interface RunResult {
  store: StoreSpec;
  workload: Workload;
  load: LoadResult;
  tally: CapacityTally;
  /** HTTP requests the app completed, by route, during the measured run. */
  completed: { read: number; write: number; incr: number; failed: number; aborted: number };
  floor?: Floor;
  burst?: { expected: number; stored: number };
  /** Requests per second of each round, in round order, when several were combined. */
  roundRates?: number[];
  /**
   * CPU ms spent during the measured run (rounds added up) by the app's process and, where /proc
   * tells (Linux), by DynamoDB Local's JVM: what one request costs each, beside a throughput that
   * the machine's other tenants move.
   */
  cpu: { appMs: number; dynamoMs?: number };
}

export const httpRequests = (r: RunResult): number => r.completed.read + r.completed.write + r.completed.incr + r.completed.failed + r.completed.aborted;
export const per1000 = (r: RunResult, v: number): number => (v * 1000) / Math.max(httpRequests(r), 1);
export const unitsPer1000 = (r: RunResult): number => per1000(r, r.tally.rcu + r.tally.wcu);
export const callsPerRequest = (r: RunResult): number => r.tally.calls / Math.max(httpRequests(r), 1);
/** The app's CPU ms per HTTP request of the measured run. */
export const appCpuPerRequest = (r: RunResult): number => r.cpu.appMs / Math.max(httpRequests(r), 1);
/** DynamoDB Local's CPU ms per HTTP request of the measured run, when known. */
export const dynamoCpuPerRequest = (r: RunResult): number | undefined => (r.cpu.dynamoMs === undefined ? undefined : r.cpu.dynamoMs / Math.max(httpRequests(r), 1));
export const lostUpdates = (r: RunResult): number | undefined => (r.burst ? r.burst.expected - r.burst.stored : undefined);

const n = (v: number, digits = 1): string => v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

function callsByOperation(r: RunResult): string {
  const total = Math.max(httpRequests(r), 1);
  const ops = Object.entries(r.tally.byOperation).sort((a, b) => b[1].calls - a[1].calls);
  if (ops.length === 0) return '0';
  return `${n(r.tally.calls / total, 2)} (${ops.map(([op, t]) => `${op} ${n(t.calls / total, 2)}`).join(', ')})`;
}

function vsFloor(r: RunResult): string {
  if (!r.floor || !r.store.dynamo || r.burst) return '–';
  const diff = ((unitsPer1000(r) - r.floor.unitsPer1000) / r.floor.unitsPer1000) * 100;
  return `${diff >= 0 ? '+' : ''}${n(diff, 0)} %`;
}

function cpuCell(r: RunResult): string {
  const dynamo = dynamoCpuPerRequest(r);
  return `${n(appCpuPerRequest(r), 2)} · ${r.store.dynamo && dynamo !== undefined ? n(dynamo, 2) : '–'}`;
}

export function workloadTable(workload: Workload, runs: RunResult[]): string {
  const rows = runs.filter((r) => r.workload.name === workload.name);
  if (rows.length === 0) return '';
  const burst = Boolean(workload.burst);
  const lines = [
    `### ${workload.name}: ${workload.description}`,
    '',
    `| store | req/s | p50 ms | p99 ms | CPU ms per request: app · DynamoDB Local | DynamoDB calls per request | RCU / 1k req | WCU / 1k req | units / 1k req | vs floor | ${burst ? 'updates lost' : 'failed'} |`,
    '|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const lost = lostUpdates(r);
    const last = burst ? `${lost ?? '–'} of ${r.burst?.expected ?? '–'}` : String(r.completed.failed + r.load.timeouts);
    lines.push(
      `| ${r.store.label} | ${n(r.load.requestsPerSecond, 0)}${r.roundRates ? ` (${r.roundRates.map((v) => n(v, 0)).join(' · ')})` : ''} | ${n(r.load.p50, 0)} | ${n(r.load.p99, 0)} | ${cpuCell(r)} | ${callsByOperation(r)} | ${n(per1000(r, r.tally.rcu))} | ${n(per1000(r, r.tally.wcu))} | ${n(unitsPer1000(r))} | ${vsFloor(r)} | ${last} |`,
    );
  }
  const floor = rows.find((r) => r.floor)?.floor;
  if (floor && !burst) {
    lines.push('', `Floor (one strongly consistent read per request + one write per change, billed on our stored item): ${n(floor.readsPer1000)} RCU + ${n(floor.writesPer1000)} WCU = **${n(floor.unitsPer1000)} units per 1,000 requests**.`);
  }
  return lines.join('\n');
}

/** Replaces what lies between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->`; appends the section when missing. */
export function writeSection(file: string, name: string, content: string): void {
  const start = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const block = `${start}\n${content.trim()}\n${end}`;
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  const next = a >= 0 && b > a ? text.slice(0, a) + block + text.slice(b + end.length) : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(file, next);
}

/** The middle value, or the mean of the two middle ones. */
export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/**
 * One result from several rounds of the same store and workload: counts and
 * capacity add up (they are exact), speed is the median round (it is noise-prone).
 */
export function combineRounds(rounds: RunResult[]): RunResult {
  const first = rounds[0]!;
  if (rounds.length === 1) return first;
  const tally: CapacityTally = { calls: 0, rcu: 0, wcu: 0, errors: 0, byOperation: {} };
  const completed = { read: 0, write: 0, incr: 0, failed: 0, aborted: 0 };
  const cpu: RunResult['cpu'] = { appMs: 0, ...(rounds.every((r) => r.cpu.dynamoMs !== undefined) ? { dynamoMs: 0 } : {}) };
  let burst: RunResult['burst'];
  for (const r of rounds) {
    tally.calls += r.tally.calls;
    tally.rcu += r.tally.rcu;
    tally.wcu += r.tally.wcu;
    tally.errors += r.tally.errors;
    for (const [op, t] of Object.entries(r.tally.byOperation)) {
      const into = (tally.byOperation[op] ??= { calls: 0, rcu: 0, wcu: 0, errors: 0 });
      into.calls += t.calls;
      into.rcu += t.rcu;
      into.wcu += t.wcu;
      into.errors += t.errors;
    }
    for (const k of Object.keys(completed) as Array<keyof typeof completed>) completed[k] += r.completed[k];
    cpu.appMs += r.cpu.appMs;
    if (cpu.dynamoMs !== undefined) cpu.dynamoMs += r.cpu.dynamoMs!;
    if (r.burst) burst = { expected: (burst?.expected ?? 0) + r.burst.expected, stored: (burst?.stored ?? 0) + r.burst.stored };
  }
  const loads = rounds.map((r) => r.load);
  const load: LoadResult = {
    requests: loads.reduce((s, l) => s + l.requests, 0),
    non2xx: loads.reduce((s, l) => s + l.non2xx, 0),
    errors: loads.reduce((s, l) => s + l.errors, 0),
    timeouts: loads.reduce((s, l) => s + l.timeouts, 0),
    requestsPerSecond: median(loads.map((l) => l.requestsPerSecond)),
    p50: median(loads.map((l) => l.p50)),
    p99: median(loads.map((l) => l.p99)),
    durationSeconds: loads.reduce((s, l) => s + l.durationSeconds, 0),
  };
  return { store: first.store, workload: first.workload, load, tally, completed, cpu, ...(burst ? { burst } : {}), roundRates: loads.map((l) => l.requestsPerSecond) };
}
