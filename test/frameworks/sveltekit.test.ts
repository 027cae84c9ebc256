/**
 * dynamodb-session-manager/sveltekit in a real SvelteKit app
 * (test/fixtures/sveltekit-app): built by `vite build` with adapter-node into
 * a temp folder, where the package is installed as npm would (its
 * package.json and dist/ in the app's node_modules, so that Vite and
 * adapter-node keep it external as they do in an application), and served by
 * `node build` processes sharing one table. Endpoints, a page load and its
 * form action, ids in a header, an outage and a save that fails.
 * `npm run test:frameworks` runs it (it builds first: the copy is of dist/).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ENDPOINT, uniqueTable } from '../helpers/dynamo.js';
import { CookieClient, startChildServer, type ChildServer } from '../helpers/servers.js';
import { freePort } from '../../src/embedded/dynamodb-local.js';
import { concurrentStatuses } from '../helpers/scenarios.js';
import { startFaultProxy } from '../helpers/fault-proxy.js';

const ROOT = resolve('.');
const FIXTURE = join(ROOT, 'test/fixtures/sveltekit-app');
const VITE = join(ROOT, 'node_modules/vite/bin/vite.js');
const env = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };

type Peek = { session: { views?: number; n?: number; keys?: Record<string, number>; user?: string; actions?: number }; user: string | null };

let work: string;
let app: string;
let build: ChildProcess | undefined;

/** The built app (`node build`) on a free loopback port, up once it says it listens; stopped by its pid. */
async function startKit(extra: Record<string, string>): Promise<ChildServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // ORIGIN: adapter-node takes requests for https unless told; SvelteKit's CSRF check compares a form's Origin with it.
  return startChildServer(['build'], { cwd: app, env: { ...env, HOST: '127.0.0.1', PORT: String(port), ORIGIN: url, ...extra }, url, ready: /Listening on/, what: 'node build' });
}

before(async () => {
  const dist = join(ROOT, 'dist/adapters/sveltekit.js');
  assert.ok(existsSync(dist), `${dist} is missing: npm run build first (npm run test:frameworks does)`);
  work = mkdtempSync(join(tmpdir(), 'dsm-sveltekit-'));
  app = join(work, 'app');
  cpSync(FIXTURE, app, { recursive: true });
  // The project's packages one level up, as hoisted ones: Vite, SvelteKit, Svelte, and the package's own dependencies.
  symlinkSync(join(ROOT, 'node_modules'), join(work, 'node_modules'), 'dir');
  const installed = join(app, 'node_modules', 'dynamodb-session-manager');
  mkdirSync(installed, { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(installed, 'package.json'));
  cpSync(join(ROOT, 'dist'), join(installed, 'dist'), { recursive: true });
  build = spawn(process.execPath, [VITE, 'build'], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  build.stdout!.on('data', (c) => (out += c));
  build.stderr!.on('data', (c) => (out += c));
  const [code] = (await once(build, 'exit')) as [number];
  assert.equal(code, 0, `vite build failed:\n${out}`);
}, { timeout: 300_000 });

after(() => {
  // A build the time-out gave up on is stopped, by its pid.
  if (build && build.exitCode === null && build.signalCode === null) process.kill(build.pid!, 'SIGKILL');
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('sveltekit: two `node build` processes, one table', { concurrency: false }, () => {
  const table = uniqueTable('sveltekit');
  let a: ChildServer;
  let b: ChildServer;
  let header: ChildServer;
  before(async () => {
    [a, b, header] = await Promise.all([
      startKit({ TABLE: table, AWS_ENDPOINT_URL_DYNAMODB: ENDPOINT }),
      startKit({ TABLE: table, AWS_ENDPOINT_URL_DYNAMODB: ENDPOINT }),
      startKit({ TABLE: table, AWS_ENDPOINT_URL_DYNAMODB: ENDPOINT, SESSION_HEADER: 'X-Session-Id' }),
    ]);
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop(), header?.stop()]);
  });

  it('an endpoint keeps the session across requests and processes, in a signed cookie and its version cookie', async () => {
    const client = new CookieClient();
    for (let i = 1; i <= 4; i++) assert.deepEqual(await client.json(`${(i % 2 ? a : b).url}/api/count`), { views: i }, a.output().slice(-2000));
    assert.match(client.cookie('sid') ?? '', /^s%3A/);
    assert.match(client.cookie('sid.v') ?? '', /^\d+\./);
  });

  it("a page's load reads event.locals.session; its form action (a POST) changes it, and the page rendered after the action shows the change", async () => {
    // A browser's form post: its Origin (SvelteKit's CSRF check) and an HTML answer.
    const client = new CookieClient();
    await client.json(`${a.url}/api/count`);
    assert.match(await (await client.request(`${b.url}/`)).text(), /<p id="views">1<\/p>/);
    for (const [server, expected] of [[a, 1], [b, 2]] as const) {
      const res = await client.request(`${server.url}/`, { method: 'POST', body: new FormData(), headers: { origin: server.url, accept: 'text/html' } });
      const page = await res.text();
      assert.equal(res.status, 200, `${res.status}\n${page}\n${server.output().slice(-2000)}`);
      assert.match(page, new RegExp(`<p id="actions">${expected}</p>`));
    }
    assert.equal((await client.json<Peek>(`${a.url}/api/peek`)).session.actions, 2);
  });

  it("a load's fetch of the app's own endpoint (a sub-request) sees the session of the request it serves, changes not yet saved included", async () => {
    const client = new CookieClient();
    await client.json(`${a.url}/api/count`);
    const res = await client.request(`${a.url}/note`, { method: 'POST', body: new FormData(), headers: { origin: a.url, accept: 'text/html' } });
    const page = await res.text();
    assert.equal(res.status, 200, page);
    assert.match(page, /<p id="note">set by the action<\/p>/);
    assert.equal((await client.json<Peek & { session: { note?: string } }>(`${b.url}/api/peek`)).session.note, 'set by the action');
  });

  it('40 concurrent POST increments over the two processes lose none (a POST takes the lease)', async () => {
    const client = new CookieClient();
    await client.json(`${a.url}/api/count`);
    const statuses = await concurrentStatuses(client, [a.url, b.url], '/api/incr', 40);
    assert.deepEqual(statuses.filter((s) => s !== 200), []);
    assert.equal((await client.json<Peek>(`${a.url}/api/peek`)).session.n, 40);
  });

  it('concurrent GETs take no lease: their writes of different keys are merged, none lost', async () => {
    const client = new CookieClient();
    await client.json(`${a.url}/api/count`);
    await Promise.all(Array.from({ length: 20 }, (_, i) => client.json(`${(i % 2 ? a : b).url}/api/incr?key=k${i}`)));
    assert.equal(Object.keys((await client.json<Peek>(`${b.url}/api/peek`)).session.keys ?? {}).length, 20);
  });

  it('login gives a new id and a hook after the session handle (sequence) sees the user; a logout sticks on both processes', async () => {
    const client = new CookieClient();
    await client.json(`${a.url}/api/count`);
    const anonymous = client.cookie('sid');
    assert.deepEqual(await client.json(`${b.url}/api/login?user=ada`, { method: 'POST' }), { user: 'ada' });
    const saved = client.cookie('sid')!;
    assert.notEqual(saved, anonymous);
    const seen = await client.json<Peek>(`${a.url}/api/peek`);
    assert.equal(seen.session.user, 'ada');
    assert.equal(seen.user, 'ada');
    await client.json(`${a.url}/api/logout`, { method: 'POST' });
    assert.equal(client.cookie('sid'), undefined);
    for (const server of [a, b]) {
      const replay = (await (await fetch(`${server.url}/api/peek`, { headers: { cookie: `sid=${saved}` } })).json()) as Peek;
      assert.deepEqual(replay, { session: {}, user: null });
    }
  });

  it('with header: "X-Session-Id" the signed id travels in that header, no cookie is set, and a logout empties it', async () => {
    const first = await fetch(`${header.url}/api/count`);
    assert.deepEqual(await first.json(), { views: 1 });
    assert.deepEqual(first.headers.getSetCookie(), []);
    const id = first.headers.get('x-session-id');
    assert.match(id ?? '', /^s:/);
    const second = await fetch(`${header.url}/api/count`, { headers: { 'x-session-id': id! } });
    assert.deepEqual(await second.json(), { views: 2 });
    assert.equal(second.headers.get('x-session-id'), null, 'the id did not change: no header');
    const logout = await fetch(`${header.url}/api/logout`, { method: 'POST', headers: { 'x-session-id': id! } });
    await logout.text();
    assert.equal(logout.headers.get('x-session-id'), '');
    assert.deepEqual(await (await fetch(`${header.url}/api/peek`, { headers: { 'x-session-id': id! } })).json(), { session: {}, user: null });
  });
});

describe('sveltekit: DynamoDB away', { concurrency: false }, () => {
  it('unreachable → 503 with Retry-After; back → the session is intact; a save that fails turns the answer into the 503, and nothing is kept', async () => {
    const proxy = await startFaultProxy(Number(new URL(ENDPOINT).port));
    const server = await startKit({ TABLE: uniqueTable('sveltekit_out'), AWS_ENDPOINT_URL_DYNAMODB: proxy.endpoint });
    try {
      const client = new CookieClient();
      await client.json(`${server.url}/api/count`);
      proxy.down();
      const during = await client.request(`${server.url}/api/count`);
      await during.text();
      assert.equal(during.status, 503, server.output().slice(-2000));
      assert.match(during.headers.get('retry-after') ?? '', /^\d+$/);
      proxy.up();
      assert.equal((await client.json<Peek>(`${server.url}/api/peek`)).session.views, 1);

      // The save runs before the response leaves: one that fails replaces the endpoint's answer.
      proxy.inject('throttle', 3, 'UpdateItem');
      const failed = await client.request(`${server.url}/api/count`);
      assert.equal(failed.status, 503);
      assert.match(failed.headers.get('retry-after') ?? '', /^\d+$/);
      assert.doesNotMatch(await failed.text(), /views/);
      assert.equal((await client.json<Peek>(`${server.url}/api/peek`)).session.views, 1, 'the change answered 503 was not kept');
    } finally {
      proxy.up();
      await server.stop();
      await proxy.close();
    }
  });
});
