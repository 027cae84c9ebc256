import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type SessionStoreOptions } from '../src/config/options.js';
import { resolveConfig } from '../src/config/resolve-config.js';
import { SessionStore } from '../src/store/session-store.js';
import { ConfigError } from '../src/errors.js';

describe('configuration', () => {
  it('has the seed defaults: table Tomcat_SessionState, 10 read / 5 write units, createIfNotExist true', () => {
    const c = resolveConfig({});
    assert.equal(c.table, 'Tomcat_SessionState');
    assert.equal(c.readCapacityUnits, 10);
    assert.equal(c.writeCapacityUnits, 5);
    assert.equal(c.createIfNotExist, true);
    assert.equal(c.billingMode, 'PROVISIONED');
    assert.equal(c.consistentRead, 'auto');
    assert.equal(c.ttl, 86_400);
    assert.equal(c.locking, 'auto');
    assert.equal(c.skipTableCheck, false);
  });

  const bad: Array<[string, SessionStoreOptions | Record<string, unknown>, RegExp]> = [
    ['an unknown option, with a hint', { tabel: 'x' }, /unknown option "tabel".*did you mean "table"/],
    ["the AWS SDK's credentials object: what to give instead", { credentials: { accessKeyId: 'a', secretAccessKey: 'b' } }, /unknown option "credentials": give "accessKeyId" and "secretAccessKey".*"client"/],
    ['a capacity of the wrong type', { readCapacityUnits: '10' }, /"readCapacityUnits" must be a positive integer \(got "10"\)/],
    ['a non-positive capacity', { writeCapacityUnits: -1 }, /"writeCapacityUnits" must be a positive integer \(got -1\)/],
    ['a zero capacity', { readCapacityUnits: 0 }, /"readCapacityUnits" must be a positive integer/],
    ['a fractional capacity', { readCapacityUnits: 1.5 }, /"readCapacityUnits" must be a positive integer/],
    ['a non-boolean createIfNotExist', { createIfNotExist: 'yes' }, /"createIfNotExist" must be true or false/],
    ['a consistentRead other than "auto", true or false', { consistentRead: 'eventual' as never }, /"consistentRead" must be "auto", true or false \(got "eventual"\)/],
    ['an unknown billing mode', { billingMode: 'ON_DEMAND' }, /"billingMode" must be one of "PROVISIONED", "PAY_PER_REQUEST"/],
    ['a bad table name', { table: 'a b' }, /"table" must be a DynamoDB table name/],
    ['a bad endpoint', { endpoint: 'localhost:8000' }, /"endpoint" must be an http/],
    ['an access key without its secret', { accessKeyId: 'AKIAEXAMPLE' }, /"secretAccessKey" is missing: give both/],
    ['a secret without its access key', { secretAccessKey: 'shh' }, /"accessKeyId" is missing: give both/],
    ['capacity with on-demand billing', { billingMode: 'PAY_PER_REQUEST', readCapacityUnits: 5 }, /apply to billingMode "PROVISIONED" only/],
    ['a bad locking mode', { locking: 'strict' }, /"locking" must be one of "auto", "optimistic", "pessimistic", "none"/],
    ['a client that is no client', { client: {} }, /"client" must be a DynamoDBClient/],
    ['a ttl of zero', { ttl: 0 }, /"ttl" must be a positive integer/],
  ];
  for (const [label, options, message] of bad) {
    it(`${label} is a ConfigError at construction`, () => {
      assert.throws(
        () => new SessionStore(options as SessionStoreOptions),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError, String(err));
          assert.equal(err.code, 'DSM_CONFIG');
          assert.match(err.message, message);
          return true;
        },
      );
    });
  }

  it('never echoes a secret in a ConfigError', () => {
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    for (const options of [{ secretAccessKey: secret }, { accessKeyId: 42, secretAccessKey: secret }, { accessKeyId: secret, secretAccessKey: 7 }]) {
      try {
        resolveConfig(options as SessionStoreOptions);
        assert.fail('expected a ConfigError');
      } catch (err) {
        assert.ok(err instanceof ConfigError);
        assert.ok(!err.message.includes(secret), err.message);
      }
    }
  });

  it('accepts every documented option', () => {
    const c = resolveConfig({
      table: 'Sessions',
      region: 'eu-west-1',
      endpoint: 'http://127.0.0.1:8000',
      accessKeyId: 'a',
      secretAccessKey: 'b',
      readCapacityUnits: 1,
      writeCapacityUnits: 1,
      createIfNotExist: false,
      billingMode: 'PROVISIONED',
      consistentRead: false,
      ttl: 60,
      touchAfter: 30,
      locking: 'pessimistic',
      lockLeaseMs: 5000,
      maxLockWaitMs: 2000,
      maxSaveAttempts: 3,
      onConflict: () => undefined,
      compression: false,
      compressionThreshold: 10,
      encryptionKeys: [{ id: 'k1', key: Buffer.alloc(32, 1) }],
      hashSessionIds: 'sixteen-chars-or-more',
      deleteCorruptSessions: true,
      reapIntervalMs: 1000,
      userIndex: true,
      maxAttempts: 2,
      requestTimeoutMs: 500,
      skipTableCheck: true,
    });
    assert.equal(c.userIndex, 'userId-index');
    assert.equal(c.locking, 'pessimistic');
  });
});

describe('docs/options.md documents every option', () => {
  it('each option a store accepts has a row in the options table of docs/options.md', async () => {
    const { readFileSync } = await import('node:fs');
    const { OPTION_NAMES } = await import('../src/config/options.js');
    const readme = readFileSync('docs/options.md', 'utf8');
    // A row's first cell names one option or several (`a` / `b`).
    const rows = new Set([...readme.matchAll(/^\| (`[A-Za-z]+`(?: \/ `[A-Za-z]+`)*) \|/gm)].flatMap((m) => m[1]!.split(' / ').map((n) => n.slice(1, -1))));
    const missing = OPTION_NAMES.filter((name) => !rows.has(name));
    assert.deepEqual(missing, [], `options without a row in docs/options.md: ${missing.join(', ')}`);
  });
});

describe('error classes', () => {
  it('every one names itself in its own code, so an app bundled and minified (Next.js, Lambda) still reads which it is', async () => {
    const errors = await import('../src/errors.js');
    const classes = Object.entries(errors).filter(([, v]) => typeof v === 'function') as Array<[string, new (...args: unknown[]) => Error]>;
    assert.ok(classes.length >= 15);
    for (const [exported, Cls] of classes) {
      // What a minifier does to a class: its own name becomes something short.
      const original = Object.getOwnPropertyDescriptor(Cls, 'name')!;
      Object.defineProperty(Cls, 'name', { value: 'fG', configurable: true });
      try {
        const instance = Reflect.construct(Cls, ['a table', 'a message', 1, 1]) as Error;
        assert.equal(instance.name, exported);
      } finally {
        Object.defineProperty(Cls, 'name', original);
      }
    }
  });
});
