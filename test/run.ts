/**
 * The test suite's entry point: starts Amazon DynamoDB Local on a free loopback
 * port, and dynalite (the second engine of the engine matrix) in this process,
 * runs every test file with node's test runner against them, and stops both,
 * DynamoDB Local by pid, whatever happened. `node --import tsx test/run.ts [files…]`.
 */
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { startDynamoDBLocal } from '../src/embedded/dynamodb-local.js';
import { startDynalite } from '../src/embedded/dynalite.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

function testFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    // frameworks/: the builds of real framework apps (Next.js), too slow for every run: `npm run test:frameworks`.
    if (statSync(path).isDirectory()) return name === 'e2e' || name === 'fixtures' || name === 'helpers' || name === 'frameworks' ? [] : testFiles(path);
    return name.endsWith('.test.ts') ? [relative(process.cwd(), path)] : [];
  });
}

/**
 * The slowest files (npm installs, whole-program runs, long property and fault runs) start first, so that
 * the last ones to finish are short: in name order one of them could start last and run alone.
 */
const SLOWEST = ['package', 'cli', 'fresh-clone', 'concurrency', 'retry-property', 'fault-matrix', 'memory', 'readme-snippets', 'conformance', 'large-sessions', 'demo', 'adapters'];
const rank = (file: string) => {
  const i = SLOWEST.findIndex((name) => file.endsWith(`/${name}.test.ts`) || file === `${name}.test.ts`);
  return i < 0 ? SLOWEST.length : i;
};
const files = process.argv.slice(2).length > 0 ? process.argv.slice(2) : testFiles('test').sort((a, b) => rank(a) - rank(b));

// A signal while DynamoDB Local starts would kill this process and leave the java process behind: it is held until the start is over.
let stopRequested: NodeJS.Signals | undefined;
const holdSignal = (signal: NodeJS.Signals) => {
  stopRequested = signal;
};
process.once('SIGINT', holdSignal);
process.once('SIGTERM', holdSignal);

let db;
let dynalite;
try {
  db = await startDynamoDBLocal();
  dynalite = await startDynalite();
} catch (err) {
  console.error(`test suite: ${(err as Error).message}`);
  await db?.stop();
  process.exit(1);
}
process.off('SIGINT', holdSignal);
process.off('SIGTERM', holdSignal);
if (stopRequested) {
  console.error(`test suite: ${stopRequested} while DynamoDB Local started: stopped it (pid ${db.pid})`);
  await Promise.all([db.stop(), dynalite.stop()]);
  process.exit(1);
}
console.log(`test suite: DynamoDB Local on ${db.endpoint} (pid ${db.pid}), dynalite on ${dynalite.endpoint}`);

// Should this process die before its last line (an exception thrown in it), the java process must not outlive it.
process.once('exit', () => {
  try {
    process.kill(db.pid, 'SIGKILL');
  } catch {
    // gone already
  }
});

// Three files at a time on two cores: much of a test's time is spent waiting (on DynamoDB Local, a lease, a
// lifetime), and a third file fills it. DSM_TEST_CONCURRENCY sets another number.
const CONCURRENCY = Number(process.env.DSM_TEST_CONCURRENCY ?? 3);
const child = spawn(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${CONCURRENCY}`, ...files], {
  stdio: 'inherit',
  env: { ...process.env, DSM_TEST_ENDPOINT: db.endpoint, DSM_TEST_DYNALITE_ENDPOINT: dynalite.endpoint },
});
const stopAll = (signal: NodeJS.Signals) => {
  child.kill(signal);
};
process.once('SIGINT', stopAll);
process.once('SIGTERM', stopAll);
const code: number = await new Promise((resolve) => child.once('exit', (c, s) => resolve(c ?? (s ? 1 : 0))));
await Promise.all([db.stop(), dynalite.stop()]);
process.exit(code);
