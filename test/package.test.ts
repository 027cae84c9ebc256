import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENDPOINT, uniqueTable } from './helpers/dynamo.js';
import { installPacked, packedTarball, type PackedInstall } from './helpers/packed.js';

// `npm test` builds first; these check what a user installing the package gets.
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { exports: Record<string, { import: { types: string; default: string }; require: { types: string; default: string } }> };
const built = Object.entries(pkg.exports).filter(([, v]) => typeof v === 'object' && existsSync(v.import.default));

describe('the built package', () => {
  it('exports "." and "./express" as ESM and CommonJS with type declarations', () => {
    const names = built.map(([k]) => k);
    assert.ok(names.includes('.') && names.includes('./express'), names.join(','));
    for (const [, target] of built) {
      for (const file of [target.import.default, target.import.types, target.require.default, target.require.types]) assert.ok(existsSync(file), file);
    }
  });

  for (const [subpath] of built) {
    const specifier = `dynamodb-session-manager${subpath === '.' ? '' : subpath.slice(1)}`;
    it(`${specifier} loads with require() and import`, () => {
      const env = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
      const cjs = execFileSync(process.execPath, ['-e', `console.log(Object.keys(require(${JSON.stringify(specifier)})).sort().join(','))`], { env }).toString().trim();
      const esm = execFileSync(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(specifier)}); console.log(Object.keys(m).sort().join(','))`], { env }).toString().trim();
      assert.ok(cjs.length > 0);
      assert.equal(cjs, esm);
      if (subpath === '.') assert.ok(cjs.split(',').includes('SessionStore'));
      if (subpath === './express') assert.ok(cjs.split(',').includes('DynamoDBStore'));
    });
  }
});

/** Runs `code` in a fresh node process in `dir`, as ESM or CommonJS; its stdout, trimmed, or the error that ended it. */
function runIn(dir: string, code: string, type: 'module' | 'commonjs' = 'module'): { ok: true; out: string } | { ok: false; err: string } {
  const env = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
  try {
    return { ok: true, out: execFileSync(process.execPath, [`--input-type=${type}`, '-e', code], { cwd: dir, env, stdio: 'pipe' }).toString().trim() };
  } catch (err) {
    return { ok: false, err: String((err as { stderr?: Buffer }).stderr ?? err) };
  }
}

/** Imports (or requires) `specifier` in `dir`: its export names, or why it failed. */
function load(dir: string, specifier: string, type: 'module' | 'commonjs') {
  const code =
    type === 'module'
      ? `const m = await import(${JSON.stringify(specifier)}); console.log(Object.keys(m).sort().join(','))`
      : `console.log(Object.keys(require(${JSON.stringify(specifier)})).sort().join(','))`;
  return runIn(dir, code, type);
}

const local = (table: string) => JSON.stringify({ endpoint: ENDPOINT, region: 'us-east-1', accessKeyId: 'local', secretAccessKey: 'local', table });

describe('the packed package, installed with only the peers the README names for each entry', { timeout: 600_000 }, () => {
  // What a user's `npm install dynamodb-session-manager <peers>` gives: npm installs no optional peer by itself.
  const folders = {
    none: [] as string[],
    express: ['express-session'],
    koa: ['koa', 'koa-session'],
    fastify: ['fastify'],
    fastifySession: ['fastify', '@fastify/session', '@fastify/cookie'],
    telemetry: ['express-session', '@opentelemetry/api', '@opentelemetry/sdk-trace-base', '@opentelemetry/context-async-hooks'],
  };
  const dirs = {} as Record<keyof typeof folders, PackedInstall>;
  before(async () => {
    await packedTarball();
    // Two at a time: the machine has two cores.
    const names = Object.keys(folders) as Array<keyof typeof folders>;
    for (let i = 0; i < names.length; i += 2) {
      await Promise.all(names.slice(i, i + 2).map(async (name) => (dirs[name] = await installPacked(folders[name]))));
    }
  });
  after(() => {
    for (const install of Object.values(dirs)) install.remove();
  });

  it('every entry of package.json "exports" is loaded by a test here and listed in the README\'s table of peers', () => {
    const tested = ['', '/http', '/hono', '/fastify', '/web', '/react-router', '/next', '/sveltekit', '/streams', '/testing', '/express', '/koa'];
    const readme = readFileSync('README.md', 'utf8');
    const table = readme.slice(readme.indexOf('### What each entry needs installed'), readme.indexOf('## Guarantees'));
    for (const subpath of Object.keys(pkg.exports).filter((k) => k !== './package.json').map((k) => k.slice(1))) {
      assert.ok(tested.includes(subpath), `entry ".${subpath}" is not tried in a packed install`);
      assert.ok(table.includes(subpath === '' ? '| `dynamodb-session-manager` |' : `| \`…${subpath}\` |`), `entry ".${subpath}" has no row in the README's table of peers`);
    }
  });

  it('installs no native code: no .node binary anywhere in node_modules, so every bundler and platform takes it as it is', () => {
    const binaries = (function walk(dir: string): string[] {
      return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.node') ? [join(dir, e.name)] : []));
    })(join(dirs.none.dir, 'node_modules'));
    assert.deepEqual(binaries, []);
  });

  it('the folder without peers has none: a peer cannot be found there, and "/express" fails naming express-session', () => {
    const peer = runIn(dirs.none.dir, `import('@fastify/session').then(() => console.log('found'), (e) => console.log(e.code))`);
    assert.deepEqual(peer, { ok: true, out: 'ERR_MODULE_NOT_FOUND' });
    const express = load(dirs.none.dir, 'dynamodb-session-manager/express', 'module');
    assert.equal(express.ok, false);
    assert.match((express as { err: string }).err, /express-session/);
  });

  for (const subpath of ['', '/http', '/hono', '/fastify', '/web', '/react-router', '/next', '/sveltekit', '/streams', '/testing']) {
    const specifier = `dynamodb-session-manager${subpath}`;
    it(`${specifier} loads by import and by require with no peer installed`, () => {
      const esm = load(dirs.none.dir, specifier, 'module');
      const cjs = load(dirs.none.dir, specifier, 'commonjs');
      assert.ok(esm.ok, (esm as { err: string }).err);
      assert.ok(cjs.ok, (cjs as { err: string }).err);
      assert.equal(esm.out, cjs.out);
    });
  }

  it('dynamodb-session-manager/express loads with express-session alone, and its store keeps a session in DynamoDB Local', () => {
    const dir = dirs.express.dir;
    for (const type of ['module', 'commonjs'] as const) {
      const loaded = load(dir, 'dynamodb-session-manager/express', type);
      assert.ok(loaded.ok && loaded.out.split(',').includes('DynamoDBStore'), JSON.stringify(loaded));
    }
    const kept = runIn(
      dir,
      `import { DynamoDBStore } from 'dynamodb-session-manager/express';
       const store = new DynamoDBStore(${local(uniqueTable('packed_express'))});
       await store.ready();
       await store.set('a-session-id', { cookie: { originalMaxAge: 60000 }, views: 3 });
       console.log(JSON.stringify((await store.get('a-session-id')).views));
       await store.store.close();`,
    );
    assert.deepEqual(kept, { ok: true, out: '3' });
  });

  // A store's whole life (ready, set, get, close), then which OpenTelemetry modules the process resolved:
  // by import, through a resolve hook that reports them; by require, from require.cache.
  const telemetryModules = (table: string, type: 'module' | 'commonjs'): string =>
    type === 'module'
      ? `import { register } from 'node:module';
         import { MessageChannel } from 'node:worker_threads';
         const { port1, port2 } = new MessageChannel();
         const seen = new Set();
         port1.on('message', (url) => seen.add(url.slice(url.lastIndexOf('node_modules/') + 13).split('/').slice(0, 2).join('/')));
         const hook = 'let port; export function initialize(data) { port = data.port; } export async function resolve(s, c, next) { const r = await next(s, c); if (r.url.includes("opentelemetry")) port.postMessage(r.url); return r; }';
         register('data:text/javascript,' + encodeURIComponent(hook), { data: { port: port2 }, transferList: [port2] });
         const { DynamoDBStore } = await import('dynamodb-session-manager/express');
         const store = new DynamoDBStore(${local(table)});
         await store.ready();
         await store.set('a-session-id', { cookie: { originalMaxAge: 60000 }, views: 3 });
         await store.get('a-session-id');
         await store.store.close();
         await new Promise((r) => setTimeout(r, 100));
         port1.close();
         console.log(JSON.stringify([...seen].sort()));`
      : `const { DynamoDBStore } = require('dynamodb-session-manager/express');
         (async () => {
           const store = new DynamoDBStore(${local(table)});
           await store.ready();
           await store.set('a-session-id', { cookie: { originalMaxAge: 60000 }, views: 3 });
           await store.get('a-session-id');
           await store.store.close();
           const seen = new Set(Object.keys(require.cache).filter((p) => p.includes('opentelemetry')).map((p) => p.slice(p.lastIndexOf('node_modules/') + 13).split('/').slice(0, 2).join('/')));
           console.log(JSON.stringify([...seen].sort()));
         })();`;

  it('without @opentelemetry/api installed, a store loads no telemetry module, by import or by require', () => {
    for (const type of ['module', 'commonjs'] as const) {
      assert.deepEqual(runIn(dirs.express.dir, telemetryModules(uniqueTable('packed_no_otel'), type), type), { ok: true, out: '[]' }, type);
    }
  });

  it('with @opentelemetry/api installed, the built store (ESM and CommonJS) loads it, and its spans reach a registered provider', () => {
    for (const type of ['module', 'commonjs'] as const) {
      assert.deepEqual(runIn(dirs.telemetry.dir, telemetryModules(uniqueTable('packed_otel'), type), type), { ok: true, out: '["@opentelemetry/api"]' }, type);
    }
    const traced = runIn(
      dirs.telemetry.dir,
      `const { context, trace } = require('@opentelemetry/api');
       const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
       const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base');
       const exporter = new InMemorySpanExporter();
       context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
       trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
       const { SessionStore } = require('dynamodb-session-manager');
       (async () => {
         const store = new SessionStore(${local(uniqueTable('packed_otel_spans'))});
         await store.ready();
         await store.set('a-session-id', { views: 1 });
         await store.get('a-session-id');
         await store.close();
         console.log(exporter.getFinishedSpans().map((s) => s.name).join(','));
       })();`,
      'commonjs',
    );
    assert.deepEqual(traced, { ok: true, out: 'session.save,session.load' });
  });

  it('getSession of dynamodb-session-manager/next without next installed fails with a MissingPeerError naming it', () => {
    const result = runIn(
      dirs.none.dir,
      `const { nextSessions } = await import('dynamodb-session-manager/next');
       const { getSession, sessions } = nextSessions({ ...${local('unused')}, secret: 'a secret of at least thirty-two characters' });
       await getSession().then(() => console.log('loaded'), (e) => console.log(JSON.stringify({ name: e.name, code: e.code, packageName: e.packageName })));
       await sessions.store.close();`,
    );
    assert.deepEqual(result, { ok: true, out: JSON.stringify({ name: 'MissingPeerError', code: 'DSM_MISSING_PEER', packageName: 'next' }) });
  });

  it('dynamodb-session-manager/koa loads with koa and koa-session', () => {
    for (const type of ['module', 'commonjs'] as const) {
      const loaded = load(dirs.koa.dir, 'dynamodb-session-manager/koa', type);
      assert.ok(loaded.ok && loaded.out.split(',').includes('KoaSessionStore'), JSON.stringify(loaded));
    }
  });

  it('fastifyDynamoSession without @fastify/session installed fails to register with a MissingPeerError naming it', () => {
    for (const type of ['module', 'commonjs'] as const) {
      const code = `
        const Fastify = ${type === 'module' ? "(await import('fastify')).default" : "require('fastify')"};
        const { fastifyDynamoSession } = ${type === 'module' ? "await import('dynamodb-session-manager/fastify')" : "require('dynamodb-session-manager/fastify')"};
        const app = Fastify();
        app.register(fastifyDynamoSession, { ...${local('unused')}, secret: 'a secret of at least thirty-two characters' });
        app.ready().then(() => console.log('registered'), (e) => console.log(JSON.stringify({ name: e.name, code: e.code, packageName: e.packageName, message: e.message })));`;
      const result = runIn(dirs.fastify.dir, type === 'module' ? code : `(async () => {${code}})()`, type);
      assert.ok(result.ok, (result as { err: string }).err);
      const err = JSON.parse(result.out) as { name: string; code: string; packageName: string; message: string };
      assert.equal(err.name, 'MissingPeerError');
      assert.equal(err.code, 'DSM_MISSING_PEER');
      assert.equal(err.packageName, '@fastify/session');
      assert.match(err.message, /npm install @fastify\/session/);
    }
  });

  it("with fastify, @fastify/session and @fastify/cookie, a FastifySessionStore given to the app's own @fastify/session keeps a session, and so does fastifyDynamoSession", () => {
    const result = runIn(
      dirs.fastifySession.dir,
      `import Fastify from 'fastify';
       import fastifyCookie from '@fastify/cookie';
       import fastifySession from '@fastify/session';
       import { FastifySessionStore, fastifyDynamoSession } from 'dynamodb-session-manager/fastify';
       const secret = 'a secret of at least thirty-two characters';
       async function visits(register) {
         const app = Fastify();
         await register(app);
         app.get('/', async (request) => ({ views: (request.session.views = (request.session.views ?? 0) + 1) }));
         const first = await app.inject('/');
         // As a browser: every cookie set (fastifyDynamoSession's first answer also sets the version cookie).
         const cookie = [first.headers['set-cookie']].flat().map((c) => c.split(';')[0]).join('; ');
         const second = await app.inject({ url: '/', headers: { cookie } });
         await app.close();
         return [first.json().views, second.json().views];
       }
       const own = new FastifySessionStore(${local(uniqueTable('packed_fastify'))});
       await own.store.ready();
       const viaOwn = await visits(async (app) => {
         await app.register(fastifyCookie);
         await app.register(fastifySession, { secret, store: own, cookie: { secure: false } });
       });
       await own.store.close();
       const viaPlugin = await visits(async (app) => {
         await app.register(fastifyDynamoSession, { ...${local(uniqueTable('packed_fastify'))}, secret, cookie: { secure: false } });
         await app.dynamoSessionStore.store.ready();
       });
       console.log(JSON.stringify({ viaOwn, viaPlugin }));`,
    );
    assert.deepEqual(result, { ok: true, out: JSON.stringify({ viaOwn: [1, 2], viaPlugin: [1, 2] }) });
  });
});
