// Koa + koa-session, sessions in DynamoDB.
// Run: AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000 npx tsx examples/koa/app.ts
// (DynamoDB Local on port 8000 first, in another terminal: npm run dynamodb-local)
import Koa from 'koa';
import { dynamoSession } from 'dynamodb-session-manager/koa';

// On Node 20 the AWS SDK warns that its releases from 2027 on will need Node 22; nothing to act on today.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const app = new Koa();
app.keys = [process.env.SESSION_SECRET ?? 'change me: at least thirty-two characters long'];
const sessions = dynamoSession(app, { table: process.env.TABLE ?? 'sessions' });
await sessions.store.store.ready(); // creates the table on first run
app.use(sessions);

app.use((ctx) => {
  const session = ctx.session as unknown as { views?: number };
  session.views = (session.views ?? 0) + 1;
  ctx.body = { views: session.views };
});

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`listening ${(server.address() as { port: number }).port}`);
});
process.on('SIGTERM', () => server.close());
