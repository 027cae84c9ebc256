// Next.js App Router, sessions in DynamoDB: getSession() in Route Handlers, Server Actions and Server Components.
// Run: AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000 npx next dev --webpack examples/next
// (DynamoDB Local on port 8000 first, in another terminal: npm run dynamodb-local; then open http://localhost:3000/)
import { nextSessions } from 'dynamodb-session-manager/next';

// On Node 20 the AWS SDK warns that its releases from 2027 on will need Node 22; nothing to act on today.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// One store for the whole server; its table is created on the first request (createIfNotExist).
export const { getSession } = nextSessions({
  table: process.env.TABLE ?? 'sessions',
  secret: process.env.SESSION_SECRET ?? 'change me: at least thirty-two characters long',
});
