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
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../src/embedded/dynamodb-local.js';
import { CookieClient } from './helpers/servers.js';

const run = promisify(execFile);
const ROOT = resolve('.');
const EXAMPLES = readdirSync(join(ROOT, 'examples'), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

/**
 * A shell with nothing of this test run in it: no npm_* settings of an outer
 * `npm test`, no AWS credentials, region or SDK switches (a developer's ~/.aws
 * files are kept out too), nothing of the suite's engines.
 */
function newcomerEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(npm_|AWS_|DSM_|DYNAMODB_|NODE_OPTIONS$|TABLE$|PORT$)/i.test(name)),
  ) as NodeJS.ProcessEnv;
  return {
    ...env,
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/.aws/credentials',
    AWS_CONFIG_FILE: '/nonexistent/.aws/config',
    // A guard only: with no credentials anywhere the store does not run the chain that would ask it.
    AWS_EC2_METADATA_DISABLED: 'true',
    ...extra,
  };
}

interface Started {
  readonly child: ChildProcess;
  output(): string;
  /** Resolves with the first match of `pattern` in the output; rejects if the process ends first or time runs out. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray>;
  /** Signals the whole process group (npm, npx, tsx, node, java), as Ctrl-C in a terminal would. */
  signal(signal: NodeJS.Signals): void;
  /** Resolves when the group's leader has exited. */
  readonly exited: Promise<unknown>;
  /** signal(), waits for the leader, then kills whatever of the group outlived it. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

function startGroup(command: string, cwd: string, env: NodeJS.ProcessEnv): Started {
  const child = spawn('/bin/sh', ['-c', command], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (out += c));
  const exited = once(child, 'exit');
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // the group is gone
    }
  };
  return {
    child,
    exited,
    signal: signalGroup,
    output: () => out,
    waitFor(pattern, timeoutMs) {
      return new Promise((resolvePromise, reject) => {
        const timer = setTimeout(() => finish(new Error(`no ${pattern} within ${timeoutMs} ms from \`${command}\`:\n${out}`)), timeoutMs);
        const check = () => {
          const m = pattern.exec(out);
          if (m) finish(undefined, m);
        };
        const onExit = () => finish(new Error(`\`${command}\` exited before printing ${pattern}:\n${out}`));
        const finish = (err?: Error, m?: RegExpExecArray) => {
          clearTimeout(timer);
          child.stdout!.off('data', check);
          child.stderr!.off('data', check);
          child.off('exit', onExit);
          if (err) reject(err);
          else resolvePromise(m!);
        };
        child.stdout!.on('data', check);
        child.stderr!.on('data', check);
        child.once('exit', onExit);
        check();
      });
    },
    async stop(signal = 'SIGINT') {
      if (child.exitCode === null && child.signalCode === null) {
        signalGroup(signal);
        const timer = setTimeout(() => signalGroup('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
      // Whatever of the group outlived its leader.
      signalGroup('SIGKILL');
    },
  };
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const portFree = (port: number) =>
  new Promise<boolean>((resolvePromise) => {
    const probe = createServer();
    probe.once('error', () => resolvePromise(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolvePromise(true)));
  });

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
      assert.match(header[1]!, /^DYNAMODB_ENDPOINT=http:\/\/127\.0\.0\.1:8000 npx tsx examples\/[\w-]+\/app\.ts$/);
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
