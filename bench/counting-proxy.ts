/**
 * A loopback HTTP proxy between an app and DynamoDB (Local) that counts what
 * the app costs: calls per operation and the capacity units DynamoDB reports.
 *
 * DynamoDB Local only reports ConsumedCapacity when asked, and peers never ask,
 * so the proxy adds `ReturnConsumedCapacity: "TOTAL"` to every request that
 * accepts it. DynamoDB Local does not check SigV4 signatures, which is what
 * makes rewriting the body harmless here (it would not be against AWS).
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Operations that accept ReturnConsumedCapacity. */
export const CAPACITY_OPERATIONS: ReadonlySet<string> = new Set([
  'GetItem',
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'Query',
  'Scan',
  'BatchGetItem',
  'BatchWriteItem',
  'TransactGetItems',
  'TransactWriteItems',
]);

export interface OperationTally {
  calls: number;
  rcu: number;
  wcu: number;
  /** Calls DynamoDB answered with an error (a failed condition, a throttle…). */
  errors: number;
}

export interface CapacityTally {
  calls: number;
  rcu: number;
  wcu: number;
  errors: number;
  byOperation: Record<string, OperationTally>;
}

export interface CountingProxy {
  /** The URL to give the app as its DynamoDB endpoint. */
  readonly endpoint: string;
  readonly port: number;
  /** A copy of the tallies since the start or the last reset. */
  snapshot(): CapacityTally;
  reset(): void;
  close(): Promise<void>;
}

interface ConsumedCapacity {
  CapacityUnits?: number;
  ReadCapacityUnits?: number;
  WriteCapacityUnits?: number;
}

/** Which units an operation consumes when DynamoDB reports only CapacityUnits. */
const WRITE_OPERATIONS = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);

function emptyTally(): CapacityTally {
  return { calls: 0, rcu: 0, wcu: 0, errors: 0, byOperation: {} };
}

function split(operation: string, consumed: ConsumedCapacity): { rcu: number; wcu: number } {
  const total = consumed.CapacityUnits ?? 0;
  if (consumed.ReadCapacityUnits !== undefined || consumed.WriteCapacityUnits !== undefined) {
    return { rcu: consumed.ReadCapacityUnits ?? 0, wcu: consumed.WriteCapacityUnits ?? 0 };
  }
  return WRITE_OPERATIONS.has(operation) ? { rcu: 0, wcu: total } : { rcu: total, wcu: 0 };
}

/** Units from a response body: a single object, or an array (batches, transactions). */
export function consumedUnits(operation: string, body: unknown): { rcu: number; wcu: number } {
  const field = (body as { ConsumedCapacity?: ConsumedCapacity | ConsumedCapacity[] } | null)?.ConsumedCapacity;
  if (!field) return { rcu: 0, wcu: 0 };
  const list = Array.isArray(field) ? field : [field];
  let rcu = 0;
  let wcu = 0;
  for (const item of list) {
    const units = split(operation, item);
    rcu += units.rcu;
    wcu += units.wcu;
  }
  return { rcu, wcu };
}

function operationOf(headers: IncomingHttpHeaders): string {
  const target = headers['x-amz-target'];
  const value = Array.isArray(target) ? target[0] : target;
  // "DynamoDB_20120810.GetItem" → "GetItem"
  return value ? value.slice(value.lastIndexOf('.') + 1) : 'unknown';
}

function withCapacity(operation: string, raw: Buffer): Buffer {
  if (!CAPACITY_OPERATIONS.has(operation) || raw.length === 0) return raw;
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
  } catch {
    return raw; // not ours to repair: DynamoDB will answer with its own error
  }
  if (parsed.ReturnConsumedCapacity !== undefined && parsed.ReturnConsumedCapacity !== 'NONE') return raw;
  parsed.ReturnConsumedCapacity = 'TOTAL';
  return Buffer.from(JSON.stringify(parsed));
}

/**
 * Starts the proxy on 127.0.0.1 (a free port unless given) in front of
 * `target` (e.g. `http://127.0.0.1:8000`).
 */
export async function startCountingProxy(target: string, port = 0): Promise<CountingProxy> {
  const upstream = new URL(target);
  let tally = emptyTally();

  const record = (operation: string, units: { rcu: number; wcu: number }, failed: boolean) => {
    const op = (tally.byOperation[operation] ??= { calls: 0, rcu: 0, wcu: 0, errors: 0 });
    op.calls += 1;
    op.rcu += units.rcu;
    op.wcu += units.wcu;
    tally.calls += 1;
    tally.rcu += units.rcu;
    tally.wcu += units.wcu;
    if (failed) {
      op.errors += 1;
      tally.errors += 1;
    }
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const operation = operationOf(req.headers);
      const body = withCapacity(operation, Buffer.concat(chunks));
      const headers: IncomingHttpHeaders = { ...req.headers, host: upstream.host, 'content-length': String(body.length) };
      delete headers['transfer-encoding'];
      const out = httpRequest(
        { hostname: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers },
        (answer) => {
          const parts: Buffer[] = [];
          answer.on('data', (c: Buffer) => parts.push(c));
          answer.on('end', () => {
            const payload = Buffer.concat(parts);
            let parsed: unknown = null;
            try {
              parsed = payload.length > 0 ? JSON.parse(payload.toString('utf8')) : null;
            } catch {
              parsed = null;
            }
            // A failed conditional write still consumes write units; DynamoDB Local does not report them in the error.
            record(operation, consumedUnits(operation, parsed), (answer.statusCode ?? 500) >= 400);
            const back = { ...answer.headers, 'content-length': String(payload.length) };
            delete back['transfer-encoding'];
            // The SDK checks the CRC32 of the body when given; the body is unchanged, so the header stays valid.
            res.writeHead(answer.statusCode ?? 502, back);
            res.end(payload);
          });
          answer.on('error', () => res.destroy());
        },
      );
      out.on('error', (err) => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`counting proxy: upstream ${target} failed: ${err.message}`);
      });
      out.end(body);
    });
    req.on('error', () => res.destroy());
  });
  // Many keep-alive sockets from several apps: no idle limit shorter than the SDK's.
  server.keepAliveTimeout = 60_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;

  return {
    endpoint: `http://127.0.0.1:${actual}`,
    port: actual,
    snapshot: () => structuredClone(tally),
    reset: () => {
      tally = emptyTally();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
