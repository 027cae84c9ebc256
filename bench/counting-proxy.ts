/**
 * A loopback HTTP proxy between an app and DynamoDB (Local) that counts what
 * the app costs: calls per operation and the capacity units DynamoDB reports.
 *
 * DynamoDB Local only reports ConsumedCapacity when asked, and peers never ask,
 * so the proxy adds `ReturnConsumedCapacity: "TOTAL"` to every request that
 * accepts it, and takes the ConsumedCapacity it asked for out of the answer
 * again, so that the app sees what it asked for and no more. DynamoDB Local does not check SigV4 signatures, which is what
 * makes rewriting the body harmless here (it would not be against AWS).
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32 } from 'node:zlib';

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

/** The request with ReturnConsumedCapacity added when it lacks it, and whether it was added. */
function withCapacity(operation: string, raw: Buffer): { body: Buffer; added: boolean } {
  if (!CAPACITY_OPERATIONS.has(operation) || raw.length === 0) return { body: raw, added: false };
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
  } catch {
    return { body: raw, added: false }; // not ours to repair: DynamoDB will answer with its own error
  }
  if (parsed.ReturnConsumedCapacity !== undefined && parsed.ReturnConsumedCapacity !== 'NONE') return { body: raw, added: false };
  parsed.ReturnConsumedCapacity = 'TOTAL';
  return { body: Buffer.from(JSON.stringify(parsed)), added: true };
}

/**
 * The answer as the client asked for it: without the ConsumedCapacity the proxy asked for on its
 * behalf, so that counting costs the measured app nothing (parsing it is real work for an SDK).
 */
function asAsked(payload: Buffer, parsed: unknown, headers: IncomingHttpHeaders): Buffer {
  if (!parsed || typeof parsed !== 'object' || !('ConsumedCapacity' in parsed)) return payload;
  const { ConsumedCapacity: _counted, ...rest } = parsed as Record<string, unknown>;
  const body = Buffer.from(JSON.stringify(rest));
  // Clients that check the body's CRC32 (aws-sdk v2 does) get one that matches the new body.
  if (headers['x-amz-crc32'] !== undefined) headers['x-amz-crc32'] = String(crc32(body));
  return body;
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
      const { body, added } = withCapacity(operation, Buffer.concat(chunks));
      const headers: IncomingHttpHeaders = { ...req.headers, host: upstream.host, 'content-length': String(body.length) };
      delete headers['transfer-encoding'];
      const out = httpRequest(
        { hostname: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers },
        (answer) => {
          const parts: Buffer[] = [];
          answer.on('data', (c: Buffer) => parts.push(c));
          answer.on('end', () => {
            const received = Buffer.concat(parts);
            let parsed: unknown = null;
            try {
              parsed = received.length > 0 ? JSON.parse(received.toString('utf8')) : null;
            } catch {
              parsed = null;
            }
            // A failed conditional write still consumes write units; DynamoDB Local does not report them in the error.
            record(operation, consumedUnits(operation, parsed), (answer.statusCode ?? 500) >= 400);
            const back: IncomingHttpHeaders = { ...answer.headers };
            const payload = added ? asAsked(received, parsed, back) : received;
            back['content-length'] = String(payload.length);
            delete back['transfer-encoding'];
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
