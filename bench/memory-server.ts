/**
 * The server of `npm run bench:memory`: an Express app over dynamoSession()
 * with the store's default options (only the table and, with
 * DECODED_CACHE_BYTES, the cache's bound set), as a new user would run it.
 * Prints `listening <port>`.
 *
 * GET /login   gives the client a session of about 200 bytes of JSON
 * GET /visit   reads the session and changes it
 * GET /memory  after full collections: {rss, heapUsed, sizes} (sizes: the store's per-session structures)
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import express from 'express';
import { DynamoDBStore, dynamoSession } from '../src/adapters/express.js';
import { storeSizes } from '../src/core/sizes.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const store = new DynamoDBStore({
  endpoint: process.env.DSM_TEST_ENDPOINT,
  region: 'us-east-1',
  accessKeyId: 'local',
  secretAccessKey: 'local',
  table: process.env.TABLE,
  ...(process.env.DECODED_CACHE_BYTES ? { decodedCacheBytes: Number(process.env.DECODED_CACHE_BYTES) } : {}),
});
await store.ready();

const app = express();
app.disable('x-powered-by');
app.use(dynamoSession({ store, secret: 'a memory benchmark secret of at least 32 characters', resave: false, saveUninitialized: false, cookie: { maxAge: 3_600_000, httpOnly: true, sameSite: 'lax' } }));

type Visitor = { user?: { id: string; name: string; roles: string[] }; visits?: number };

app.get('/login', (req, res) => {
  const s = req.session as unknown as Visitor;
  s.user = { id: req.sessionID.slice(0, 12), name: 'Ada Lovelace', roles: ['reader'] };
  s.visits = 1;
  res.json({ ok: true });
});
app.get('/visit', (req, res) => {
  const s = req.session as unknown as Visitor;
  s.visits = (s.visits ?? 0) + 1;
  res.json({ visits: s.visits });
});
app.get('/memory', (_req, res) => {
  for (let i = 0; i < 3; i++) gc();
  const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
  res.json({ rss, heapUsed, heapTotal, external, arrayBuffers, sizes: storeSizes(store.store) });
});

const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  console.log(`listening ${typeof address === 'object' && address ? address.port : ''}`);
});
server.keepAliveTimeout = 65_000;
const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
