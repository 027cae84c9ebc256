/**
 * Flash messages: set in one request, shown by the next, once. A read takes
 * the value out of the stored session with a write conditional on the version
 * that request loaded, before the value is shown, so of two requests that
 * loaded the same flash in parallel only one shows it (remix-run/remix#5647).
 * The shared core first, then each adapter's API against its real framework.
 */
import { contextOf } from '../src/store/session-store.js';
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { SessionStore } from '../src/store/session-store.js';
import { FLASH_KEY, putFlash, takeFlash } from '../src/core/flash.js';
import { localOptions } from './helpers/dynamo.js';
import { CookieClient } from './helpers/servers.js';
import { FRAMEWORKS, startApp, type LifecycleApp } from './helpers/lifecycle-apps.js';

const stores: SessionStore[] = [];
after(() => Promise.all(stores.map((s) => s.close())));

async function storeWith(extra = {}): Promise<SessionStore> {
  const store = new SessionStore(localOptions(extra));
  stores.push(store);
  await store.ready();
  return store;
}

const calls = (store: SessionStore) => Object.values(store.stats().calls).reduce((a, b) => a + b, 0);

describe('flash, in the core', () => {
  it('two requests that loaded the same flash: exactly one takes it; the one that took it writes nothing more at its end', async () => {
    const store = await storeWith();
    const data = { views: 1 };
    putFlash(data, 'notice', { text: 'saved', level: 'info' });
    await store.set('s1', data);
    const a = (await store.load('s1', { method: 'GET' }))!;
    const b = (await store.load('s1', { method: 'GET' }))!;
    const [va, vb] = await Promise.all([takeFlash(contextOf(store), a.handle, a.data, 'notice'), takeFlash(contextOf(store), b.handle, b.data, 'notice')]);
    assert.deepEqual([va, vb].filter((v) => v !== undefined), [{ text: 'saved', level: 'info' }], `a: ${JSON.stringify(va)}, b: ${JSON.stringify(vb)}`);
    for (const r of [a, b]) assert.equal(FLASH_KEY in r.data, false, 'taken or not, the request no longer holds it');
    const taker = va !== undefined ? a : b;
    const other = va !== undefined ? b : a;
    const before = store.stats().calls.UpdateItem ?? 0;
    assert.equal(await store.commit(taker.handle, 's1', taker.data), 'unchanged');
    assert.equal(store.stats().calls.UpdateItem ?? 0, before, 'the taker ends with no write');
    await store.commit(other.handle, 's1', other.data);
    assert.deepEqual(await store.get('s1'), { views: 1 });
  });

  it('a take that meets another request’s write keeps that write, and still takes the flash once', async () => {
    const store = await storeWith();
    const data: Record<string, unknown> = { views: 1 };
    putFlash(data, 'notice', 'hello');
    await store.set('s2', data);
    const reader = (await store.load('s2', { method: 'GET' }))!;
    const writer = (await store.load('s2', { method: 'GET' }))!;
    writer.data.views = 2;
    await store.commit(writer.handle, 's2', writer.data);
    assert.equal(await takeFlash(contextOf(store), reader.handle, reader.data, 'notice'), 'hello');
    await store.commit(reader.handle, 's2', reader.data);
    assert.deepEqual(await store.get('s2'), { views: 2 });
  });

  it('a flash set and read back in one request costs no DynamoDB call; an absent one neither', async () => {
    const store = await storeWith();
    await store.set('s3', { views: 1 });
    const r = (await store.load('s3', { method: 'GET' }))!;
    const before = calls(store);
    assert.equal(await takeFlash(contextOf(store), r.handle, r.data, 'missing'), undefined);
    putFlash(r.data, 'notice', 'same request');
    assert.equal(await takeFlash(contextOf(store), r.handle, r.data, 'notice'), 'same request');
    assert.equal(calls(store), before);
    assert.equal(FLASH_KEY in r.data, false);
  });

  it('a flash of a session destroyed meanwhile is not shown', async () => {
    const store = await storeWith();
    const data = {};
    putFlash(data, 'notice', 'bye');
    await store.set('s4', data);
    const r = (await store.load('s4', { method: 'GET' }))!;
    await store.destroy('s4');
    assert.equal(await takeFlash(contextOf(store), r.handle, r.data, 'notice'), undefined);
    assert.equal(await store.get('s4'), null);
  });

  it('what a take costs: one UpdateItem of the whole item, 1 WCU as DynamoDB reports it for a session under 1 KB; the request that loses the race makes one UpdateItem whose condition fails (AWS bills it as a write of the stored item, 1 WCU here) and no read', async () => {
    const store = await storeWith({ returnConsumedCapacity: true });
    const data = { user: 'ada', cart: [1, 2, 3] };
    putFlash(data, 'notice', 'Your order was placed');
    await store.set('s5', data);
    const a = (await store.load('s5', { method: 'GET' }))!;
    const b = (await store.load('s5', { method: 'GET' }))!;
    let units = store.stats().writeCapacityUnits;
    assert.equal(await takeFlash(contextOf(store), a.handle, a.data, 'notice'), 'Your order was placed');
    assert.equal(store.stats().writeCapacityUnits - units, 1);
    const before = { ...store.stats().calls };
    assert.equal(await takeFlash(contextOf(store), b.handle, b.data, 'notice'), undefined);
    const after = store.stats().calls;
    // DynamoDB reports no consumed capacity with a failed condition; its price is AWS's rule (docs/operations.md).
    assert.equal((after.UpdateItem ?? 0) - (before.UpdateItem ?? 0), 1);
    assert.equal((after.GetItem ?? 0) - (before.GetItem ?? 0), 0, 'the failed write returned the item: no read');
  });
});

for (const framework of FRAMEWORKS) {
  describe(`flash, ${framework}`, () => {
    let app: LifecycleApp;
    after(async () => {
      await app?.close();
      await app?.store.close();
    });

    it('set by one request, shown by the next, then gone', async () => {
      app ??= await startApp(framework);
      const client = new CookieClient();
      await client.json(`${app.url}/app/count`);
      await client.json(`${app.url}/app/flash?msg=hello`, { method: 'POST' });
      assert.deepEqual(await client.json(`${app.url}/app/show`), { notice: 'hello' });
      assert.deepEqual(await client.json(`${app.url}/app/show`), { notice: null });
      assert.deepEqual(await client.json(`${app.url}/app/count`), { views: 2 }, 'the rest of the session is intact');
    });

    it('a flash set on a new session (no other data) is shown by the next request', async () => {
      app ??= await startApp(framework);
      const client = new CookieClient();
      await client.json(`${app.url}/app/flash?msg=first`, { method: 'POST' });
      assert.deepEqual(await client.json(`${app.url}/app/show`), { notice: 'first' });
    });

    it('two parallel GETs that both loaded the flash: one shows it, the other does not (5 rounds)', async () => {
      app ??= await startApp(framework);
      const client = new CookieClient();
      await client.json(`${app.url}/app/count`);
      for (let round = 0; round < 5; round++) {
        await client.json(`${app.url}/app/flash?msg=round${round}`, { method: 'POST' });
        // Both requests have loaded the session, flash included, before either reads it.
        const shown = await Promise.all([client.json<{ notice: string | null }>(`${app.url}/app/show?wait=2`), client.json<{ notice: string | null }>(`${app.url}/app/show?wait=2`)]);
        assert.deepEqual(
          shown.map((s) => s.notice).sort(),
          [`round${round}`, null].sort(),
          `round ${round}: ${JSON.stringify(shown)}`,
        );
        assert.deepEqual(await client.json(`${app.url}/app/show`), { notice: null });
      }
    });
  });
}
