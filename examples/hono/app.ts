// Hono on Node, sessions in DynamoDB. Run: DYNAMODB_ENDPOINT=http://127.0.0.1:8000 npx tsx examples/hono/app.ts
import { Hono } from 'hono';
import { serve } from '@hono/node-server';
import { dynamoSession, type SessionEnv } from 'dynamodb-session-manager/hono';

const sessions = dynamoSession({ table: process.env.TABLE ?? 'sessions', endpoint: process.env.DYNAMODB_ENDPOINT, secret: process.env.SESSION_SECRET ?? 'change me' });
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
