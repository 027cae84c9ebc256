// Express + express-session + Passport (passport-local), sessions in DynamoDB.
// Run: AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000 npx tsx examples/passport/app.ts
// (DynamoDB Local on port 8000 first, in another terminal: npm run dynamodb-local)
import express from 'express';
import passport from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import { DynamoDBStore, dynamoSession } from 'dynamodb-session-manager/express';

// On Node 20 the AWS SDK warns that its releases from 2027 on will need Node 22; nothing to act on today.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

interface User {
  id: string;
  name: string;
}
const USERS: Record<string, User & { password: string }> = {
  ada: { id: 'ada', name: 'Ada Lovelace', password: 'analytical' },
  alan: { id: 'alan', name: 'Alan Turing', password: 'enigma' },
};

const store = new DynamoDBStore({
  table: process.env.TABLE ?? 'sessions',
  // Passport keeps the signed-in user's id at req.session.passport.user: the store files each
  // session under it, so a user's sessions can be listed, limited and revoked.
  userId: 'passport.user',
  maxSessionsPerUser: Number(process.env.MAX_SESSIONS_PER_USER ?? 5),
});
await store.ready(); // creates the table on first run (createIfNotExist)

passport.use(
  new LocalStrategy((username, password, done) => {
    const user = USERS[username];
    done(null, user && user.password === password ? { id: user.id, name: user.name } : false);
  }),
);
passport.serializeUser<string>((user, done) => done(null, (user as User).id));
passport.deserializeUser<string>((id, done) => {
  const user = USERS[id];
  done(null, user ? { id: user.id, name: user.name } : false);
});

const app = express();
app.use(express.urlencoded({ extended: false }));
app.use(dynamoSession({ store, secret: process.env.SESSION_SECRET ?? 'change me: at least thirty-two characters long', resave: false, saveUninitialized: false }));
app.use(passport.session());

// Passport regenerates the session id on login (a fixation defence); keepSessionInfo carries over
// what the visitor had before signing in (here, a cart).
app.post('/login', passport.authenticate('local', { keepSessionInfo: true }), (req, res) => {
  res.json({ user: req.user });
});
app.post('/logout', (req, res, next) => {
  req.logout((err) => (err ? next(err) : res.json({ user: null })));
});
app.post('/cart', (req, res) => {
  const session = req.session as typeof req.session & { cart?: string[] };
  session.cart = [...(session.cart ?? []), String(req.body.item)];
  res.json({ cart: session.cart });
});
app.get('/me', (req, res) => {
  res.json({ user: req.user ?? null, cart: (req.session as typeof req.session & { cart?: string[] }).cart ?? [] });
});
app.get('/', (req, res) => {
  const session = req.session as typeof req.session & { views?: number };
  session.views = (session.views ?? 0) + 1;
  res.json({ views: session.views });
});
// "Your devices": the signed-in user's sessions, found by the userId the store keeps.
app.get('/devices', async (req, res) => {
  if (!req.user) return void res.status(401).json({ error: 'sign in first' });
  const { sessions } = await store.store.listUserSessions((req.user as User).id);
  res.json({ sessions: sessions.map((s) => ({ key: s.key, createdAt: s.createdAt })) });
});

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`listening ${(server.address() as { port: number }).port}`);
});
process.on('SIGTERM', () => server.close());
