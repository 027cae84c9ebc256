/**
 * dynamoSession()'s options are checked as the store's are: express-session
 * ignores names it does not know, so a misplaced `lock` used to be dropped
 * without a word.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DynamoDBStore, dynamoSession } from '../src/adapters/express.js';
import { ConfigError } from '../src/errors.js';
import { localOptions } from './helpers/dynamo.js';
import { SECRET } from './helpers/web-app.js';

const store = new DynamoDBStore(localOptions());
after(() => store.store.close());

const configError = (pattern: RegExp) => (err: unknown) => {
  assert.ok(err instanceof ConfigError, String(err));
  assert.equal(err.code, 'DSM_CONFIG');
  assert.match(err.message, pattern);
  return true;
};

describe('dynamoSession() options', () => {
  it('lock, given to dynamoSession() instead of the store, is a ConfigError saying where it goes', () => {
    assert.throws(
      () => dynamoSession({ store, secret: SECRET, lock: '/cart' } as never),
      configError(/option "lock" of dynamoSession\(\) belongs to the store: new DynamoDBStore\(\{ lock, … \}\)/),
    );
  });

  it("the store's options (table, locking) are ConfigErrors too, naming the store", () => {
    for (const name of ['table', 'locking', 'endpoint']) {
      assert.throws(() => dynamoSession({ store, secret: SECRET, [name]: 'x' } as never), configError(new RegExp(`option "${name}" of dynamoSession\\(\\) belongs to the store`)));
    }
  });

  it('an unknown option is a ConfigError naming it, with the likely meant one', () => {
    assert.throws(() => dynamoSession({ store, Secret: SECRET } as never), configError(/unknown option "Secret" of dynamoSession\(\): did you mean "secret"\?/));
    assert.throws(() => dynamoSession({ store, secret: SECRET, resaveUninitialized: false } as never), configError(/unknown option "resaveUninitialized".*express-session's options: cookie, genid/));
  });

  it('a store that is not a DynamoDBStore, or none, is a ConfigError', () => {
    assert.throws(() => dynamoSession({ secret: SECRET } as never), configError(/option "store" of dynamoSession\(\) must be a DynamoDBStore/));
    assert.throws(() => dynamoSession({ store: {}, secret: SECRET } as never), configError(/must be a DynamoDBStore/));
    assert.throws(() => dynamoSession(null as never), configError(/takes an options object/));
  });

  it("every option of express-session's own passes", () => {
    const middleware = dynamoSession({
      store,
      secret: ['the new secret, of at least 32 characters', 'the old secret, of at least 32 characters'],
      name: 'app.sid',
      cookie: { maxAge: 60_000, httpOnly: true, sameSite: 'lax', secure: 'auto', path: '/' },
      genid: () => 'an-id-of-the-apps-own',
      proxy: true,
      resave: false,
      rolling: true,
      saveUninitialized: false,
      unset: 'destroy',
    });
    assert.equal(typeof middleware, 'function');
    // `key`, express-session's older name for `name`, which its own test suite still uses: the cookie is named by it.
    const keyed = new DynamoDBStore({ store: store.store });
    dynamoSession({ store: keyed, secret: SECRET, key: 'legacy.sid' } as Parameters<typeof dynamoSession>[0]);
    assert.equal(keyed.cookieName, 'legacy.sid');
  });
});
