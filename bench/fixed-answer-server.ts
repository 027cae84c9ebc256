/**
 * A loopback HTTP server, run as its own process by bench/sdk-cost.ts, that
 * answers every request at once with the body given in ANSWER, as DynamoDB
 * would: the network round trip of a real HTTP handler without DynamoDB's
 * work. Prints its port when it listens.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const body = process.env.ANSWER ?? '{}';
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'bench', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.listen(0, '127.0.0.1', () => console.log((server.address() as AddressInfo).port));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
