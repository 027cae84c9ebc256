// Plain node:http, no framework, sessions in DynamoDB.
// Run: AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000 npx tsx examples/http/app.ts
// (DynamoDB Local on port 8000 first, in another terminal: npm run dynamodb-local)
import { createServer } from 'node:http';
import { sessionHandler } from 'dynamodb-session-manager/http';

// On Node 20 the AWS SDK warns that its releases from 2027 on will need Node 22; nothing to act on today.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const withSession = sessionHandler({ table: process.env.TABLE ?? 'sessions', secret: process.env.SESSION_SECRET ?? 'change me: at least thirty-two characters long' });
await withSession.sessions.store.ready(); // creates the table on first run

const server = createServer((req, res) =>
  withSession(req, res, (session) => {
    const views = (session.get<number>('views') ?? 0) + 1;
    session.set('views', views);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ views }));
  }),
);
server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`listening ${(server.address() as { port: number }).port}`);
});
process.on('SIGTERM', () => server.close());
