// Express + express-session, sessions in DynamoDB.
// Run: AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000 npx tsx examples/express/app.ts
// (DynamoDB Local on port 8000 first, in another terminal: npm run dynamodb-local)
import express from 'express';
import { DynamoDBStore, dynamoSession } from 'dynamodb-session-manager/express';

// On Node 20 the AWS SDK warns that its releases from 2027 on will need Node 22; nothing to act on today.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const store = new DynamoDBStore({ table: process.env.TABLE ?? 'sessions' });
await store.ready(); // creates the table on first run (createIfNotExist)

const app = express();
app.use(dynamoSession({ store, secret: process.env.SESSION_SECRET ?? 'change me: at least thirty-two characters long', resave: false, saveUninitialized: false }));

app.get('/', (req, res) => {
  const session = req.session as typeof req.session & { views?: number };
  session.views = (session.views ?? 0) + 1;
  res.json({ views: session.views });
});

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`listening ${(server.address() as { port: number }).port}`);
});
process.on('SIGTERM', () => server.close());
