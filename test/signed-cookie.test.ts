/**
 * The session cookie: express-session's format, verified in constant time,
 * rotated secrets, and hostile values refused without a DynamoDB call.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import signature from 'cookie-signature';
import fc from 'fast-check';
import { readCookie, secretList, signSessionId, unsignSessionId } from '../src/adapters/signed-cookie.js';
import { ConfigError } from '../src/errors.js';

const secrets = ['current secret', 'previous secret'];

it("signs as express-session does, so each reads the other's cookie", () => {
  const value = signSessionId('abc123', secrets);
  assert.equal(value, 's:' + signature.sign('abc123', 'current secret'));
  assert.equal(unsignSessionId(value, secrets), 'abc123');
  assert.equal(unsignSessionId('s:' + signature.sign('xyz', 'current secret'), secrets), 'xyz');
});

it('a cookie signed with a previous secret still opens its session (rotation)', () => {
  const old = 's:' + signature.sign('old-id', 'previous secret');
  assert.equal(unsignSessionId(old, secrets), 'old-id');
  assert.equal(unsignSessionId(old, ['current secret']), undefined);
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
  assert.throws(() => secretList(['ok', '']), ConfigError);
  assert.deepEqual(secretList('s'), ['s']);
});
