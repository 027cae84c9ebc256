/**
 * A stand-in for a global table in multi-Region strong consistency (MRSC): an
 * HTTP proxy in front of DynamoDB Local that makes it answer as an MRSC
 * replica does where the store can tell. DescribeTable reports
 * `MultiRegionConsistency: STRONG` and three replicas; TransactWriteItems,
 * TransactGetItems and UpdateTimeToLive are refused (ValidationException,
 * DynamoDB never sees them); and `conflicts(n)` answers the next n writes with
 * ReplicatedWriteConflictException, as a write that clashed with another
 * Region's is. DynamoDB Local's own conditions stand for MRSC's, which hold
 * across Regions.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MrscProxy {
  readonly endpoint: string;
  /** Calls seen, by operation (refused ones included). */
  readonly calls: Readonly<Record<string, number>>;
  /** Calls refused for want of the feature, by operation. */
  readonly refused: Readonly<Record<string, number>>;
  /** The next `n` PutItem/UpdateItem/DeleteItem calls fail with ReplicatedWriteConflictException. */
  conflicts(n: number): void;
  close(): Promise<void>;
}

const REFUSED: Record<string, string> = {
  TransactWriteItems: 'Transactions are not supported for tables with multi-Region strong consistency',
  TransactGetItems: 'Transactions are not supported for tables with multi-Region strong consistency',
  UpdateTimeToLive: 'Time to Live is not supported for tables with multi-Region strong consistency',
};
const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem']);

function answer(res: ServerResponse, status: number, body: object): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'content-length': Buffer.byteLength(text), 'x-amzn-requestid': 'mrsc-stand-in' });
  res.end(text);
}

export async function startMrscProxy(target: string): Promise<MrscProxy> {
  const upstream = new URL(target);
  const calls: Record<string, number> = {};
  const refused: Record<string, number> = {};
  let conflicts = 0;

  const forward = (req: IncomingMessage, body: Buffer, res: ServerResponse, rewrite?: (json: Record<string, unknown>) => void) => {
    const out = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        const chunks: Buffer[] = [];
        up.on('data', (c: Buffer) => chunks.push(c));
        up.on('end', () => {
          let payload = Buffer.concat(chunks);
          const headers = { ...up.headers };
          if (rewrite && up.statusCode === 200) {
            const json = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
            rewrite(json);
            payload = Buffer.from(JSON.stringify(json));
            // The body changed: its checksum no longer holds.
            delete headers['x-amz-crc32'];
          }
          headers['content-length'] = String(payload.length);
          res.writeHead(up.statusCode ?? 500, headers);
          res.end(payload);
        });
      },
    );
    out.on('error', () => res.destroy());
    out.end(body);
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
      calls[operation] = (calls[operation] ?? 0) + 1;
      if (REFUSED[operation]) {
        refused[operation] = (refused[operation] ?? 0) + 1;
        answer(res, 400, { __type: 'com.amazon.coral.validate#ValidationException', message: REFUSED[operation] });
        return;
      }
      if (WRITES.has(operation) && conflicts > 0) {
        conflicts -= 1;
        answer(res, 400, {
          __type: 'com.amazonaws.dynamodb.v20120810#ReplicatedWriteConflictException',
          message: 'The write conflicts with a write made in another Region to the same item',
        });
        return;
      }
      if (operation === 'DescribeTable') {
        forward(req, body, res, (json) => {
          const table = json.Table as Record<string, unknown>;
          table.MultiRegionConsistency = 'STRONG';
          table.Replicas = ['us-east-2', 'us-west-2'].map((RegionName) => ({ RegionName, ReplicaStatus: 'ACTIVE' }));
        });
        return;
      }
      forward(req, body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    refused,
    conflicts(n) {
      conflicts = n;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
