/**
 * `npm start`: one session shared by a cluster of three Node.js processes,
 * on a DynamoDB this process starts (DynamoDB Local, or dynalite without
 * Java) unless AWS_ENDPOINT_URL_DYNAMODB or AWS configuration says otherwise.
 *
 * Env: PORT (default 3000; 0 picks a free one), AWS_ENDPOINT_URL_DYNAMODB, DEMO_TABLE,
 * DEMO_WORKERS (default 3). Ctrl-C (SIGINT) or SIGTERM stops every process it started.
 */
import './quiet-sdk.js';
import cluster, { type Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { freePort } from '../src/embedded/dynamodb-local.js';
import { SessionStore } from '../src/store/session-store.js';
import type { Logger } from '../src/logger.js';
import { startBackend, type Backend } from './backend.js';
import { storeOptions, targetToEnv } from './target.js';
import { serveClusterStats } from './cluster-stats.js';
import { CANNOT_LISTEN, EXIT_PORT_DENIED, EXIT_PORT_IN_USE } from './exit-codes.js';

const say = (line: string) => console.log(`demo: ${line}`);
const WORKERS = Math.max(1, Number(process.env.DEMO_WORKERS ?? 3));
const MAX_RESTARTS = 5;

let backend: Backend | undefined;
let stopping = false;
let restarts = 0;

async function stopAll(code: number): Promise<never> {
  stopping = true;
  const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && !w.isDead());
  await Promise.all(workers.map(stopWorker));
  if (backend) {
    await backend.stop().catch((err: Error) => console.error(`demo: could not stop the database: ${err.message}`));
    if (backend.javaPid !== undefined) say(`stopped DynamoDB Local (java pid ${backend.javaPid})`);
  }
  say('stopped');
  process.exit(code);
}

function stopWorker(worker: Worker): Promise<void> {
  return new Promise((resolve) => {
    if (worker.isDead()) return resolve();
    const timer = setTimeout(() => worker.process.kill('SIGKILL'), 5000);
    worker.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    worker.process.kill('SIGTERM');
  });
}

let signalled = false;
const onSignal = (signal: NodeJS.Signals) => {
  if (signalled) return;
  signalled = true;
  say(`${signal}: stopping the workers and the database`);
  void stopAll(0);
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

/**
 * The table check's warning that the engine has no TTL repeats the fallback
 * notice, and its errors are thrown and printed once below: drop both.
 */
function tableLogger(noTtl: boolean): Logger {
  const drop = (msg: unknown) => noTtl && typeof msg === 'string' && msg.includes('TTL');
  return {
    debug() {},
    info() {},
    warn: (obj: object | string, msg?: string) => {
      if (!drop(msg)) console.warn(`demo: ${msg ?? ''} ${JSON.stringify(obj)}`);
    },
    error() {},
  };
}

try {
  const requested = process.env.PORT ?? '3000';
  if (!/^\d+$/.test(requested) || Number(requested) > 65535) {
    console.error(`demo: PORT must be a TCP port number, 0 for any free one (got ${JSON.stringify(requested)})`);
    process.exit(1);
  }
  const port = Number(requested) === 0 ? await freePort() : Number(requested);

  backend = await startBackend();
  if (backend.notice) say(backend.notice);
  say(backend.description);

  // Once, here: three workers checking a missing table at once would all try to create it.
  const tableStore = new SessionStore({ ...storeOptions(backend.target), logger: tableLogger(backend.noTtl) });
  const made = await tableStore.ready();
  await tableStore.close();
  if (made?.created) say(`created table ${backend.target.table}`);

  cluster.schedulingPolicy = cluster.SCHED_RR;
  cluster.setupPrimary({ exec: fileURLToPath(new URL('./worker.ts', import.meta.url)) });
  serveClusterStats();

  const env = {
    ...targetToEnv(backend.target),
    DEMO_PORT: String(port),
    DEMO_WORKERS: String(WORKERS),
    DEMO_SECRET: process.env.DEMO_SECRET ?? randomBytes(24).toString('base64url'),
  };
  const listening = new Set<number>();
  const up = new Promise<void>((resolve) => {
    cluster.on('listening', (worker) => {
      listening.add(worker.process.pid!);
      if (listening.size === WORKERS) resolve();
    });
  });
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    listening.delete(worker.process.pid!);
    // Another worker would fail the same way: say why once, and stop.
    if (code !== null && CANNOT_LISTEN.has(code)) {
      if (code === EXIT_PORT_IN_USE) console.error(`demo: port ${port} on 127.0.0.1 is in use: set PORT to another port, or PORT=0 for any free one`);
      if (code === EXIT_PORT_DENIED) console.error(`demo: listening on port ${port} is not permitted (ports below 1024 need privileges): set PORT to 1024 or above, or PORT=0 for any free one`);
      return void stopAll(1);
    }
    if (restarts >= MAX_RESTARTS) {
      console.error(`demo: worker pid ${worker.process.pid} exited (${signal ?? code}) and ${MAX_RESTARTS} restarts are used up: stopping`);
      void stopAll(1);
      return;
    }
    restarts += 1;
    console.error(`demo: worker pid ${worker.process.pid} exited (${signal ?? code}); starting another`);
    cluster.fork(env);
  });
  for (let i = 0; i < WORKERS; i++) cluster.fork(env);
  await up;

  say(`${WORKERS} workers (pids ${[...listening].join(', ')}) share port ${port}; each request may reach another one`);
  say(`open http://127.0.0.1:${port}/  (Ctrl-C stops everything)`);
} catch (err) {
  const e = err as Error & { code?: string };
  console.error(`demo: ${e.code ? `${e.code} ` : ''}${e.message}`);
  if (process.env.AWS_ENDPOINT_URL_DYNAMODB) console.error('demo: or unset AWS_ENDPOINT_URL_DYNAMODB to let the demo start its own DynamoDB Local');
  await stopAll(1);
}
