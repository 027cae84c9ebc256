/**
 * The benchmarked app: Express 5 + express-session, with the session store
 * named by STORE, run as a child process so that autocannon does not share
 * its event loop. Prints `listening <port>` when ready.
 *
 * Env: STORE (see bench/stores.ts), ENDPOINT (DynamoDB, the counting proxy),
 * TABLE, SIZE (session JSON bytes at login), HOLD_MS (how long /incr keeps
 * its request open between reading and writing the counter).
 */
import { createRequire } from 'node:module';
import express from 'express';
import session from 'express-session';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStore, dynamoSession } from '../src/adapters/express.js';
import { realisticSession } from '../test/helpers/session-fixtures.js';
import { SESSION_COOKIE, storeSpec } from './stores.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// aws-sdk v2 (dynamodb-store) prints a maintenance-mode notice on load.
process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE ??= '1';

const spec = storeSpec(process.env.STORE ?? 'memory');
const endpoint = process.env.ENDPOINT ?? '';
const table = process.env.TABLE ?? 'bench_sessions';
const size = Number(process.env.SIZE ?? 2048);
const holdMs = Number(process.env.HOLD_MS ?? 2);
const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench' };

const sessionOptions = {
  name: SESSION_COOKIE,
  secret: 'a benchmark secret of at least 32 characters',
  resave: false,
  saveUninitialized: false,
  cookie: { maxAge: 3_600_000 },
};

async function middleware(): Promise<express.RequestHandler> {
  switch (spec.kind) {
    case 'memory':
      return session({ ...sessionOptions, store: new session.MemoryStore() });
    case 'ours': {
      const store = new DynamoDBStore({
        endpoint,
        region: 'us-east-1',
        ...credentials,
        table,
        billingMode: 'PAY_PER_REQUEST',
        locking: spec.locking,
        consistentRead: spec.consistentRead,
        reapIntervalMs: 0,
        ...(spec.addDeltas
          ? {
              onConflict: (_path: ReadonlyArray<string | number>, base: unknown, mine: unknown, theirs: unknown) =>
                typeof mine === 'number' && typeof theirs === 'number' ? theirs + (mine - (typeof base === 'number' ? base : 0)) : mine,
            }
          : {}),
      });
      await store.ready();
      return dynamoSession({ ...sessionOptions, store }) as unknown as express.RequestHandler;
    }
    case 'connect-dynamodb': {
      const { default: connect } = (await import('connect-dynamodb')) as unknown as { default: (s: unknown) => new (o: object) => session.Store & { initialize(): Promise<void> } };
      const Store = connect(session);
      const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials });
      const store = new Store({ client, table });
      await store.initialize();
      return session({ ...sessionOptions, store });
    }
    case 'dynamodb-store': {
      // No type declarations ship with dynamodb-store.
      const Store = createRequire(import.meta.url)('dynamodb-store') as new (o: object, cb: (err?: unknown) => void) => session.Store;
      const store = await new Promise<session.Store>((resolve, reject) => {
        const created: session.Store = new Store(
          { table: { name: table }, dynamoConfig: { endpoint, region: 'us-east-1', ...credentials } },
          (err?: unknown) => (err ? reject(err) : resolve(created)),
        );
      });
      return session({ ...sessionOptions, store });
    }
  }
}

type Bag = Record<string, unknown> & { visits?: number; counter?: number; lastPage?: string };

// Requests that completed, by route: the bench's ground truth for the floor and for lost updates.
// A request autocannon abandons at the end of a run still cost its DynamoDB calls, so it is counted too.
const counts = { login: 0, read: 0, write: 0, incr: 0, failed: 0, aborted: 0 };
const counted = (route: 'login' | 'read' | 'write' | 'incr'): express.RequestHandler => (_req, res, next) => {
  res.once('close', () => {
    if (!res.writableFinished) counts.aborted += 1;
    else if (res.statusCode < 400) counts[route] += 1;
    else counts.failed += 1;
  });
  next();
};

const app = express();
app.get('/_counts', (_req, res) => {
  // The process's CPU time (all its threads) and the event loop's busy time, both in ms, for per-request figures.
  const cpu = process.cpuUsage();
  const elu = performance.eventLoopUtilization();
  res.json({ ...counts, cpuMs: (cpu.user + cpu.system) / 1000, loopBusyMs: elu.active });
});
app.use(await middleware());

let seed = 0;
app.post('/login', counted('login'), (req, res) => {
  // express-session keeps its own cookie object; the fixture's would clash with it.
  const { cookie: _cookie, ...data } = realisticSession(size, (seed++ % 50) + 1);
  Object.assign(req.session, data, { counter: 0, visits: 0 });
  res.json({ ok: true });
});
app.get('/read', counted('read'), (req, res) => {
  const s = req.session as unknown as Bag;
  res.json({ user: (s.user as { displayName?: string } | undefined)?.displayName ?? null, visits: s.visits ?? null });
});
// Changes come as POSTs, as a browser's AJAX calls and forms send them: under locking 'auto' they take the lease.
app.post('/write', counted('write'), (req, res) => {
  const s = req.session as unknown as Bag;
  s.visits = (s.visits ?? 0) + 1;
  s.lastPage = `/products/${s.visits}`;
  res.json({ visits: s.visits });
});
app.post('/incr', counted('incr'), async (req, res) => {
  const s = req.session as unknown as Bag;
  const next = (s.counter ?? 0) + 1;
  // A handler doing I/O between reading and writing: the window in which a concurrent request can slip in.
  await new Promise((r) => setTimeout(r, holdMs));
  s.counter = next;
  res.json({ counter: next });
});
app.get('/counter', (req, res) => {
  res.json({ counter: (req.session as unknown as Bag).counter ?? null });
});

const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  console.log(`listening ${typeof address === 'object' && address ? address.port : ''}`);
});
server.keepAliveTimeout = 60_000;
const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
