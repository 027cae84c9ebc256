/**
 * The session cookie: express-session's format, verified in constant time,
 * rotated secrets, and hostile values refused without a DynamoDB call.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import signature from 'cookie-signature';
import fc from 'fast-check';
import Fastify from 'fastify';
import Koa from 'koa';
import { readCookie, secretList, signSessionId, unsignSessionId } from '../src/adapters/signed-cookie.js';
import { ConfigError } from '../src/errors.js';
import { DynamoDBStore, dynamoSession as expressSession } from '../src/adapters/express.js';
import { fastifyDynamoSession } from '../src/adapters/fastify.js';
import { dynamoSession as koaSession } from '../src/adapters/koa.js';
import { dynamoSession as honoSession } from '../src/adapters/hono.js';
import { sessionHandler } from '../src/adapters/http.js';
import { webSessions } from '../src/adapters/web.js';
import { nextSessions } from '../src/adapters/next.js';
import { createDynamoSessionStorage } from '../src/adapters/react-router.js';
import { dynamoSessionHandle } from '../src/adapters/sveltekit.js';
import { localOptions } from './helpers/dynamo.js';
import { SECRET } from './helpers/web-app.js';

const secrets = ['the current secret, of at least 32 characters', 'the previous secret, of at least 32 characters'];

it("signs as express-session does, so each reads the other's cookie", () => {
  const value = signSessionId('abc123', secrets);
  assert.equal(value, 's:' + signature.sign('abc123', secrets[0]!));
  assert.equal(unsignSessionId(value, secrets), 'abc123');
  assert.equal(unsignSessionId('s:' + signature.sign('xyz', secrets[0]!), secrets), 'xyz');
});

it('a cookie signed with a previous secret still opens its session (rotation)', () => {
  const old = 's:' + signature.sign('old-id', secrets[1]!);
  assert.equal(unsignSessionId(old, secrets), 'old-id');
  assert.equal(unsignSessionId(old, [secrets[0]!]), undefined);
});

it('forged, unsigned, truncated and garbage cookies open no session', () => {
  const good = signSessionId('victim', secrets);
  for (const bad of [
    'victim',
    's:victim',
    's:victim.',
    good.slice(0, -1),
    good.replace('victim', 'victin'),
    's:' + signature.sign('victim', 'guessed secret'),
    's:' + 'a'.repeat(100_000) + '.sig',
    '',
    's:.',
  ]) {
    assert.equal(unsignSessionId(bad, secrets), undefined, JSON.stringify(bad.slice(0, 40)));
  }
});

it('no random cookie value is ever accepted (property)', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (value) => {
      assert.equal(unsignSessionId(value, secrets), undefined);
      assert.equal(unsignSessionId('s:' + value, secrets), undefined);
    }),
    { numRuns: 2000 },
  );
});

it('unicode ids round-trip; a malformed Cookie header reads as no cookie', () => {
  const id = 'séance-✓-会话';
  assert.equal(unsignSessionId(signSessionId(id, secrets), secrets), id);
  assert.equal(readCookie('sid=%E0%A4%A', 'sid'), '%E0%A4%A');
  assert.equal(readCookie('garbage;;==;', 'sid'), undefined);
  assert.equal(readCookie(undefined, 'sid'), undefined);
});

it('a missing or empty secret is a ConfigError that says what to give', () => {
  assert.throws(() => secretList(undefined), (err: unknown) => err instanceof ConfigError && /option "secret" is required/.test((err as Error).message));
  assert.throws(() => secretList([SECRET, '']), ConfigError);
  assert.deepEqual(secretList(SECRET), [SECRET]);
});

const SHORT = 'thirty-one characters, too few.';

/** What each entry does with its options; an entry that needs a store of its own closes it. */
const entries: Array<[string, (secret: string | string[]) => Promise<unknown> | unknown]> = [
  ['express dynamoSession()', (secret) => {
    const store = new DynamoDBStore(localOptions());
    try {
      return expressSession({ store, secret });
    } finally {
      void store.store.close();
    }
  }],
  ['fastifyDynamoSession', async (secret) => {
    const app = Fastify();
    try {
      await app.register(fastifyDynamoSession, { ...localOptions(), secret });
      await app.ready();
    } finally {
      await app.close().catch(() => {});
    }
  }],
  ['koa dynamoSession({ secret })', (secret) => koaSession(new Koa(), { ...localOptions(), secret })],
  ['koa dynamoSession() with app.keys', (secret) => {
    const app = new Koa();
    app.keys = Array.isArray(secret) ? secret : [secret];
    return koaSession(app, localOptions());
  }],
  ['hono dynamoSession()', (secret) => honoSession({ ...localOptions(), secret })],
  ['http sessionHandler()', (secret) => sessionHandler({ ...localOptions(), secret })],
  ['webSessions()', (secret) => webSessions({ ...localOptions(), secret })],
  ['nextSessions()', (secret) => nextSessions({ ...localOptions(), secret })],
  ['createDynamoSessionStorage() (React Router)', (secret) => createDynamoSessionStorage({ ...localOptions(), secret })],
  ['dynamoSessionHandle() (SvelteKit)', (secret) => dynamoSessionHandle({ ...localOptions(), secret })],
];

for (const [entry, make] of entries) {
  it(`${entry} refuses a signing secret shorter than 32 characters, alone or in a rotation list, naming the fix and never the secret`, async () => {
    for (const secret of [SHORT, [SECRET, SHORT]]) {
      await assert.rejects(
        async () => make(secret),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError, `${entry}: ${String(err)}`);
          assert.equal(err.code, 'DSM_CONFIG');
          assert.match(err.message, /shorter than 32 characters.*openssl rand -base64 32/);
          assert.ok(!err.message.includes(SHORT), 'the secret is not in the message');
          return true;
        },
      );
    }
  });
}
