/**
 * An application in TypeScript imports every entry of the package, built as
 * npm packs it (type declarations included), and type-checks under each
 * `moduleResolution`: "bundler", "node16" and "nodenext" read `exports`,
 * the older "node" (node10) reads `typesVersions` and cannot see subpaths without it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { builtPackage } from './helpers/packed.js';

const run = promisify(execFile);
const ROOT = resolve('.');

const APP = `import { SessionStore, loadContextXml } from 'dynamodb-session-manager';
import { DynamoDBStore, dynamoSession } from 'dynamodb-session-manager/express';
import { fastifyDynamoSession } from 'dynamodb-session-manager/fastify';
import { dynamoSession as koaSession } from 'dynamodb-session-manager/koa';
import { dynamoSession as honoSession } from 'dynamodb-session-manager/hono';
import { sessionHandler } from 'dynamodb-session-manager/http';
import { webSessions, unavailableResponse } from 'dynamodb-session-manager/web';
import { createDynamoSessionStorage } from 'dynamodb-session-manager/react-router';
import { nextSessions, ReadOnlySessionError } from 'dynamodb-session-manager/next';
import { dynamoSessionHandle } from 'dynamodb-session-manager/sveltekit';

const store: SessionStore = new DynamoDBStore({ table: 'sessions', lock: '/cart' }).store;
// A wrong option type must be an error: the types are read, not taken as any.
// @ts-expect-error ttl is a number of seconds
new SessionStore({ ttl: 'one day' });
// React Router's own types: the storage is one of its SessionStorages, its sessions have the data's types.
const storage = createDynamoSessionStorage<{ views: number }, { notice: string }>({ secret: 'a secret of at least thirty-two characters', table: 'sessions' });
export const views = (cookie: string) => storage.getSession(cookie).then((s) => s.get('views')?.toFixed(0));
export const web = webSessions({ secret: 'a secret of at least thirty-two characters', header: { name: 'Authorization', scheme: 'Bearer' } });
// SvelteKit's handle hook, called as SvelteKit calls it: an event with its request and locals, and resolve.
const handle = dynamoSessionHandle({ secret: 'a secret of at least thirty-two characters', table: 'sessions' });
export const handled: Promise<Response> = handle({ event: { request: new Request('http://localhost/'), locals: {} }, resolve: () => new Response('ok') });
export { store, loadContextXml, dynamoSession, fastifyDynamoSession, koaSession, honoSession, sessionHandler, unavailableResponse, nextSessions, ReadOnlySessionError };
`;

describe('a TypeScript application type-checks against the built package', { timeout: 600_000 }, () => {
  let work: string;
  let app: string;
  let pkgDir: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'dsm-types-'));
    // The package's build, declarations included, shared with the other type-checking tests (helpers/packed.ts): dist/ of this tree may be rebuilt by another test meanwhile.
    pkgDir = await builtPackage();
    app = join(work, 'app');
    mkdirSync(join(app, 'node_modules'), { recursive: true });
    symlinkSync(pkgDir, join(app, 'node_modules', 'dynamodb-session-manager'), 'dir');
    writeFileSync(join(app, 'app.ts'), APP);
    // The README's first snippet, as a user pastes it beside express and its types.
    const first = /<!-- first use -->\n```ts\n([\s\S]*?)```/.exec(readFileSync(join(ROOT, 'README.md'), 'utf8'))?.[1];
    assert.ok(first, 'README has a ts block marked <!-- first use -->');
    writeFileSync(join(app, 'readme-first.ts'), first);
    for (const name of ['express', '@types']) symlinkSync(join(ROOT, 'node_modules', name), join(app, 'node_modules', name), 'dir');
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  for (const [moduleResolution, module] of [
    ['node10', 'commonjs'],
    ['bundler', 'esnext'],
    ['node16', 'node16'],
    ['nodenext', 'nodenext'],
  ] as const) {
    it(`with "moduleResolution": "${moduleResolution}" (module ${module})`, async () => {
      const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
      const args = ['--noEmit', '--strict', '--skipLibCheck', '--target', 'es2022', '--moduleResolution', moduleResolution, '--module', module, '--types', 'node', '--typeRoots', join(ROOT, 'node_modules', '@types'), 'app.ts'];
      const result = await run(process.execPath, [tsc, ...args], { cwd: app }).then(
        () => '',
        (err: { stdout?: string }) => err.stdout ?? String(err),
      );
      assert.equal(result, '', result);
    });
  }

  it('the shipped declarations hold no @internal member: what the package shares inside stays out of its types', () => {
    const declarations = readdirSync(join(pkgDir, 'dist'), { recursive: true, encoding: 'utf8' }).filter((f) => /\.d\.c?ts$/.test(f));
    assert.ok(declarations.length >= 11, `${declarations.length} declaration files`);
    const marked = declarations.filter((f) => readFileSync(join(pkgDir, 'dist', f), 'utf8').includes('@internal'));
    assert.deepEqual(marked, []);
    const express = readFileSync(join(pkgDir, 'dist', 'adapters', 'express.d.ts'), 'utf8');
    for (const name of ['withMiddleware', 'stopWatching', 'cookieName']) assert.ok(!express.includes(name), `express.d.ts names ${name}`);
    const root = declarations.filter((f) => f.startsWith('session-store')).map((f) => readFileSync(join(pkgDir, 'dist', f), 'utf8')).join('');
    for (const name of ['gateway', 'statsData', 'decoded:', 'latest:']) assert.ok(!root.includes(name), `SessionStore's declaration names ${name}`);
  });

  it("the README's first snippet type-checks as written (strict, nodenext)", async () => {
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const args = ['--noEmit', '--strict', '--skipLibCheck', '--target', 'es2022', '--moduleResolution', 'nodenext', '--module', 'nodenext', '--esModuleInterop', '--types', 'node', 'readme-first.ts'];
    const result = await run(process.execPath, [tsc, ...args], { cwd: app }).then(
      () => '',
      (err: { stdout?: string }) => err.stdout ?? String(err),
    );
    assert.equal(result, '', result);
  });
});
