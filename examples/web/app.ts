// Web-standard Request/Response, no framework, sessions in DynamoDB (the same API serves React Router, Next.js's proxy, SvelteKit, Astro…).
// Run: AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000 npx tsx examples/web/app.ts
// (DynamoDB Local on port 8000 first, in another terminal: npm run dynamodb-local)
import { serve } from '@hono/node-server';
import { webSessions } from 'dynamodb-session-manager/web';

// On Node 20 the AWS SDK warns that its releases from 2027 on will need Node 22; nothing to act on today.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const sessions = webSessions({ table: process.env.TABLE ?? 'sessions', secret: process.env.SESSION_SECRET ?? 'change me: at least thirty-two characters long' });
await sessions.sessions.store.ready(); // creates the table on first run

// Any fetch handler: (request: Request) => Promise<Response>. @hono/node-server only serves it on Node.
const handler = (request: Request) =>
  sessions.handle(request, (session) => {
    const views = (session.get<number>('views') ?? 0) + 1;
    session.set('views', views);
    return Response.json({ views });
  });

const server = serve({ fetch: handler, port: Number(process.env.PORT ?? 3000), hostname: '127.0.0.1' }, (info) => console.log(`listening ${info.port}`));
process.on('SIGTERM', () => server.close());
