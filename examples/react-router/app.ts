// React Router 7, sessions in DynamoDB: createDynamoSessionStorage where an app would use createCookieSessionStorage.
// Run: AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000 npx tsx examples/react-router/app.ts
// (DynamoDB Local on port 8000 first, in another terminal: npm run dynamodb-local)
// In a framework-mode app the storage goes in app/sessions.server.ts and the loader in a route module;
// here React Router's own data handler runs the route, so the example needs no build.
import { createStaticHandler } from 'react-router';
import { serve } from '@hono/node-server';
import { createDynamoSessionStorage } from 'dynamodb-session-manager/react-router';

// On Node 20 the AWS SDK warns that its releases from 2027 on will need Node 22; nothing to act on today.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { getSession, commitSession, sessions } = createDynamoSessionStorage<{ views: number }>({
  table: process.env.TABLE ?? 'sessions',
  secret: process.env.SESSION_SECRET ?? 'change me: at least thirty-two characters long',
});
await sessions.store.ready(); // creates the table on first run

const routes = [
  {
    path: '/',
    loader: async ({ request }: { request: Request }) => {
      const session = await getSession(request.headers.get('Cookie'));
      const views = (session.get('views') ?? 0) + 1;
      session.set('views', views);
      return Response.json({ views }, { headers: { 'Set-Cookie': await commitSession(session) } });
    },
  },
];

const { queryRoute } = createStaticHandler(routes);
const server = serve(
  { fetch: async (request) => (await queryRoute(request)) as Response, port: Number(process.env.PORT ?? 3000), hostname: '127.0.0.1' },
  (info) => console.log(`listening ${info.port}`),
);
process.on('SIGTERM', () => server.close());
