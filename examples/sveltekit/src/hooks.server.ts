// SvelteKit, sessions in DynamoDB: a handle hook puts the session on event.locals.session.
// Run: cd examples/sveltekit && AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000 npx vite dev
// (DynamoDB Local on port 8000 first, in another terminal: npm run dynamodb-local; then open http://localhost:5173/)
import type { ServerInit } from '@sveltejs/kit';
import { dynamoSessionHandle } from 'dynamodb-session-manager/sveltekit';

// On Node 20 the AWS SDK warns that its releases from 2027 on will need Node 22; nothing to act on today.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const sessions = dynamoSessionHandle({
  table: process.env.TABLE ?? 'sessions',
  secret: process.env.SESSION_SECRET ?? 'change me: at least thirty-two characters long',
});

// Creates the table on first run, before the server takes its first request.
export const init: ServerInit = async () => {
  await sessions.sessions.store.ready();
};

export const handle = sessions;
