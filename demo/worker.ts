/**
 * One worker of the demo cluster: an Express app whose sessions live in
 * DynamoDB. Started by demo/start.ts, which tells it (through its
 * environment) which DynamoDB and table to use; the table already exists.
 */
import './quiet-sdk.js';
import { readMetrics, startMetricReader } from './otel-metrics.js';
import cluster from 'node:cluster';
import type { Server } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { DynamoDBStore, dynamoSession } from '../src/adapters/express.js';
import type { SessionOptions } from 'express-session';
import { targetFromEnv, storeOptions } from './target.js';
import { liveSessions } from './live-sessions.js';
import { answerStatsRequests, clusterStats, sumStats } from './cluster-stats.js';
import { renderAdmin, renderPage, type AdminView } from './page.js';
import { EXIT_CANNOT_LISTEN, EXIT_PORT_DENIED, EXIT_PORT_IN_USE } from './exit-codes.js';

// Before any store: a store asks for its meter at its first measurement.
startMetricReader();
const target = targetFromEnv(process.env);
const RACE_HOLD_MS = Number(process.env.DEMO_RACE_HOLD_MS ?? 30);
const PRODUCTS = ['Coffee beans', 'Burr grinder', 'Kettle', 'Pour-over cone', 'Filter papers', 'Mug'] as const;

/** A counter changed by two requests at once keeps both increments: base + both deltas. */
const addDeltas = (_path: ReadonlyArray<string | number>, base: unknown, mine: unknown, theirs: unknown): unknown =>
  typeof mine === 'number' && typeof theirs === 'number' ? theirs + (mine - (typeof base === 'number' ? base : 0)) : mine;

// returnConsumedCapacity: the admin panel shows the capacity units the workers spent.
const common = { ...storeOptions(target), skipTableCheck: true, userId: 'user', returnConsumedCapacity: true } as const;
// One table, one session: the route decides how its save meets a concurrent one. The page and
// the "default" race run on the default options, which a user who never read the options table gets.
const store = new DynamoDBStore({ ...common });
const lastWriterWins = new DynamoDBStore({ ...common, locking: 'none' });
const mergeOnly = new DynamoDBStore({ ...common, locking: 'optimistic', onConflict: addDeltas });

const localStats = () => sumStats([store.store.stats(), lastWriterWins.store.stats(), mergeOnly.store.stats()]);
answerStatsRequests(localStats, readMetrics);

type Bag = { visits?: number; cart?: string[]; user?: string; race?: number };
const bag = (req: Request) => req.session as unknown as Bag;

/**
 * express-session sends the headers (and all but the last byte) before its
 * automatic save completes, so a browser following a redirect, or a fetch
 * resolving on headers, can reach another worker before the write lands:
 * every handler that changes the session saves it before answering.
 */
const saved = (req: Request) => new Promise<void>((resolve, reject) => req.session.save((err) => (err ? reject(err) : resolve())));

const sessionOptions = (s: DynamoDBStore): SessionOptions & { store: DynamoDBStore } => ({
  store: s,
  name: 'demo.sid',
  secret: process.env.DEMO_SECRET ?? 'a demo secret of at least thirty-two characters',
  resave: false,
  saveUninitialized: false,
  cookie: { maxAge: 30 * 60_000, httpOnly: true, sameSite: 'lax' },
});
const withDefaults = dynamoSession(sessionOptions(store));
const withNone = dynamoSession(sessionOptions(lastWriterWins));
const withMerge = dynamoSession(sessionOptions(mergeOnly));

const app = express();
app.disable('x-powered-by');
app.use((_req, res, next) => {
  // A new connection per request lets the cluster's round-robin pick a worker for each one.
  res.setHeader('Connection', 'close');
  res.setHeader('Cache-Control', 'no-store');
  next();
});
app.use(express.urlencoded({ extended: false, limit: '4kb' }));
app.use((req, res, next) =>
  (req.path.startsWith('/api/race/none/') ? withNone : req.path.startsWith('/api/race/optimistic/') ? withMerge : withDefaults)(req, res, next),
);

async function adminView(req: Request): Promise<AdminView> {
  const [listing, workers] = await Promise.all([liveSessions(store.store), clusterStats(localStats, readMetrics)]);
  return {
    table: target.table,
    currentId: req.session?.id,
    ...listing,
    workers,
    total: sumStats(workers.map((w) => w.stats)),
  };
}

app.get('/', async (req, res) => {
  const s = bag(req);
  s.visits = (s.visits ?? 0) + 1;
  // Saved before the panel reads the table, so the panel shows this visit too.
  await saved(req);
  res.type('html').send(
    renderPage({
      pid: process.pid,
      workerId: cluster.worker?.id ?? 0,
      workerCount: Number(process.env.DEMO_WORKERS ?? 1),
      backend: target.label,
      sessionId: req.sessionID,
      visits: s.visits,
      cart: s.cart ?? [],
      user: s.user,
      products: PRODUCTS,
      admin: await adminView(req),
    }),
  );
});

app.get('/admin', async (req, res) => {
  res.type('html').send(renderAdmin(await adminView(req)));
});

app.get('/api/session', (req, res) => {
  const s = bag(req);
  res.json({ pid: process.pid, id: req.sessionID, visits: s.visits ?? 0, cart: s.cart ?? [], user: s.user ?? null, race: s.race ?? 0 });
});

app.post('/cart/add', async (req, res) => {
  const item = String(req.body?.item ?? '');
  if (!(PRODUCTS as readonly string[]).includes(item)) {
    res.status(400).type('text').send(`Unknown product: pick one of ${PRODUCTS.join(', ')}.\n`);
    return;
  }
  const s = bag(req);
  s.cart = [...(s.cart ?? []), item];
  await saved(req);
  res.redirect(303, '/');
});

app.post('/cart/remove', async (req, res) => {
  const s = bag(req);
  const cart = s.cart ?? [];
  const index = Number(req.body?.index);
  // The index was rendered by another request: if the cart moved since, remove the named item instead.
  const at = cart[index] === req.body?.item ? index : cart.indexOf(String(req.body?.item));
  if (at >= 0) s.cart = cart.filter((_, i) => i !== at);
  await saved(req);
  res.redirect(303, '/');
});

app.post('/login', (req, res, next) => {
  const user = String(req.body?.user ?? '').trim();
  if (!/^[\w .@-]{1,40}$/.test(user)) {
    res.status(400).type('text').send('A user name is 1 to 40 letters, digits, spaces or . @ - _\n');
    return;
  }
  const { cart, visits } = bag(req);
  // A new id at login: an id planted before it (session fixation) is worth nothing after.
  req.session.regenerate((err) => {
    if (err) return next(err);
    Object.assign(bag(req), { cart, visits, user });
    saved(req).then(() => res.redirect(303, '/'), next);
  });
});

app.post('/logout', (req, res, next) => {
  req.session.destroy((err) => {
    if (err) return next(err);
    res.clearCookie('demo.sid');
    res.redirect(303, '/');
  });
});

/** default: the store's default options (locking 'auto': a POST takes the lease); none: the seed's last writer wins; optimistic: merges, with an onConflict adding counter deltas. */
const RACE_MODES: readonly string[] = ['default', 'none', 'optimistic'];

app.post('/api/race/reset', async (req, res) => {
  bag(req).race = 0;
  await saved(req);
  res.json({ race: 0 });
});

app.post('/api/race/:mode/incr', async (req, res) => {
  if (!RACE_MODES.includes(String(req.params.mode))) {
    res.status(404).json({ error: `mode is one of ${RACE_MODES.join(', ')}` });
    return;
  }
  const s = bag(req);
  const next = (s.race ?? 0) + 1;
  // A handler doing I/O between read and write: the window in which the seed's manager loses updates.
  await new Promise((r) => setTimeout(r, RACE_HOLD_MS));
  s.race = next;
  await saved(req);
  res.json({ pid: process.pid });
});

app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
  console.error(`demo worker ${process.pid}: ${err.message}`);
  if (!res.headersSent) res.status(500).type('text').send(`Internal error: ${err.message}\n`);
});

const port = Number(process.env.DEMO_PORT ?? 3000);
const server: Server = app.listen(port, '127.0.0.1');
server.on('error', (err: NodeJS.ErrnoException) => {
  // Every worker meets the same error: the primary says it once (demo/start.ts), knowing it by the exit code.
  if (err.code === 'EADDRINUSE') process.exit(EXIT_PORT_IN_USE);
  if (err.code === 'EACCES') process.exit(EXIT_PORT_DENIED);
  console.error(`demo: worker ${process.pid} cannot listen on 127.0.0.1:${port}: ${err.message}`);
  process.exit(EXIT_CANNOT_LISTEN);
});

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  server.close(() => {
    void Promise.all([store.store.close(), lastWriterWins.store.close(), mergeOnly.store.close()]).finally(() => process.exit(0));
  });
  server.closeIdleConnections();
  // Requests still running get a moment to finish; then the worker goes regardless.
  setTimeout(() => process.exit(0), 3000).unref();
};
process.on('SIGTERM', stop);
// Ctrl-C reaches the whole process group: the primary stops the workers in order (and restarts none meanwhile).
process.on('SIGINT', () => {
  if (!cluster.isWorker) stop();
});
