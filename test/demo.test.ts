/**
 * The demo launcher (`npm start`) without a browser: what it starts, what it
 * stops, and the race it exists to show. Each test starts its own demo.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { showSession } from '../src/store/inspect.js';
import { SessionStore } from '../src/store/session-store.js';
import { ENDPOINT, localOptions, uniqueTable } from './helpers/dynamo.js';
import { CookieClient } from './helpers/servers.js';
import { baseEnv, isAlive, startDemo, waitGone } from './e2e/demo-process.js';

type Session = { pid: number; id: string; visits: number; cart: string[]; user: string | null; race: number };

describe('npm start (demo/start.ts)', () => {
  it('without AWS_ENDPOINT_URL_DYNAMODB starts its own DynamoDB Local (saying that the old DYNAMODB_ENDPOINT is not read), and SIGINT leaves no java process and no worker behind', async () => {
    const demo = await startDemo(baseEnv({ DYNAMODB_ENDPOINT: 'http://127.0.0.1:9' }));
    try {
      assert.ok(demo.javaPid, `the demo names the java pid it started:\n${demo.output()}`);
      assert.ok(isAlive(demo.javaPid!), 'DynamoDB Local runs while the demo does');
      assert.match(demo.output(), /DYNAMODB_ENDPOINT is not read any more: set AWS_ENDPOINT_URL_DYNAMODB/);
      // It cannot be bound to loopback: the start line says what it is exposed to.
      assert.match(demo.output(), /started DynamoDB Local, .*listens on every network interface, port \d+, reachable from other machines/);
      assert.equal(demo.workerPids.length, 3, demo.output());
      const res = await fetch(`${demo.url}/`);
      assert.equal(res.status, 200);
      assert.match(await res.text(), /DynamoDB Local \(embedded/);
    } finally {
      const exit = await demo.stop('SIGINT');
      assert.deepEqual(exit, { code: 0, signal: null }, demo.output());
    }
    assert.ok(await waitGone(demo.javaPid!), `java pid ${demo.javaPid} is still alive after the demo stopped`);
    assert.throws(() => process.kill(demo.javaPid!, 0), { code: 'ESRCH' });
    for (const pid of demo.workerPids) assert.ok(await waitGone(pid), `worker pid ${pid} is still alive`);
  });

  it('with AWS_ENDPOINT_URL_DYNAMODB uses that DynamoDB, starts none, and one session is shared by all three workers', async () => {
    const demo = await startDemo(baseEnv({ AWS_ENDPOINT_URL_DYNAMODB: ENDPOINT, DEMO_TABLE: uniqueTable('demo') }));
    try {
      assert.equal(demo.javaPid, undefined);
      assert.match(demo.output(), new RegExp(`using DynamoDB at ${ENDPOINT.replace(/\./g, '\\.')} from AWS_ENDPOINT_URL_DYNAMODB`));
      const client = new CookieClient();
      assert.equal((await client.request(`${demo.url}/cart/add`, { method: 'POST', body: new URLSearchParams({ item: 'Kettle' }) })).status, 303);
      const pids = new Set<number>();
      for (let i = 1; i <= 9; i++) {
        const html = await (await client.request(`${demo.url}/`)).text();
        pids.add(Number(/data-testid="pid">(\d+)/.exec(html)?.[1]));
        assert.match(html, new RegExp(`data-testid="visits">${i}<`), `visit ${i} is counted whichever worker serves it`);
        assert.match(html, /data-testid="cart-item">Kettle</);
      }
      assert.deepEqual([...pids].sort(), [...demo.workerPids].sort(), 'consecutive requests reach every worker');
    } finally {
      await demo.stop('SIGTERM');
    }
    for (const pid of demo.workerPids) assert.ok(await waitGone(pid), `worker pid ${pid} is still alive`);
  });

  it('50 concurrent increments: with the default options all 50 are kept, "none" loses some (the seed\'s race), "optimistic" with its onConflict keeps all 50', async () => {
    const demo = await startDemo(baseEnv({ AWS_ENDPOINT_URL_DYNAMODB: ENDPOINT, DEMO_TABLE: uniqueTable('demo') }));
    try {
      const client = new CookieClient();
      await client.json(`${demo.url}/api/race/reset`, { method: 'POST' });
      const stored: Record<string, number> = {};
      for (const mode of ['default', 'none', 'optimistic']) {
        await client.json(`${demo.url}/api/race/reset`, { method: 'POST' });
        const answers = await Promise.all(Array.from({ length: 50 }, () => client.request(`${demo.url}/api/race/${mode}/incr`, { method: 'POST' })));
        for (const res of answers) await res.arrayBuffer();
        assert.deepEqual(answers.map((r) => r.status).filter((s) => s !== 200), [], `every ${mode} increment is answered 200`);
        stored[mode] = (await client.json<Session>(`${demo.url}/api/session`)).race;
      }
      assert.equal(stored.default, 50, 'the default options lose nothing');
      assert.ok(stored.none! < 50, `"none" stored ${stored.none} of 50: the race should lose increments`);
      assert.equal(stored.optimistic, 50);
      // The optimistic run lost nothing: its true conflicts must not read as an alarm.
      const admin = await (await client.request(`${demo.url}/admin`)).text();
      const conflicts = Number(/data-testid="conflicts">(\d+)</.exec(admin)?.[1]);
      assert.ok(conflicts > 0, `the optimistic run met true conflicts (${conflicts}): the note below is what is checked`);
      assert.match(admin, /true conflicts: one value changed by two requests at once/);
      assert.match(admin, /data-testid="conflicts-note">Each true conflict was settled by the demo's <code>onConflict<\/code>, which adds up both requests' increments: none was lost\./);
    } finally {
      await demo.stop('SIGINT');
    }
  });

  it('without Java on the PATH falls back to dynalite, says so, and still shares the session', async () => {
    const emptyPath = mkdtempSync(join(tmpdir(), 'no-java-'));
    const demo = await startDemo(baseEnv({ PATH: emptyPath, DEMO_WORKERS: '2' }));
    try {
      assert.equal(demo.javaPid, undefined);
      assert.match(demo.output(), /Java not found.*dynalite/);
      const client = new CookieClient();
      for (let i = 1; i <= 3; i++) assert.match(await (await client.request(`${demo.url}/`)).text(), new RegExp(`data-testid="visits">${i}<`));
    } finally {
      const exit = await demo.stop('SIGINT');
      rmSync(emptyPath, { recursive: true, force: true });
      assert.deepEqual(exit, { code: 0, signal: null }, demo.output());
    }
  });

  it('an unreachable AWS_ENDPOINT_URL_DYNAMODB stops the demo with exit code 1 and a message naming the endpoint', async () => {
    await assert.rejects(
      startDemo(baseEnv({ AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:9', DEMO_TABLE: uniqueTable('demo') })),
      (err: Error) => /exited \(1\)/.test(err.message) && /DSM_STORE_UNAVAILABLE .*http:\/\/127\.0\.0\.1:9/.test(err.message) && !/session requests fail with 503/.test(err.message),
    );
  });

  it('a first visit writes its new session once: version 1, not 2', async () => {
    const table = uniqueTable('demo');
    const demo = await startDemo(baseEnv({ AWS_ENDPOINT_URL_DYNAMODB: ENDPOINT, DEMO_TABLE: table }));
    const store = new SessionStore(localOptions({ table, skipTableCheck: true }));
    try {
      const client = new CookieClient();
      assert.equal((await client.request(`${demo.url}/`)).status, 200);
      const id = /^s%3A([^.]+)\./.exec(client.cookie('demo.sid') ?? '')?.[1];
      assert.ok(id, `a session cookie: ${client.cookie('demo.sid')}`);
      const detail = await showSession(store, id);
      assert.equal(detail?.version, 1, 'one write for a new session');
      assert.equal((detail?.data as { visits?: number } | undefined)?.visits, 1);
    } finally {
      await store.close();
      await demo.stop('SIGTERM');
    }
  });

  it('with its port taken says so once, not once per worker, and exits 1', async () => {
    const taken = createServer();
    taken.listen(0, '127.0.0.1');
    await once(taken, 'listening');
    const port = (taken.address() as AddressInfo).port;
    try {
      await assert.rejects(startDemo(baseEnv({ AWS_ENDPOINT_URL_DYNAMODB: ENDPOINT, DEMO_TABLE: uniqueTable('demo'), PORT: String(port) })), (err: Error) => {
        assert.match(err.message, /exited \(1\)/);
        assert.equal(err.message.match(/is in use/g)?.length, 1, err.message);
        assert.match(err.message, new RegExp(`demo: port ${port} on 127\\.0\\.0\\.1 is in use: set PORT to another port, or PORT=0 for any free one`));
        return true;
      });
    } finally {
      taken.close();
    }
  });

  it('refuses a PORT that is not a port number, saying what to give', async () => {
    await assert.rejects(startDemo(baseEnv({ PORT: 'eighty' })), /PORT must be a TCP port number/);
  });
});
