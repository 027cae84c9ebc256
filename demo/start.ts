export {};
/**
 * `npm start`: DynamoDB Local on a loopback port, the session table, and an
 * Express app whose visit counter lives in DynamoDB. Ctrl-C stops everything.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { default: express } = await import('express');
const { startDynamoDBLocal } = await import('../src/embedded/dynamodb-local.js');
const { DynamoDBStore, dynamoSession } = await import('../src/adapters/express.js');

const db = await startDynamoDBLocal().catch((err: Error) => {
  console.error(`demo: ${err.message}`);
  process.exit(1);
});
const store = new DynamoDBStore({ endpoint: db.endpoint, region: 'us-east-1', accessKeyId: 'local', secretAccessKey: 'local' });
await store.ready();

const app = express();
app.use(dynamoSession({ store, secret: 'demo secret', resave: false, saveUninitialized: false, cookie: { maxAge: 3_600_000 } }));
app.get('/', (req, res) => {
  const s = req.session as unknown as { views?: number };
  s.views = (s.views ?? 0) + 1;
  res.type('html').send(`<h1>dynamodb-session-manager</h1><p>Visits in this session: ${s.views} (served by pid ${process.pid})</p>`);
});

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 3000;
  console.log(`demo: DynamoDB Local pid ${db.pid} at ${db.endpoint}, table ${store.store.config.table}`);
  console.log(`demo: open http://127.0.0.1:${port}/  (Ctrl-C stops everything)`);
});

const stop = async () => {
  server.close();
  await store.store.close();
  await db.stop();
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
