/**
 * Expiry to the millisecond: the TTL attribute is whole seconds (DynamoDB's
 * TTL needs them), but the expiry the store keeps, reports and checks is the
 * exact one it was given, so the cookie, get(), koa-session's `_expire` and the
 * read-time check agree.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import type session from 'express-session';
import { SessionStore } from '../src/store/session-store.js';
import { DynamoDBStore } from '../src/adapters/express.js';
import { KoaSessionStore } from '../src/adapters/koa.js';
import { ENGINES, localOptions } from './helpers/dynamo.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until the clock is early in a second, so that a few hundred ms later it is still the same second. */
async function earlyInASecond(): Promise<number> {
  while (Date.now() % 1000 > 80) await sleep(5);
  return Date.now();
}

for (const engine of ENGINES) {
  describe(`${engine.name}: expiry to the millisecond`, () => {
    let core: SessionStore;
    before(async () => {
      core = new SessionStore(localOptions({ endpoint: engine.endpoint }));
      await core.ready();
    });
    after(() => core.close());

    it('express-session Store: get() reports the cookie expiry set() was given, to the millisecond', async () => {
      const store = new DynamoDBStore({ store: core });
      const expires = new Date(Date.now() + 3_600_000 + 123);
      await store.set('exact', { cookie: { originalMaxAge: 3_600_000, expires, httpOnly: true, path: '/' }, user: 'ada' } as unknown as session.SessionData);
      const got = (await store.get('exact')) as unknown as { cookie: { expires: Date } };
      assert.equal(new Date(got.cookie.expires).getTime(), expires.getTime());
    });

    it('the TTL attribute stays whole seconds, never before the exact expiry', async () => {
      const expires = Date.now() + 60_000 + 1;
      await core.set('ttl-seconds', { a: 1 }, { expires });
      const item = (await core.client.send(new GetItemCommand({ TableName: core.config.table, Key: { sessionId: { S: 'ttl-seconds' } }, ConsistentRead: true }))).Item!;
      assert.equal(item.expiresAt?.N, String(Math.ceil(expires / 1000)));
    });

    it('a session read a few ms after its exact expiry is gone, though its TTL second has not passed', async () => {
      // The scenario needs the save and the first read done within 800 ms of the start: on a busy
      // machine (or a cold engine) they may not be, and then the attempt says nothing; try again.
      let now = 0;
      for (let attempt = 0; ; attempt++) {
        now = await earlyInASecond();
        await core.set('just-expired', { a: 1 }, { expires: now + 800 });
        const alive = await core.get('just-expired');
        if (Date.now() < now + 800) {
          assert.ok(alive, 'alive before its expiry');
          break;
        }
        assert.ok(attempt < 5, 'the machine never managed a save and a read within 800 ms');
      }
      while (Date.now() <= now + 830) await sleep(5);
      assert.ok(Math.floor(Date.now() / 1000) < Math.ceil((now + 800) / 1000), 'still inside the TTL second');
      assert.equal(await core.get('just-expired'), null);
    });

    it("koa-session store: `_expire` is the exact expiry of the last save", async () => {
      const store = new KoaSessionStore({ store: core });
      const before = Date.now();
      await store.set('koa-exact', { user: 'ada', _maxAge: 86_400_000 }, 86_400_000);
      const after = Date.now();
      const got = await store.get('koa-exact', 86_400_000);
      const expire = got?._expire as number;
      assert.ok(expire >= before + 86_400_000 && expire <= after + 86_400_000, `_expire ${expire} within [${before}, ${after}] + maxAge`);
      assert.notEqual(expire % 1000, 0, 'not rounded to a whole second (1 chance in 1000 of a false alarm)');
    });

    it('an expiry refresh keeps the exact expiry too', async () => {
      await core.set('refresh', { a: 1 }, { expires: Date.now() + 10_000 });
      const loaded = await core.load('refresh');
      const expires = Date.now() + 3_600_000 + 7;
      assert.equal(await core.touch(loaded!.handle, 'refresh', { expires }), 'touched');
      const again = await core.load('refresh');
      assert.equal(again!.handle.expiresAtMs, expires);
    });
  });
}

describe('@fastify/session: a cookie with an absolute expiry and no maxAge', () => {
  it('get() gives back the expiry set() was given, as MemoryStore does, and a request then keeps sending it', async () => {
    const { default: Fastify } = await import('fastify');
    const { default: fastifyCookie } = await import('@fastify/cookie');
    const { default: fastifySession } = await import('@fastify/session');
    const { default: signature } = await import('cookie-signature');
    const { FastifySessionStore } = await import('../src/adapters/fastify.js');
    const secret = 'a secret of at least thirty-two characters';
    const store = new FastifySessionStore(localOptions());
    await store.store.ready();
    const expires = new Date(Date.now() + 7 * 86_400_000);
    const stored = { cookie: { path: '/', httpOnly: true, expires }, n: 1 } as unknown as Parameters<typeof store.set>[1];
    await new Promise<void>((resolve, reject) => store.set('absolute', stored, (err) => (err ? reject(err) : resolve())));
    const got = await new Promise<{ cookie: { expires?: string | Date } } | null>((resolve, reject) =>
      store.get('absolute', (err, s) => (err ? reject(err) : resolve((s ?? null) as never))),
    );
    assert.equal(new Date(got!.cookie.expires!).getTime(), expires.getTime());

    const app = Fastify();
    await app.register(fastifyCookie);
    await app.register(fastifySession, { secret, store: store as never, cookie: { secure: false } });
    app.get('/', async (request) => {
      const n = Number(request.session.get('n' as never) ?? 0) + 1;
      request.session.set('n' as never, n as never);
      return { n };
    });
    await app.ready();
    try {
      const res = await app.inject({ url: '/', headers: { cookie: `sessionId=${encodeURIComponent(signature.sign('absolute', secret))}` } });
      assert.deepEqual(res.json(), { n: 2 });
      const cookie = String(res.headers['set-cookie']);
      assert.match(cookie, new RegExp(`Expires=${expires.toUTCString()}`, 'i'), cookie);
    } finally {
      await app.close();
      await store.store.close();
    }
  });
});
