/**
 * Cold start, as on AWS Lambda, where every new instance imports the code
 * again: the time to import each entry of the packed package, installed in a
 * fresh folder with its peers, next to the time to import
 * `@aws-sdk/client-dynamodb` alone (the floor: the store cannot start without
 * it), in the same run. Every figure is a fresh process; the targets take
 * turns in each round so that the machine's other tenants weigh on all of
 * them alike; each is the median of the rounds.
 *
 * Beside the import's wall time, the CPU time it took (what the machine's
 * other tenants move least), and the import plus the first DynamoDB call (a
 * GetItem answered at once by a loopback server, bench/fixed-answer-server.ts),
 * with credentials from the environment as Lambda gives them: what was moved
 * out of the import (the HTTP handler's undici, the credential providers, the
 * Region loader) is paid there, once.
 *
 * Then the same for bundles, as a function ships: docs/deployment.md's Lambda
 * app bundled by its own esbuild command, next to a bundle of the SDK client
 * alone made by the same command, each loaded with require() from a folder
 * with nothing else in it.
 *
 * `npm run bench:coldstart` (`-- --rounds 15`).
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { installPacked } from '../test/helpers/packed.js';
import { bundle, lambdaRecipe } from '../test/helpers/lambda-recipe.js';
import { median } from './report.js';

const run = promisify(execFile);
const roundsArg = process.argv.indexOf('--rounds');
const ROUNDS = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : 7;

interface Target {
  name: string;
  /** What is imported: a package specifier, or a bundle's path (loaded with require(), as Lambda loads a .js handler). */
  specifier: string;
  /** Imported first, in the timed span: the peer an entry imports, for a row that shows the entry's own floor. */
  alsoImports?: string[];
  /** The first DynamoDB call, made with what was imported; absent where there is none to time alone. */
  firstCall?: string;
}

const options = `{ table: 'coldstart', endpoint: process.env.ENDPOINT, skipTableCheck: true }`;
const clientCall = `await new m.DynamoDBClient({ endpoint: process.env.ENDPOINT }).send(new m.GetItemCommand({ TableName: 'coldstart', Key: { sessionId: { S: 'a' } } }))`;
/** The packed package, installed: the first target of the group is its floor. */
const PACKED: Target[] = [
  { name: '@aws-sdk/client-dynamodb alone', specifier: '@aws-sdk/client-dynamodb', firstCall: clientCall },
  { name: 'dynamodb-session-manager', specifier: 'dynamodb-session-manager', firstCall: `await new m.SessionStore(${options}).get('a')` },
  // The floor of the entries that import their peer: the client and that peer, nothing of this package.
  { name: '@aws-sdk/client-dynamodb + express-session', specifier: '@aws-sdk/client-dynamodb', alsoImports: ['express-session'] },
  { name: '@aws-sdk/client-dynamodb + koa-session', specifier: '@aws-sdk/client-dynamodb', alsoImports: ['koa-session'] },
  { name: '…/express', specifier: 'dynamodb-session-manager/express', firstCall: `await new m.DynamoDBStore(${options}).get('a')` },
  { name: '…/fastify', specifier: 'dynamodb-session-manager/fastify', firstCall: `await new m.FastifySessionStore(${options}).store.get('a')` },
  { name: '…/koa', specifier: 'dynamodb-session-manager/koa', firstCall: `await new m.KoaSessionStore(${options}).store.get('a')` },
  { name: '…/hono', specifier: 'dynamodb-session-manager/hono', firstCall: `await new m.ServerSessions({ ...${options}, secret: 'a cold-start secret of at least 32 characters' }).store.get('a')` },
  { name: '…/http', specifier: 'dynamodb-session-manager/http', firstCall: `await new m.ServerSessions({ ...${options}, secret: 'a cold-start secret of at least 32 characters' }).store.get('a')` },
];

interface Sample {
  importMs: number;
  /** CPU time the process spent on the import: less moved than the wall time by the machine's other tenants. */
  importCpuMs: number;
  firstCallMs: number;
}

/** One fresh process in `dir`: ms to import the target, then ms to the end of its first DynamoDB call. */
async function measure(dir: string, target: Target, endpoint: string): Promise<Sample> {
  const load = target.specifier.startsWith('/')
    ? `(await import('node:module')).createRequire(import.meta.url)(${JSON.stringify(target.specifier)})`
    : `await import(${JSON.stringify(target.specifier)})`;
  const peers = (target.alsoImports ?? []).map((peer) => `await import(${JSON.stringify(peer)});`).join(' ');
  const code = `
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    ${peers}
    const m = ${load};
    const t1 = performance.now();
    const c1 = process.cpuUsage(c0);
    ${target.firstCall ?? ''};
    const t2 = performance.now();
    console.log(JSON.stringify({ importMs: t1 - t0, importCpuMs: (c1.user + c1.system) / 1000, firstCallMs: t2 - t0 }));
    process.exit(0);`;
  const env = {
    ...process.env,
    ENDPOINT: endpoint,
    // As Lambda sets them: the default credentials chain finds them in the environment.
    AWS_ACCESS_KEY_ID: 'AKIDCOLDSTART',
    AWS_SECRET_ACCESS_KEY: 'coldstart',
    AWS_SESSION_TOKEN: 'coldstart',
    AWS_REGION: 'us-east-1',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    // What the Lambda app reads at its top level (it only constructs its store there).
    DSM_TABLE: 'coldstart',
    AWS_ENDPOINT_URL_DYNAMODB: endpoint,
  };
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', code], { cwd: dir, env });
  return JSON.parse(stdout) as Sample;
}

/** An API Gateway HTTP API (payload 2.0) request for `/`, without a cookie. */
function apiGatewayEvent(): object {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: '/',
    rawQueryString: '',
    headers: { host: 'abc123.execute-api.us-east-1.amazonaws.com', 'x-forwarded-proto': 'https' },
    requestContext: { http: { method: 'GET', path: '/', protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'bench' }, requestId: 'bench', routeKey: '$default', stage: '$default', timeEpoch: 0 },
    isBase64Encoded: false,
  };
}

const PEERS = ['express-session', 'fastify', '@fastify/session', '@fastify/cookie', 'koa', 'koa-session', 'hono'];
console.log(`packing the working tree and installing it with ${PEERS.join(', ')}…`);
const install = await installPacked(PEERS);

// The bundles, each alone in a folder of its own: nothing to resolve beside it, as on Lambda.
const recipe = lambdaRecipe();
const shipDir = mkdtempSync(join(tmpdir(), 'dsm-bundles-'));
function ship(name: string, source?: string): { path: string; kb: number } {
  const built = bundle(install.dir, recipe, source);
  mkdirSync(join(shipDir, name));
  const path = join(shipDir, name, 'index.js');
  copyFileSync(built, path);
  return { path, kb: statSync(path).size / 1024 };
}
// The floor of a function: the client made at the top level, as the app makes its store there.
const clientBundle = ship(
  'client',
  `import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
export const client = new DynamoDBClient({ endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB });
export { GetItemCommand };
`,
);
const appBundle = ship('app');
const BUNDLED: Target[] = [
  {
    name: `@aws-sdk/client-dynamodb alone, its client made at load (${clientBundle.kb.toFixed(0)} KB); first call: a GetItem`,
    specifier: clientBundle.path,
    firstCall: `await m.client.send(new m.GetItemCommand({ TableName: 'coldstart', Key: { sessionId: { S: 'a' } } }))`,
  },
  {
    name: `docs/deployment.md's Lambda app: Hono + …/hono, its store made at load (${appBundle.kb.toFixed(0)} KB); first call: an invocation that saves a new session (one UpdateItem)`,
    specifier: appBundle.path,
    firstCall: `await m.handler(${JSON.stringify(apiGatewayEvent())}, {})`,
  },
];

const server = spawn(process.execPath, ['--import', 'tsx', new URL('./fixed-answer-server.ts', import.meta.url).pathname], {
  env: { ...process.env, ANSWER: '{}' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
try {
  const [line] = (await once(server.stdout!, 'data')) as [Buffer];
  const endpoint = `http://127.0.0.1:${Number(String(line).trim())}`;
  const all = [...PACKED, ...BUNDLED];
  const results = new Map<Target, Sample[]>(all.map((t) => [t, []]));
  for (let round = 0; round < ROUNDS; round++) {
    // Each round starts with another target, so that none is always first after a pause.
    const order = all.map((_, i) => all[(i + round) % all.length]!);
    for (const target of order) results.get(target)!.push(await measure(target.specifier.startsWith('/') ? shipDir : install.dir, target, endpoint));
    process.stdout.write(`round ${round + 1}/${ROUNDS}\r`);
  }
  const ms = (v: number) => v.toFixed(0);
  const x = (v: number) => `${v.toFixed(2)}×`;
  const table = (title: string, targets: Target[]) => {
    const floor = targets[0]!;
    const of = (target: Target, key: keyof Sample) => median(results.get(target)!.map((r) => r[key]));
    console.log(`\n| ${title} | import, ms | × client alone | import, CPU ms | × client alone | import + first call, ms | × client alone |`);
    console.log('|---|---:|---:|---:|---:|---:|---:|');
    for (const target of targets) {
      const cells = (key: keyof Sample) => `${ms(of(target, key))} | ${x(of(target, key) / of(floor, key))}`;
      console.log(`| ${target.name} | ${cells('importMs')} | ${cells('importCpuMs')} | ${target.firstCall ? cells('firstCallMs') : '– | –'} |`);
    }
  };
  console.log(`\nCold start, median of ${ROUNDS} fresh processes each, Node ${process.version}, side by side in one run:`);
  table('packed package, import of', PACKED);
  table('esbuild bundle, require of', BUNDLED);
} finally {
  server.kill('SIGTERM');
  install.remove();
  rmSync(shipDir, { recursive: true, force: true });
}
