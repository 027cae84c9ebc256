// Fastify + @fastify/session, sessions in DynamoDB.
// Run: AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000 npx tsx examples/fastify/app.ts
// (DynamoDB Local on port 8000 first, in another terminal: npm run dynamodb-local)
import Fastify from 'fastify';
import { fastifyDynamoSession } from 'dynamodb-session-manager/fastify';

// On Node 20 the AWS SDK warns that its releases from 2027 on will need Node 22; nothing to act on today.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

declare module 'fastify' {
  interface Session {
    views?: number;
  }
}

const app = Fastify();
await app.register(fastifyDynamoSession, {
  table: process.env.TABLE ?? 'sessions',
  secret: process.env.SESSION_SECRET ?? 'change me: at least thirty-two characters long',
  cookie: { secure: 'auto' },
  saveUninitialized: false,
});
await app.dynamoSessionStore.store.ready(); // creates the table on first run

app.get('/', async (request) => {
  request.session.views = (request.session.views ?? 0) + 1;
  return { views: request.session.views };
});

await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' });
console.log(`listening ${(app.server.address() as { port: number }).port}`);
process.on('SIGTERM', () => void app.close());
