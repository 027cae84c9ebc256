/**
 * What OpenTelemetry costs the store in CPU per request: bench/store-cpu.ts's
 * requests (express adapter + SessionStore, DynamoDB answered in memory) in
 * processes of three kinds, in alternating turns (the order rotates, so a
 * machine's drift falls on each alike):
 * - base: the code before telemetry (a commit given by --base, checked out to a temporary folder);
 * - absent: this code, with @opentelemetry/api not to be found (bench/without-otel.mjs);
 * - context: this code, the API found and an AsyncLocalStorage context manager registered, no provider;
 * - tracing: this code, the API found and the SDK registered (bench/with-otel.ts).
 * Prints each turn's µs and the median of the per-turn ratios absent/base, tracing/absent and tracing/context.
 *
 * `node --import tsx bench/telemetry-cost.ts [--turns 3] [--base <commit>]`
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

type Cpu = { readUs: number; writeUs: number; readHeavyColdUs: number; readHeavyWarmUs: number };
const FIGURES = ['readUs', 'writeUs', 'readHeavyColdUs', 'readHeavyWarmUs'] as const;

if (process.argv.includes('--turn')) {
  const root = process.argv[process.argv.indexOf('--turn') + 1]!;
  const { measureStoreCpu } = (await import(pathToFileURL(join(root, 'bench/store-cpu.ts')).href)) as { measureStoreCpu: () => Promise<Cpu> };
  process.stdout.write(`${JSON.stringify(await measureStoreCpu())}\n`);
} else {
  const arg = (name: string, fallback: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1]! : fallback);
  const turns = Number(arg('--turns', '3'));
  const here = resolve('.');
  const baseDir = mkdtempSync(join(tmpdir(), 'dsm-telemetry-base-'));
  try {
    execFileSync('sh', ['-c', `git archive ${arg('--base', 'HEAD')} | tar -x -C ${baseDir}`]);
    symlinkSync(join(here, 'node_modules'), join(baseDir, 'node_modules'));
    const kinds = {
      base: [`--import`, 'tsx', join(here, 'bench/telemetry-cost.ts'), '--turn', baseDir],
      absent: ['--import', 'tsx', '--import', './bench/without-otel.mjs', 'bench/telemetry-cost.ts', '--turn', here],
      context: ['--import', 'tsx', '--import', './bench/with-otel.ts', 'bench/telemetry-cost.ts', '--turn', here],
      tracing: ['--import', 'tsx', '--import', './bench/with-otel.ts', 'bench/telemetry-cost.ts', '--turn', here],
    };
    const names = Object.keys(kinds) as Array<keyof typeof kinds>;
    const results: Record<keyof typeof kinds, Cpu[]> = { base: [], absent: [], context: [], tracing: [] };
    for (let t = 0; t < turns; t++) {
      for (let k = 0; k < names.length; k++) {
        const name = names[(t + k) % names.length]!;
        const env = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', OTEL_BENCH: name };
        const out = execFileSync(process.execPath, kinds[name], { env, maxBuffer: 1 << 20 }).toString();
        const cpu = JSON.parse(out.trim().split('\n').pop()!) as Cpu;
        results[name].push(cpu);
        console.log(`turn ${t + 1} ${name}: ${FIGURES.map((f) => `${f} ${cpu[f].toFixed(1)}`).join(', ')}`);
      }
    }
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const ratio = (a: keyof typeof kinds, b: keyof typeof kinds, f: (typeof FIGURES)[number]) => median(results[a].map((r, i) => r[f] / results[b][i]![f]));
    for (const f of FIGURES) {
      const us = names.map((k) => `${k} ${median(results[k].map((r) => r[f])).toFixed(1)}`).join(', ');
      console.log(`${f}: absent/base ${ratio('absent', 'base', f).toFixed(3)}×, tracing/absent ${ratio('tracing', 'absent', f).toFixed(3)}×, tracing/context ${ratio('tracing', 'context', f).toFixed(3)}× (median µs: ${us})`);
    }
  } finally {
    rmSync(baseDir, { recursive: true, force: true });
  }
}
