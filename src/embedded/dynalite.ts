import type { IncomingMessage, Server } from 'node:http';
import { createRequire } from 'node:module';
import { EmbeddedDynamoDBError } from '../errors.js';
import { freePort } from './dynamodb-local.js';

type DynaliteFactory = (options: { createTableMs?: number; updateTableMs?: number; deleteTableMs?: number }) => Server;

export interface EmbeddedDynalite {
  readonly endpoint: string;
  readonly port: number;
  /** Closes the server and its connections. */
  stop(): Promise<void>;
}

/**
 * dynalite (a DynamoDB API written in Node.js, kept in memory) in this
 * process, on a free loopback port: the engine where Java is missing, and the
 * suite's second engine. It differs from DynamoDB where it matters to a
 * session store: a failed conditional write returns no item, and there is no
 * TTL. `dynalite` is a development dependency, loaded only when asked for.
 */
export async function startDynalite(port?: number): Promise<EmbeddedDynalite> {
  let dynalite: DynaliteFactory;
  try {
    dynalite = createRequire(import.meta.url)('dynalite') as DynaliteFactory;
  } catch (cause) {
    throw new EmbeddedDynamoDBError(
      'DSM_EMBEDDED_START',
      'the npm package "dynalite" is not installed: run `npm install --save-dev dynalite`, install Java 17 for DynamoDB Local, ' +
        'or point the store at a running DynamoDB with AWS_ENDPOINT_URL_DYNAMODB',
      { cause },
    );
  }
  const listenPort = port ?? (await freePort());
  // Tables become ACTIVE at once, as in DynamoDB Local.
  const server = dynalite({ createTableMs: 0, updateTableMs: 0, deleteTableMs: 0 });
  // dynalite rethrows a request's 'error' (a client that resets mid-request, as the fault tests
  // do and a killed server would), which ends the whole process it runs in. A reset request is
  // the client's loss alone: its error listeners are kept from throwing.
  server.prependListener('request', (req: IncomingMessage) => {
    const on = req.on;
    req.on = function (this: IncomingMessage, event: string | symbol, listener: (...args: any[]) => void) {
      if (event !== 'error') return on.call(this, event, listener);
      return on.call(this, event, (err: unknown) => {
        try {
          listener(err);
        } catch {
          // dropped: see above
        }
      });
    } as IncomingMessage['on'];
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (cause) =>
      reject(
        new EmbeddedDynamoDBError(
          'DSM_EMBEDDED_START',
          `dynalite could not listen on 127.0.0.1:${listenPort}: ${(cause as Error).message}; pick another port`,
          { cause },
        ),
      ),
    );
    server.listen(listenPort, '127.0.0.1', () => resolve());
  });
  return {
    endpoint: `http://127.0.0.1:${listenPort}`,
    port: listenPort,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}
