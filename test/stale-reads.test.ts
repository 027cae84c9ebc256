/**
 * Eventual reads by default, and never a stale session: behind a proxy that
 * answers every eventually consistent GetItem with the item as it was 400 ms
 * earlier (a replica that far behind), a client that carries its version
 * cookie sees its own writes and never goes back in time, in the Express,
 * Hono and Web entries, over several servers. The same client with a forged
 * version cookie does see stale sessions, so the proxy's staleness is real.
 * A revoked session makes no write, and its reads last no longer than the lag.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { SessionStore } from '../src/store/session-store.js';
import { localOptions, uniqueTable, ENDPOINT } from './helpers/dynamo.js';
import { startStaleReadProxy, type StaleReadProxy } from './helpers/stale-read-proxy.js';
import { startApp } from './helpers/lifecycle-apps.js';
import { startWebApp, SECRET } from './helpers/web-app.js';
import { CookieClient } from './helpers/servers.js';

const LAG_MS = 400;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('core: an eventual answer the store would act on is confirmed by a strong read', () => {
  let proxy: StaleReadProxy;
  let store: SessionStore;
  before(async () => {
    proxy = await startStaleReadProxy(ENDPOINT, 3_000);
    store = new SessionStore(localOptions({ endpoint: proxy.endpoint }));
    await store.ready();
  });
  after(async () => {
    await store.close();
    await proxy.close();
  });

  it('a replica that has not seen the session yet (no item) does not end it', async () => {
    const handle = store.newHandle('miss');
    await store.commit(handle, 'miss', { cart: ['book'] });
    const before = store.stats().staleReads;
    // A floor of 0 (a cookie from before any write): only the missing item gives the stale answer away.
    const loaded = await store.load('miss', { minVersion: 0 });
    assert.equal(proxy.counts.staleAnswers, 1, 'the replica answered without the item');
    assert.deepEqual(loaded?.data, { cart: ['book'] });
    assert.equal(store.stats().staleReads - before, 1);
  });

  it('a replica that still holds an expired version does not log the user out', async () => {
    // A replica 2 s behind: at the read it holds the first version, which expired after the second was written.
    proxy.lag(2_000);
    const handle = store.newHandle('expired');
    await store.commit(handle, 'expired', { user: 'ann' }, { expires: Date.now() + 2_000 });
    const floor = handle.storedVersion;
    await sleep(800);
    const loaded = await store.load('expired');
    await store.commit(loaded!.handle, 'expired', { user: 'ann', step: 2 }, { expires: Date.now() + 3_600_000 });
    await sleep(1_700);
    const staleBefore = proxy.counts.staleAnswers;
    // The floor is the first write's: only the expiry gives the stale answer away.
    const again = await store.load('expired', { minVersion: floor });
    assert.equal(proxy.counts.staleAnswers - staleBefore, 1, 'the replica answered with the expired first version');
    assert.deepEqual(again?.data, { user: 'ann', step: 2 });
    proxy.lag(3_000);
  });

  it('a replica behind the client\'s last write does not show an old cart', async () => {
    const handle = store.newHandle('older');
    await store.commit(handle, 'older', { cart: [] });
    const loaded = await store.load('older');
    await store.commit(loaded!.handle, 'older', { cart: ['pen'] });
    const loadedAgain = await store.load('older', { minVersion: loaded!.handle.storedVersion });
    assert.deepEqual(loadedAgain?.data, { cart: ['pen'] });
  });

  it('with consistentRead: true no read is eventual, whatever the floor', async () => {
    const strong = new SessionStore(localOptions({ endpoint: proxy.endpoint, table: store.config.table, consistentRead: true, skipTableCheck: true }));
    try {
      const before = proxy.counts.eventualReads;
      await strong.load('older', { minVersion: 1 });
      assert.equal(proxy.counts.eventualReads - before, 0);
    } finally {
      await strong.close();
    }
  });
});

type Entry = 'express' | 'hono' | 'web';

interface Server {
  url: string;
  close(): Promise<void>;
}

/** One entry's server over the proxy, on a shared table: `write` adds one view, `read` shows the views. */
async function startEntry(entry: Entry, endpoint: string, table: string, extra: Record<string, unknown> = {}): Promise<Server & { write: string; read: string }> {
  const options = { endpoint, table, skipTableCheck: true, ...extra };
  if (entry === 'web') {
    const app = await startWebApp({ ...localOptions(options), secret: SECRET });
    return { url: app.url, close: async () => { await app.close(); await app.web.sessions.store.close(); }, write: '/count', read: '/peek' };
  }
  const app = await startApp(entry, { store: options });
  return { url: app.url, close: async () => { await app.close(); await app.store.close(); }, write: '/app/count', read: '/poll' };
}

function viewsOf(body: Record<string, unknown>): number {
  const views = (body.session as { views?: number } | undefined)?.views ?? body.views;
  return typeof views === 'number' ? views : 0;
}

/**
 * One browser over three servers: a write on one, then three reads on the others, `rounds` times.
 * `forge`: after each response the version cookie is replaced by one claiming version 0.
 */
async function browse(servers: Array<Server & { write: string; read: string }>, rounds: number, forge: boolean) {
  const client = new CookieClient();
  let written = 0;
  let seen = 0;
  const result = { reads: 0, readYourWrites: 0, monotonic: 0 };
  const forgeCookies = () => {
    if (!forge) return;
    for (const name of client.names()) {
      if (!name.endsWith('.v')) continue;
      const value = decodeURIComponent(client.cookie(name)!);
      client.set(name, `0${value.slice(value.indexOf('.'))}`);
    }
  };
  for (let i = 0; i < rounds; i++) {
    const w = servers[i % servers.length]!;
    const views = viewsOf(await client.json(`${w.url}${w.write}`));
    forgeCookies();
    if (!forge) assert.equal(views, written + 1, 'each write builds on the last one this client saw');
    written = Math.max(written, views);
    seen = Math.max(seen, views);
    for (let j = 1; j <= 3; j++) {
      const r = servers[(i + j) % servers.length]!;
      const got = viewsOf(await client.json(`${r.url}${r.read}`));
      forgeCookies();
      result.reads += 1;
      if (got < written) result.readYourWrites += 1;
      if (got < seen) result.monotonic += 1;
      seen = Math.max(seen, got);
    }
  }
  return result;
}

for (const entry of ['express', 'hono', 'web'] as const) {
  describe(`${entry}: default options behind a replica ${LAG_MS} ms behind`, () => {
    let proxy: StaleReadProxy;
    let servers: Array<Server & { write: string; read: string }>;
    const table = uniqueTable(`stale_${entry}`);
    before(async () => {
      const direct = new SessionStore(localOptions({ table }));
      await direct.ready();
      await direct.close();
      proxy = await startStaleReadProxy(ENDPOINT, LAG_MS);
      servers = await Promise.all([0, 1, 2].map(() => startEntry(entry, proxy.endpoint, table)));
    });
    after(async () => {
      for (const s of servers ?? []) await s.close();
      await proxy?.close();
    });

    it('one browser over three servers: 0 read-your-writes and 0 monotonic-read violations, reads eventual', async (t) => {
      const before = { ...proxy.counts };
      const run = await browse(servers, 30, false);
      const eventual = proxy.counts.eventualReads - before.eventualReads;
      const stale = proxy.counts.staleAnswers - before.staleAnswers;
      t.diagnostic(`${entry}: ${run.reads} reads, ${eventual} eventual GetItems, ${stale} stale answers, ${run.readYourWrites} read-your-writes and ${run.monotonic} monotonic violations`);
      assert.equal(run.readYourWrites, 0);
      assert.equal(run.monotonic, 0);
      assert.ok(eventual >= run.reads, `the version cookie makes reads eventual (${eventual} eventual GetItems)`);
      assert.ok(stale > 0, 'the replica did answer stale');
    });

    it('the same browser with a forged version cookie sees stale sessions (the replica is really behind)', async (t) => {
      const run = await browse(servers, 30, true);
      t.diagnostic(`${entry}, forged version cookie: ${run.reads} reads, ${run.readYourWrites} read-your-writes and ${run.monotonic} monotonic violations`);
      assert.ok(run.readYourWrites > 0, 'a forged floor lets stale answers through');
    });
  });
}

/** Every key in the store's table, read strongly. */
async function tableKeys(store: SessionStore): Promise<string[]> {
  const out = await store.client.send(new ScanCommand({ TableName: store.config.table, ConsistentRead: true, ProjectionExpression: 'sessionId' }));
  return (out.Items ?? []).map((i) => i.sessionId!.S!);
}

describe('revocation behind a replica: no write after it, reads for at most the lag', () => {
  /** Logs the session out from a second client holding its cookies; returns ms until the first client's read finds no session, and the ids left in the table. */
  async function revoke(consistentRead: 'auto' | true, lagMs: number) {
    const table = uniqueTable('revoke');
    const direct = new SessionStore(localOptions({ table }));
    await direct.ready();
    const proxy = await startStaleReadProxy(ENDPOINT, lagMs);
    const app = await startWebApp({ ...localOptions({ endpoint: proxy.endpoint, table, skipTableCheck: true, consistentRead }), secret: SECRET });
    try {
      const client = new CookieClient();
      for (let i = 0; i < 3; i++) await client.json(`${app.url}/count`);
      // Long enough for the replica to have the session: what it serves after the revocation is the session, not its absence.
      await sleep(lagMs + 100);
      const other = new CookieClient();
      for (const name of client.names()) other.set(name, client.cookie(name));
      const keys = await tableKeys(direct);
      assert.equal(keys.length, 1);
      await other.json(`${app.url}/logout`, { method: 'POST' });
      const revokedAt = Date.now();
      let windowMs = 0;
      let writesAnswered = 0;
      for (;;) {
        // A write in the window (a safe request, so no lease): loaded from the replica, refused by DynamoDB (the item is gone).
        const write = await client.request(`${app.url}/touch/after`);
        if (write.ok) writesAnswered += 1;
        const body = await client.json<{ session: Record<string, unknown> }>(`${app.url}/peek`);
        if (body.session.views === undefined) break;
        windowMs = Date.now() - revokedAt;
        if (windowMs > lagMs + 5_000) break;
        await sleep(10);
      }
      const left = (await tableKeys(direct)).filter((k) => keys.includes(k)).length;
      return { windowMs, writesAnswered, left };
    } finally {
      await app.close();
      await app.web.sessions.store.close();
      await proxy.close();
      await direct.close();
    }
  }

  it('default options: a revoked session makes no write, and is read for no longer than the replica lag', async (t) => {
    const run = await revoke('auto', LAG_MS);
    t.diagnostic(`revoked session still read for ${run.windowMs} ms behind a ${LAG_MS} ms replica; ${run.writesAnswered} writes answered, ${run.left} items left`);
    assert.equal(run.left, 0, 'every write after the revocation was refused: the revoked item did not come back');
    assert.ok(run.windowMs > 0, 'a replica behind the revocation serves the session for a while');
    assert.ok(run.windowMs <= LAG_MS + 200, `the window (${run.windowMs} ms) is the lag, not more`);
  });

  it('consistentRead: true closes the window', async (t) => {
    const run = await revoke(true, LAG_MS);
    t.diagnostic(`consistentRead: true: revoked session read for ${run.windowMs} ms`);
    assert.equal(run.windowMs, 0);
    assert.equal(run.left, 0);
  });
});
