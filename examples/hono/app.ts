// Hono on Node, sessions in DynamoDB.
// Run: AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000 npx tsx examples/hono/app.ts
// (DynamoDB Local on port 8000 first, in another terminal: npm run dynamodb-local)
import { Hono } from 'hono';
import { serve } from '@hono/node-server';
import { dynamoSession, type SessionEnv } from 'dynamodb-session-manager/hono';

// On Node 20 the AWS SDK warns that its releases from 2027 on will need Node 22; nothing to act on today.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const sessions = dynamoSession({ table: process.env.TABLE ?? 'sessions', secret: process.env.SESSION_SECRET ?? 'change me: at least thirty-two characters long' });
await sessions.sessions.store.ready(); // creates the table on first run

const app = new Hono<SessionEnv>();
app.use(sessions);
app.get('/', (c) => {
  const session = c.get('session');
  const views = (session.get<number>('views') ?? 0) + 1;
  session.set('views', views);
  return c.json({ views });
});

const server = serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 3000), hostname: '127.0.0.1' }, (info) => console.log(`listening ${info.port}`));
process.on('SIGTERM', () => server.close());
