/**
 * The session stores a site migrates from, as the real packages: connect-dynamodb and
 * dynamodb-store on DynamoDB Local, connect-redis on Debian's redis-server, started here on a
 * free loopback port and stopped by its pid. Each comes with an Express app of 100 users
 * signed in (a POST each, data in the session), as a site would be on deploy day.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { once } from 'node:events';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express, { type RequestHandler } from 'express';
import session from 'express-session';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import connectDynamoDB from 'connect-dynamodb';
import { RedisStore } from 'connect-redis';
import { createClient } from 'redis';
import { ENDPOINT, uniqueTable } from './dynamo.js';
import { CookieClient } from './servers.js';

export const SECRET = 'migration test secret, at least thirty-two characters';
export const COOKIE = { maxAge: 3_600_000 };
export const USERS = 100;

export type SourceName = 'connect-dynamodb' | 'dynamodb-store' | 'redis';

export interface OldStore {
  readonly name: SourceName;
  readonly store: session.Store;
  /** Where the import command reads it: `--source-table`, or `--url`. */
  readonly table?: string;
  readonly url?: string;
  /** Stops the server behind it (Redis), for the outage test. */
  stopServer?(): Promise<void>;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const probe = createNetServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  await new Promise((r) => probe.close(r));
  return port;
}

export interface RedisServer {
  readonly url: string;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

/** Debian's redis-server on a free port, no persistence. Missing, it fails the test with what to install. */
export async function startRedis(): Promise<RedisServer> {
  if (spawnSync('redis-server', ['--version']).error) {
    throw new Error('redis-server is not installed: the connect-redis tests need it (apt-get install -y redis-server, as .ci/run does)');
  }
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start within 10 s:\n${out}`)), 10_000);
    child.stdout!.on('data', (c: Buffer) => {
      out += c;
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited (${code}):\n${out}`));
    });
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    process.kill(child.pid!, 'SIGTERM');
    await exited;
  };
  return { url: `redis://127.0.0.1:${port}`, child, stop };
}

export async function openOldStore(name: SourceName): Promise<OldStore> {
  if (name === 'connect-dynamodb') {
    const table = uniqueTable('connect_dynamodb');
    const client = new DynamoDBClient({ endpoint: ENDPOINT, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    const Store = connectDynamoDB(session);
    const store = new Store({ table, client }) as unknown as session.Store;
    // Its first call creates the table.
    await oldGet(store, 'warm-up');
    return { name, store, table, close: async () => client.destroy() };
  }
  if (name === 'dynamodb-store') {
    const table = uniqueTable('dynamodb_store');
    let created!: (err?: unknown) => void;
    const ready = new Promise<void>((resolve, reject) => (created = (err) => (err ? reject(err) : resolve())));
    // Plain CommonJS without types, on the AWS SDK v2.
    const DynamoDBStoreV2 = createRequire(import.meta.url)('dynamodb-store') as new (options: object, cb: (err?: unknown) => void) => session.Store;
    const store = new DynamoDBStoreV2(
      { table: { name: table }, dynamoConfig: { endpoint: ENDPOINT, region: 'us-east-1', accessKeyId: 'local', secretAccessKey: 'local' } },
      created,
    ) as unknown as session.Store;
    await ready;
    return { name, store, table, close: async () => undefined };
  }
  const server = await startRedis();
  // An outage fails at once instead of queueing commands until Redis is back (docs/migration.md).
  const client = createClient({ url: server.url, disableOfflineQueue: true, socket: { reconnectStrategy: () => 200 } });
  client.on('error', () => undefined);
  await client.connect();
  const store = new RedisStore({ client }) as unknown as session.Store;
  return {
    name,
    store,
    url: server.url,
    stopServer: () => server.stop(),
    close: async () => {
      await client.destroy();
      await server.stop();
    },
  };
}

declare module 'express-session' {
  interface SessionData {
    user?: { name: string; cart: string[] };
  }
}

/** The site's app, on any express-session middleware: sign in (POST), who am I, log out. */
export function siteApp(sessions: RequestHandler): express.Express {
  const app = express();
  app.use(express.urlencoded({ extended: false }));
  app.use(sessions);
  app.post('/login', (req, res) => {
    const name = String(req.body.name);
    req.session.user = { name, cart: [`book of ${name}`, 'pen'] };
    res.json({ user: req.session.user });
  });
  app.get('/me', (req, res) => {
    res.json({ user: req.session.user ?? null });
  });
  app.post('/logout', (req, res, next) => {
    req.session.destroy((err) => (err ? next(err) : res.json({ user: null })));
  });
  return app;
}

export async function listen(app: express.Express): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

export interface SignedIn {
  readonly name: string;
  readonly client: CookieClient;
  /** The signed cookie as the old app set it. */
  readonly cookie: string;
  readonly id: string;
}

/** `count` users sign in on the old app, ten at a time. */
export async function signIn(url: string, count = USERS, prefix = 'user'): Promise<SignedIn[]> {
  const users: SignedIn[] = [];
  for (let start = 0; start < count; start += 10) {
    const batch = Array.from({ length: Math.min(10, count - start) }, async (_, i) => {
      const name = `${prefix}${start + i}`;
      const client = new CookieClient();
      const res = await client.request(`${url}/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `name=${name}` });
      if (res.status !== 200) throw new Error(`sign-in of ${name} on the old app: ${res.status} ${await res.text()}`);
      const cookie = client.cookie('connect.sid')!;
      const value = decodeURIComponent(cookie);
      return { name, client, cookie, id: value.slice(2, value.lastIndexOf('.')) };
    });
    users.push(...(await Promise.all(batch)));
  }
  return users;
}

export function expectedUser(name: string): { name: string; cart: string[] } {
  return { name, cart: [`book of ${name}`, 'pen'] };
}

/** The old store's session, by raw id (null when gone). */
export function oldGet(store: session.Store, id: string): Promise<session.SessionData | null> {
  return new Promise((resolve, reject) => store.get(id, (err, sess) => (err ? reject(err) : resolve(sess ?? null))));
}
