import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import Fastify from 'fastify';
import Koa from 'koa';
import { SessionStore } from '../src/store/session-store.js';
import { ConfigError } from '../src/errors.js';
import { DynamoDBStore } from '../src/adapters/express.js';
import { fastifyDynamoSession, FastifySessionStore } from '../src/adapters/fastify.js';
import { dynamoSession as koaSession } from '../src/adapters/koa.js';
import { dynamoSession as honoSession } from '../src/adapters/hono.js';
import { sessionHandler } from '../src/adapters/http.js';
import { webSessions } from '../src/adapters/web.js';
import { nextSessions } from '../src/adapters/next.js';
import { dynamoSessionHandle } from '../src/adapters/sveltekit.js';
import { createDynamoSessionStorage } from '../src/adapters/react-router.js';
import { localOptions, uniqueTable } from './helpers/dynamo.js';

const SECRET = 'a-cookie-secret-of-thirty-two-chars!';
const shared = new SessionStore(localOptions({ table: uniqueTable('shared') }));
after(() => shared.close());

/** The ConfigError of a store option given beside `store`: it names each ignored option and the way out. */
const ignoring = (...names: string[]) => (err: unknown) => {
  assert.ok(err instanceof ConfigError, String(err));
  assert.equal(err.code, 'DSM_CONFIG');
  for (const name of names) assert.match(err.message, new RegExp(`"${name}"`));
  assert.match(err.message, /cannot go with "store"/);
  assert.match(err.message, /give them to the shared store \(new SessionStore\(\{ .* \}\)\), or drop "store"/);
  return true;
};

describe('store options given beside a shared store are a ConfigError naming them, not ignored', () => {
  it('Express: new DynamoDBStore({ store, table })', () => {
    assert.throws(() => new DynamoDBStore({ store: shared, table: 'Elsewhere' }), ignoring('table'));
  });

  it('Fastify: the plugin with store and ttl, and FastifySessionStore with store and locking', async () => {
    const app = Fastify();
    void app.register(fastifyDynamoSession, { store: shared, secret: SECRET, ttl: 60 });
    await assert.rejects(async () => void (await app.ready()), ignoring('ttl'));
    await app.close();
    assert.throws(() => new FastifySessionStore({ store: shared, locking: 'none' }), ignoring('locking'));
  });

  it('Koa: dynamoSession(app, { store, ttl, trackDevices }) names both', () => {
    assert.throws(() => koaSession(new Koa(), { store: shared, ttl: 60, trackDevices: true }), ignoring('ttl', 'trackDevices'));
  });

  it('Hono: dynamoSession({ store, table })', () => {
    assert.throws(() => honoSession({ store: shared, secret: SECRET, table: 'Elsewhere' }), ignoring('table'));
  });

  it('Web, node:http, Next.js, SvelteKit and React Router: the store option beside store', () => {
    assert.throws(() => webSessions({ store: shared, secret: SECRET, maxLifetime: 3600 }), ignoring('maxLifetime'));
    assert.throws(() => sessionHandler({ store: shared, secret: SECRET, userId: 'user.id' }), ignoring('userId'));
    assert.throws(() => nextSessions({ store: shared, secret: SECRET, ttl: 60 }), ignoring('ttl'));
    assert.throws(() => dynamoSessionHandle({ store: shared, secret: SECRET, ttl: 60 }), ignoring('ttl'));
    assert.throws(() => createDynamoSessionStorage({ store: shared, secret: SECRET, ttl: 60 }), ignoring('ttl'));
  });

  it('the store alone, or beside options left undefined (an unset environment variable), is the shared store', () => {
    assert.equal(new DynamoDBStore({ store: shared, table: undefined }).store, shared);
    assert.equal(new FastifySessionStore({ store: shared }).store, shared);
    assert.equal(koaSession(new Koa(), { store: shared, ttl: undefined }).store.store, shared);
    assert.equal(honoSession({ store: shared, secret: SECRET, table: undefined }).sessions.store, shared);
    assert.equal(webSessions({ store: shared, secret: SECRET }).sessions.store, shared);
  });
});

describe("a store of one build of the package (CommonJS) shared with another build's entry (ESM)", () => {
  it("the Express entry of the ESM build reaches the CommonJS store's parts: an outage is a StoreUnavailableError, not a TypeError", async () => {
    // npm test builds dist/ before the tests run.
    const cjs = createRequire(import.meta.url)(resolve('dist/index.cjs')) as { SessionStore: typeof SessionStore };
    const esm = (await import(pathToFileURL(resolve('dist/adapters/express.js')).href)) as { DynamoDBStore: typeof DynamoDBStore };
    // Nothing listens on port 9 of the loopback: every call is refused at once.
    const store = new cjs.SessionStore(localOptions({ endpoint: 'http://127.0.0.1:9', skipTableCheck: true, maxAttempts: 1 }));
    try {
      const express = new esm.DynamoDBStore({ store });
      await assert.rejects(express.length(), (err: unknown) => (err as { code?: string }).code === 'DSM_STORE_UNAVAILABLE' || assert.fail(String(err)));
    } finally {
      await store.close();
    }
  });
});
