import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { SessionStore } from '../src/store/session-store.js';
import { bundledScript } from './helpers/bundle.js';
import { ENDPOINT, localOptions, quietLogger } from './helpers/dynamo.js';

/** Runs a module snippet in a child process and returns what it printed. */
async function run(script: string, env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [await bundledScript(script)], {
    cwd: process.cwd(),
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('logging', () => {
  it('an injected pino-shaped logger receives the store’s warnings with fields and a message', async () => {
    const logger = quietLogger();
    const store = new SessionStore(localOptions({ logger, createIfNotExist: false }));
    await assert.rejects(store.ready());
    const errors = logger.lines.filter((l) => l.level === 'error');
    assert.equal(errors.length, 1);
    assert.equal(typeof errors[0]!.obj, 'object');
    assert.match(String(errors[0]!.msg), /create-table/);
    await store.close();
  });

  it('by default a start-up failure is one actionable line on stderr, and info is not printed', async () => {
    const script = `
      import { SessionStore } from './src/store/session-store.ts';
      const store = new SessionStore({ endpoint: ${JSON.stringify(ENDPOINT)}, region: 'us-east-1', accessKeyId: 'local', secretAccessKey: 'local', table: 'absent_${Date.now()}', createIfNotExist: false });
      try { await store.ready(); } catch (err) { process.stdout.write(err.code); }
      const created = new SessionStore({ endpoint: ${JSON.stringify(ENDPOINT)}, region: 'us-east-1', accessKeyId: 'local', secretAccessKey: 'local', table: 'created_${Date.now()}' });
      await created.ready(); // logs "created the session table" at info level: not printed by default
    `;
    const { code, stdout, stderr } = await run(script);
    assert.equal(code, 0, stderr);
    assert.equal(stdout, 'DSM_TABLE_NOT_FOUND');
    const lines = stderr.trim().split('\n').filter(Boolean);
    assert.equal(lines.length, 1, stderr);
    assert.match(lines[0]!, /^dynamodb-session-manager error: table "absent_\d+" does not exist .*create-table/);
  });

  it('no secret appears in what the store logs when DynamoDB refuses it', async () => {
    const logger = quietLogger();
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY';
    const store = new SessionStore(localOptions({ logger, accessKeyId: 'AKIDLOGTEST', secretAccessKey: secret, endpoint: 'http://127.0.0.1:9', maxAttempts: 1, requestTimeoutMs: 500 }));
    await assert.rejects(store.ready(), (err: Error) => !err.message.includes(secret) && !String(err.stack).includes(secret));
    assert.ok(!logger.text().includes(secret));
    await store.close();
  });
});

describe('embedded DynamoDB Local', () => {
  it('without Java it says so in one line (DSM_JAVA_NOT_FOUND)', async () => {
    const script = `
      import { startDynamoDBLocal } from './src/embedded/dynamodb-local.ts';
      try { await startDynamoDBLocal(); console.log('started'); } catch (err) { console.log(err.code + ' ' + err.message); }
    `;
    const { stdout } = await run(script, { PATH: '/nonexistent' });
    const lines = stdout.trim().split('\n');
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /^DSM_JAVA_NOT_FOUND Java was not found/);
  });

  it('the test runner fails, with one line, when Java is missing', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/run.ts', 'test/config.test.ts'], {
      env: { ...process.env, PATH: '/nonexistent' },
    });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    assert.notEqual(code, 0);
    assert.match(out.trim(), /^test suite: Java was not found/);
    assert.equal(out.trim().split('\n').length, 1);
  });
});
