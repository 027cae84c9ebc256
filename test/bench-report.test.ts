/**
 * The benchmark's bookkeeping outside the proxy: CPU read from /proc for
 * another process, and rounds combined into one row without losing counts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { processCpuMs } from '../bench/process-cpu.js';
import { appCpuPerRequest, combineRounds, dynamoCpuPerRequest, httpRequests, type RunResult } from '../bench/report.js';
import { STORES } from '../bench/stores.js';
import { WORKLOADS } from '../bench/load.js';

test('processCpuMs counts the CPU another process spends, and tells when it cannot', { skip: process.platform !== 'linux' && 'reads /proc' }, async () => {
  // A child that spins until it has spent 600 ms of CPU (by its own count: on a loaded machine wall time is not CPU), then waits to be stopped.
  const spin = 'const from = process.cpuUsage(); const spent = () => { const u = process.cpuUsage(from); return (u.user + u.system) / 1000; }; while (spent() < 600); process.stdout.write("done"); setInterval(() => {}, 1000);';
  const child = spawn(process.execPath, ['-e', spin], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    await once(child.stdout!, 'data');
    const spent = processCpuMs(child.pid!);
    assert.ok(spent !== undefined && spent >= 300, `expected at least 300 ms of CPU, read ${spent}`);
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
  assert.equal(processCpuMs(2 ** 30), undefined);
});

const round = (requests: number, rate: number, appMs: number, dynamoMs?: number): RunResult => ({
  store: STORES.find((s) => s.name === 'ours-optimistic')!,
  workload: WORKLOADS.find((w) => w.name === 'write-heavy')!,
  load: { requests, non2xx: 0, errors: 0, timeouts: 0, requestsPerSecond: rate, p50: 10, p99: 20, durationSeconds: 5 },
  tally: { calls: requests * 2, rcu: requests, wcu: requests * 3, errors: 0, byOperation: { GetItem: { calls: requests, rcu: requests, wcu: 0, errors: 0 } } },
  completed: { read: 0, write: requests, incr: 0, failed: 0, aborted: 0 },
  cpu: { appMs, ...(dynamoMs === undefined ? {} : { dynamoMs }) },
});

test('combineRounds adds counts and CPU, and takes the median speed', () => {
  const combined = combineRounds([round(1000, 200, 2000, 900), round(3000, 600, 6000, 3000), round(2000, 400, 4100, 2100)]);
  assert.equal(httpRequests(combined), 6000);
  assert.equal(combined.tally.calls, 12000);
  assert.equal(combined.load.requestsPerSecond, 400);
  assert.deepEqual(combined.roundRates, [200, 600, 400]);
  assert.equal(appCpuPerRequest(combined), 12100 / 6000);
  assert.equal(dynamoCpuPerRequest(combined), 6000 / 6000);
  // One round without DynamoDB Local's figure: the sum would understate it, so there is none.
  assert.equal(dynamoCpuPerRequest(combineRounds([round(1000, 200, 2000, 900), round(1000, 200, 2000)])), undefined);
});
