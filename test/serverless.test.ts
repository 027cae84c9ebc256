/**
 * Serverless: what an AWS Lambda cold start pays for. The packed package is
 * installed in a fresh folder (test/helpers/packed.ts): importing an entry
 * must not load the modules only a DynamoDB call needs (they load at the
 * first call, once); and an app bundled by esbuild into one file, with no
 * node_modules beside it (the package has no native code), keeps its sessions across
 * invocations of its Lambda handler, API Gateway v2 events in, DynamoDB
 * Local behind. Import times are measured by `npm run bench:coldstart`, not here.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { SessionStore } from '../src/store/session-store.js';
import { readHeader } from '../src/codec/format.js';
import { signSessionId } from '../src/adapters/signed-cookie.js';
import { ENDPOINT, localOptions, uniqueTable } from './helpers/dynamo.js';
import { installPacked, type PackedInstall } from './helpers/packed.js';
import { bundle, lambdaRecipe } from './helpers/lambda-recipe.js';
import { realisticSession } from './helpers/session-fixtures.js';

/** Packages that only a DynamoDB call (or a compressed session) needs. */
const LAZY = ['undici', '@aws-sdk/credential-providers', '@smithy/config-resolver', '@smithy/node-config-provider', 'lz4-napi'];

// Every module a process loads: ESM through a loader hook (it runs on a thread of its own), CommonJS from require.cache.
const HOOKS = `export async function load(url, context, next) {
  if (url.includes('/node_modules/')) process.stderr.write('loaded ' + url + '\\n');
  return next(url, context);
}`;
const REGISTER = `import { register, createRequire } from 'node:module';
register(new URL('./hooks.mjs', import.meta.url));
const cache = createRequire(import.meta.url).cache;
process.on('exit', () => { for (const path of Object.keys(cache)) process.stderr.write('loaded ' + path + '\\n'); });`;

/** Runs `code` (ESM) in a fresh process in `dir`: its stdout, and the names of the packages whose modules it loaded. */
function runTracing(dir: string, code: string, env: NodeJS.ProcessEnv = {}): { out: string; packages: Set<string> } {
  const child = spawnSync(process.execPath, ['--import', './register.mjs', '--input-type=module', '-e', code], {
    cwd: dir,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
    encoding: 'utf8',
  });
  if (child.status !== 0) throw new Error(`the child failed (${child.status}): ${child.stderr}`);
  const packages = new Set<string>();
  for (const line of child.stderr.split('\n')) {
    const at = line.lastIndexOf('node_modules/');
    if (!line.startsWith('loaded ') || at < 0) continue;
    const [scope, name] = line.slice(at + 'node_modules/'.length).split('/');
    packages.add(scope!.startsWith('@') ? `${scope}/${name}` : scope!);
  }
  return { out: child.stdout.trim(), packages };
}

describe('serverless: cold start and bundling', { timeout: 600_000 }, () => {
  let install: PackedInstall;
  before(async () => {
    install = await installPacked(['express-session', 'fastify', '@fastify/session', '@fastify/cookie', 'koa', 'koa-session', 'hono']);
    writeFileSync(join(install.dir, 'hooks.mjs'), HOOKS);
    writeFileSync(join(install.dir, 'register.mjs'), REGISTER);
  });
  after(() => install?.remove());

  it('the tracing sees what a process loads: importing @aws-sdk/client-dynamodb and undici shows both', () => {
    const { packages } = runTracing(install.dir, `await import('@aws-sdk/client-dynamodb'); await import('undici');`);
    assert.ok(packages.has('@aws-sdk/client-dynamodb') && packages.has('undici'), [...packages].join(' '));
  });

  // Every entry the package exports, so that a new one is held to it too.
  const entries = Object.keys((JSON.parse(readFileSync('package.json', 'utf8')) as { exports: Record<string, unknown> }).exports)
    .filter((key) => key !== './package.json')
    .map((key) => key.slice(1));
  for (const subpath of entries) {
    const specifier = `dynamodb-session-manager${subpath}`;
    it(`importing ${specifier} loads none of ${LAZY.join(', ')}`, () => {
      const { packages } = runTracing(install.dir, `await import(${JSON.stringify(specifier)});`);
      // The testing entry makes no store (DynamoDB Local, resolved options, context.xml): it needs no SDK client at all.
      if (subpath !== '/testing') assert.ok(packages.has('@aws-sdk/client-dynamodb'), 'the SDK client is loaded at import');
      assert.deepEqual(LAZY.filter((name) => packages.has(name)), []);
    });
  }

  it('the first DynamoDB call loads the HTTP handler, the credential providers and the region loader, and the store works', () => {
    const table = uniqueTable('lazy');
    const { out, packages } = runTracing(
      install.dir,
      `import { SessionStore } from 'dynamodb-session-manager';
       const store = new SessionStore({ table: ${JSON.stringify(table)}, endpoint: ${JSON.stringify(ENDPOINT)} });
       await store.ready();
       await store.set('a-session-id', { views: 1 });
       const [first, second] = await Promise.all([store.get('a-session-id'), store.get('a-session-id')]);
       console.log(JSON.stringify([first.views, second.views]));
       await store.close();`,
      // As Lambda gives them: keys and region in the environment, found by the default chain.
      { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_SESSION_TOKEN: 'local', AWS_REGION: 'us-east-1' },
    );
    assert.equal(out, '[1,1]');
    assert.deepEqual(
      ['undici', '@aws-sdk/credential-providers', '@smithy/config-resolver', '@smithy/node-config-provider'].filter((name) => !packages.has(name)),
      [],
    );
  });

  it('docs/deployment.md\'s Lambda app, bundled by its esbuild command into one file with no node_modules beside it, keeps sessions across invocations and cold starts, and reads and writes LZ4 sessions with no native code', async (t) => {
    // The app and the command are the document's own, so that the recipe cannot rot.
    const built = bundle(install.dir, lambdaRecipe());

    // A function's folder on Lambda: the one file, nothing else.
    const fn = mkdtempSync(join(tmpdir(), 'dsm-lambda-'));
    t.after(() => rmSync(fn, { recursive: true, force: true }));
    copyFileSync(built, join(fn, 'index.js'));
    const bytes = readFileSync(join(fn, 'index.js'));
    t.diagnostic(`bundle: ${(bytes.length / 1024).toFixed(0)} KB, ${(gzipSync(bytes).length / 1024).toFixed(0)} KB gzipped`);

    const table = uniqueTable('lambda');
    const secret = 'a Lambda secret of at least thirty-two characters';
    const seeding = new SessionStore(localOptions({ table }));
    t.after(() => seeding.close());
    await seeding.ready();

    /** One cold start: a fresh process loads index.js as Lambda's Node runtime would and invokes its handler once per cookie given (null: none). */
    const coldStart = (cookies: Array<string | null>): Array<{ statusCode: number; views: number; cookie: string | null }> => {
      const child = spawnSync(process.execPath, ['-e', INVOKE], {
        cwd: fn,
        env: {
          PATH: process.env.PATH,
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          // What Lambda sets, and what the app reads.
          AWS_ACCESS_KEY_ID: 'local',
          AWS_SECRET_ACCESS_KEY: 'local',
          AWS_SESSION_TOKEN: 'local',
          AWS_REGION: 'us-east-1',
          DSM_TABLE: table,
          AWS_ENDPOINT_URL_DYNAMODB: ENDPOINT,
          SESSION_SECRET: secret,
          COOKIES: JSON.stringify(cookies),
        },
        encoding: 'utf8',
      });
      assert.equal(child.status, 0, child.stderr);
      return JSON.parse(child.stdout) as Array<{ statusCode: number; views: number; cookie: string | null }>;
    };

    // Warm invocations of one instance: the second carries the cookie the first set.
    const [first] = coldStart([null]);
    assert.equal(first!.statusCode, 200);
    assert.equal(first!.views, 1);
    assert.ok(first!.cookie?.startsWith('sid='), String(first!.cookie));
    const [again, twice] = coldStart([first!.cookie, first!.cookie]);
    assert.deepEqual([again!.views, twice!.views], [2, 3], 'kept across invocations and a second cold start');

    // A session another server wrote LZ4-compressed.
    const id = 'written-by-a-server-with-lz4';
    const data = { ...realisticSession(2000, 7), cookie: { originalMaxAge: 3_600_000, path: '/', httpOnly: true, sameSite: 'lax' }, views: 41 };
    await seeding.set(id, data, { expires: new Date(Date.now() + 3_600_000) });
    const compression = async () => {
      const item = await seeding.client.send(new GetItemCommand({ TableName: table, Key: { sessionId: { S: id } }, ConsistentRead: true }));
      return readHeader(item.Item!.data!.B!).compression;
    };
    assert.equal(await compression(), 'lz4', 'the seeded session is stored LZ4-compressed');
    const [lz4] = coldStart([`sid=${encodeURIComponent(signSessionId(id, [secret]))}`]);
    assert.equal(lz4!.views, 42, 'the LZ4 session was read whole');
    // No binding anywhere now: the function writes LZ4 itself, in JavaScript.
    assert.equal(await compression(), 'lz4', 'the function wrote it back as LZ4, in JavaScript');
    // The app's keys come back whole; `cookie` is the adapter's own, rewritten from the function's options.
    const appKeys = (session: Record<string, unknown>) => Object.fromEntries(Object.entries(session).filter(([key]) => key !== 'cookie'));
    assert.deepEqual(appKeys((await seeding.get(id))!), appKeys({ ...data, views: 42 }));
  });
});

/**
 * Run in the function's folder: loads index.js as the Lambda runtime does, makes sure nothing
 * of node_modules can be found from there, and invokes the handler once per cookie in COOKIES
 * with an API Gateway HTTP API (payload 2.0) event. Prints each answer's status, views and cookie.
 */
const INVOKE = `
for (const name of ['undici', 'hono', 'lz4-napi', '@aws-sdk/client-dynamodb']) {
  let found = false;
  try { require.resolve(name); found = true; } catch {}
  if (found) throw new Error(name + ' can be found from the function folder: the bundle is not tried alone');
}
const { handler } = require('./index.js');
const event = (cookie) => ({
  version: '2.0',
  routeKey: '$default',
  rawPath: '/',
  rawQueryString: '',
  ...(cookie ? { cookies: [cookie] } : {}),
  headers: { host: 'abc123.execute-api.us-east-1.amazonaws.com', 'user-agent': 'test', 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.7', accept: 'application/json' },
  requestContext: {
    accountId: '123456789012', apiId: 'abc123', domainName: 'abc123.execute-api.us-east-1.amazonaws.com', domainPrefix: 'abc123',
    http: { method: 'GET', path: '/', protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'test' },
    requestId: 'req-' + Math.random().toString(36).slice(2), routeKey: '$default', stage: '$default',
    time: new Date().toUTCString(), timeEpoch: Date.now(),
  },
  isBase64Encoded: false,
});
const context = { awsRequestId: 'local', functionName: 'sessions', functionVersion: '$LATEST', memoryLimitInMB: '512', getRemainingTimeInMillis: () => 30000 };
(async () => {
  const answers = [];
  for (const given of JSON.parse(process.env.COOKIES)) {
    const result = await handler(event(given), context);
    const set = (result.cookies ?? []).find((c) => c.startsWith('sid='));
    answers.push({ statusCode: result.statusCode, views: JSON.parse(result.body).views, cookie: set ? set.split(';')[0] : given });
  }
  console.log(JSON.stringify(answers));
  process.exit(0);
})();
`;
