/**
 * A newcomer's first hour, replayed: a fresh clone of the committed HEAD,
 * `npm install` (from npm's cache first), no build, no AWS variables; DynamoDB
 * Local started by the one command the README gives (`npm run dynamodb-local`),
 * then every example started by the command line written in its own header,
 * and a browser-like client counting its views. Every process is started in a
 * process group of its own and stopped by it, as Ctrl-C would.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../src/embedded/dynamodb-local.js';
import { CookieClient } from './helpers/servers.js';
import { isAlive, newcomerEnv, portFree, startGroup, type Started } from './helpers/process-group.js';

const run = promisify(execFile);
const ROOT = resolve('.');
const EXAMPLE_DIRS = readdirSync(join(ROOT, 'examples'), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();
/** Examples a Node process runs (`npx tsx examples/<name>/app.ts`). */
const EXAMPLES = EXAMPLE_DIRS.filter((name) => existsSync(join(ROOT, 'examples', name, 'app.ts')));
/**
 * Examples a framework's own dev server runs (`npx next dev examples/next`),
 * with the file that carries their "// Run: …" header, and the flags a
 * newcomer would add for another port.
 */
const DEV_SERVER_EXAMPLES: Record<string, { header: string; portFlags(port: number): string }> = {
  next: { header: 'lib/session.js', portFlags: (port) => `-p ${port} -H 127.0.0.1` },
  sveltekit: { header: 'src/hooks.server.ts', portFlags: (port) => `--port ${port} --strictPort --host 127.0.0.1` },
};

/** GETs `url` until the dev server answers (its first compile may take a while); the answer's status and text. */
async function firstAnswer(url: string, app: Started, timeoutMs: number): Promise<{ status: number; text: string }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (app.child.exitCode !== null) throw new Error(`the dev server exited with ${app.child.exitCode}:\n${app.output()}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())) });
      return { status: response.status, text: await response.text() };
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`no answer from ${url} within ${timeoutMs} ms (${(err as Error).message}):\n${app.output()}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

describe('a fresh clone, as a newcomer runs it', { timeout: 900_000 }, () => {
  let work: string;
  let clone: string;
  let install: { stdout: string; stderr: string };
  let dynamodb: Started | undefined;
  let endpoint: string;
  let javaPid: number;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'dsm-fresh-clone-'));
    clone = join(work, 'dynamodb-session-manager');
    await run('git', ['clone', '--quiet', '--no-hardlinks', ROOT, clone], { env: newcomerEnv() });
    install = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: clone, env: newcomerEnv(), timeout: 600_000, maxBuffer: 16 * 1024 * 1024 });
  });

  after(async () => {
    await dynamodb?.stop('SIGINT');
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('npm install needs no build step and warns of no engine (EBADENGINE)', () => {
    assert.doesNotMatch(install.stdout + install.stderr, /EBADENGINE/);
    assert.throws(() => readdirSync(join(clone, 'dist')), { code: 'ENOENT' }, 'the clone has no dist/: nothing is built');
  });

  it('npm run dynamodb-local starts DynamoDB Local on port 8000 (another free one if 8000 is taken here)', async () => {
    // The README's port, unless something on this machine holds it: then its --port flag.
    const port = (await portFree(8000)) ? 8000 : await freePort();
    dynamodb = startGroup(`npm run dynamodb-local${port === 8000 ? '' : ` -- --port ${port}`}`, clone, newcomerEnv());
    const ready = await dynamodb.waitFor(/java pid (\d+)\) answers at (http:\/\/127\.0\.0\.1:(\d+))/, 120_000);
    javaPid = Number(ready[1]);
    endpoint = ready[2]!;
    assert.equal(Number(ready[3]), port);
  });

  for (const name of EXAMPLES) {
    it(`examples/${name}/app.ts runs by the command in its header and counts each client's views`, async () => {
      assert.ok(endpoint, 'DynamoDB Local runs');
      const source = readFileSync(join(clone, 'examples', name, 'app.ts'), 'utf8');
      const header = /^\/\/ Run: (.+)$/m.exec(source);
      assert.ok(header, `examples/${name}/app.ts says how to run it in a "// Run: …" line`);
      assert.match(header[1]!, /^AWS_ENDPOINT_URL_DYNAMODB=http:\/\/127\.0\.0\.1:8000 npx tsx examples\/[\w-]+\/app\.ts$/);
      const command = header[1]!.replace('http://127.0.0.1:8000', endpoint);
      // PORT=0: the app's own port, free whatever else runs on this machine (the examples read PORT, default 3000).
      const app = startGroup(command, clone, newcomerEnv({ PORT: '0' }));
      try {
        const port = Number((await app.waitFor(/listening (\d+)/, 120_000))[1]);
        const url = `http://127.0.0.1:${port}/`;
        const client = new CookieClient();
        assert.deepEqual(await client.json(url), { views: 1 });
        assert.deepEqual(await client.json(url), { views: 2 });
        assert.deepEqual(await client.json(url), { views: 3 });
        assert.deepEqual(await new CookieClient().json(url), { views: 1 }, 'another client has a session of its own');
        const output = app.output();
        assert.doesNotMatch(output, /NodeVersionSupportWarning|CredentialsError|ERR_MODULE_NOT_FOUND|\n\s+at /, output);
        assert.equal(output.match(/placeholder keys/g)?.length, 1, `the store says once that it signs with placeholder keys:\n${output}`);
      } finally {
        await app.stop('SIGINT');
      }
    });
  }

  it('every example is run here: by tsx, or by its framework\'s dev server', () => {
    assert.deepEqual(EXAMPLE_DIRS.filter((name) => !EXAMPLES.includes(name) && !(name in DEV_SERVER_EXAMPLES)), []);
  });

  for (const [name, { header: file, portFlags }] of Object.entries(DEV_SERVER_EXAMPLES)) {
    it(`examples/${name} runs by the command in its header (${file}), its sources with no build, and counts each client's views`, async () => {
      assert.ok(endpoint, 'DynamoDB Local runs');
      const header = /^\/\/ Run: (.+)$/m.exec(readFileSync(join(clone, 'examples', name, file), 'utf8'));
      assert.ok(header, `examples/${name}/${file} says how to run it in a "// Run: …" line`);
      // Next.js takes the app's folder; SvelteKit reads svelte.config.js from the working directory.
      assert.match(header[1]!, /^(?:AWS_ENDPOINT_URL_DYNAMODB=http:\/\/127\.0\.0\.1:8000 npx next dev --webpack examples\/next|cd examples\/sveltekit && AWS_ENDPOINT_URL_DYNAMODB=http:\/\/127\.0\.0\.1:8000 npx vite dev)$/);
      const port = await freePort();
      const command = `${header[1]!.replace('http://127.0.0.1:8000', endpoint)} ${portFlags(port)}`;
      const app = startGroup(command, clone, newcomerEnv({ NEXT_TELEMETRY_DISABLED: '1' }));
      try {
        const base = `http://127.0.0.1:${port}`;
        const client = new CookieClient();
        const first = await firstAnswer(`${base}/views`, app, 180_000);
        assert.equal(first.status, 200, first.text);
        assert.deepEqual(JSON.parse(first.text), { views: 1 }, 'a client without a cookie starts at 1');
        // firstAnswer had no cookie jar: this client's own session starts now.
        assert.deepEqual(await client.json(`${base}/views`), { views: 1 });
        assert.deepEqual(await client.json(`${base}/views`), { views: 2 });
        assert.deepEqual(await client.json(`${base}/views`), { views: 3 });
        assert.deepEqual(await new CookieClient().json(`${base}/views`), { views: 1 }, 'another client has a session of its own');
        // The page (a Server Component, a SvelteKit load) reads the same session.
        const page = await client.request(`${base}/`);
        assert.equal(page.status, 200);
        assert.match(await page.text(), /id="views">(?:<!--[^>]*-->)*3</);
        const output = app.output();
        assert.doesNotMatch(output, /NodeVersionSupportWarning|CredentialsError|ERR_MODULE_NOT_FOUND|Module not found/, output);
        assert.match(output, /placeholder keys/, 'the store says it signs with placeholder keys');
        assert.throws(() => readdirSync(join(clone, 'dist')), { code: 'ENOENT' }, 'the example built nothing of the package: its sources ran');
      } finally {
        await app.stop('SIGINT');
      }
    });
  }

  it('Ctrl-C stops npm run dynamodb-local and its java process', async () => {
    assert.ok(dynamodb && javaPid, 'DynamoDB Local was started');
    dynamodb.signal('SIGINT');
    await dynamodb.exited;
    // The kernel may take a moment to reap it; nothing of the group is killed for it meanwhile.
    for (let i = 0; i < 150 && isAlive(javaPid); i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(isAlive(javaPid), false, `java pid ${javaPid} outlived Ctrl-C:\n${dynamodb.output()}`);
    assert.match(dynamodb.output(), /SIGINT: stopping java pid/);
    await dynamodb.stop();
    dynamodb = undefined;
  });
});
