/**
 * Starts `demo/start.ts` as a child process, as `npm start` does, and reads
 * what it prints: its URL, its workers' pids, the java pid when it started
 * DynamoDB Local. Used by test/demo.test.ts and test/e2e/demo.e2e.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Variables that would send the demo to real AWS: never from a test. */
const AWS_VARS = ['AWS_PROFILE', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI'];

export interface DemoProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly url: string;
  readonly workerPids: number[];
  readonly javaPid: number | undefined;
  output(): string;
  /** Sends the signal to the demo's primary only, and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function baseEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of [...AWS_VARS, 'AWS_ENDPOINT_URL_DYNAMODB', 'AWS_ENDPOINT_URL', 'DYNAMODB_ENDPOINT', 'DEMO_TABLE']) delete env[name];
  return { ...env, PORT: '0', ...extra };
}

export async function startDemo(env: NodeJS.ProcessEnv, timeoutMs = 90_000): Promise<DemoProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'demo/start.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (out += c));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGINT');
      reject(new Error(`the demo printed no URL within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const onData = () => {
      const m = /open (http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', onData);
    void exited.then(([code, signal]) => {
      clearTimeout(timer);
      reject(new Error(`the demo exited (${signal ?? code}) before printing its URL:\n${out}`));
    });
  });
  const workers = /workers \(pids ([\d, ]+)\)/.exec(out);
  const java = /java pid (\d+)/.exec(out);
  return {
    child,
    pid: child.pid!,
    url,
    workerPids: workers ? workers[1]!.split(',').map((p) => Number(p.trim())) : [],
    javaPid: java ? Number(java[1]) : undefined,
    output: () => out,
    async stop(signal = 'SIGINT') {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, signal);
      const [code, sig] = await exited;
      return { code, signal: sig };
    },
  };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls until the process is gone: the kernel may take a moment to reap it. */
export async function waitGone(pid: number, timeoutMs = 15_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !isAlive(pid);
}
