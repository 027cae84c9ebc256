/**
 * What the README promises a newcomer, checked against the code: how to
 * install, the license, that its snippets run, that docs/options.md lists every
 * option and the README every error and every export, what the browser tests
 * need, and that it stays short enough to read (about 400 lines).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as api from '../src/index.js';
import { parseContextXmlDetailed } from '../src/config/context-xml.js';
import { OPTION_NAMES } from '../src/config/options.js';
import { ENDPOINT, uniqueTable } from './helpers/dynamo.js';

const run = promisify(execFile);
const README = readFileSync('README.md', 'utf8');
const OPTIONS = readFileSync('docs/options.md', 'utf8');
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { name: string; license: string };

/** The section of a Markdown text (the README unless told) under a heading, up to the next heading of the same or a higher level. */
function section(heading: string, text = README, name = 'README'): string {
  const start = text.indexOf(`${heading}\n`);
  assert.ok(start >= 0, `${name} has a "${heading}" section`);
  const level = /^#+/.exec(heading)![0].length;
  const rest = text.slice(start + heading.length);
  const end = rest.search(new RegExp(`\\n#{1,${level}} `));
  return end === -1 ? rest : rest.slice(0, end);
}

/** The names in backquotes in the first column of a Markdown table's rows (`a` / `b` gives both). */
const firstColumn = (text: string) => [...text.matchAll(/^\| ([^|]+) \|/gm)].flatMap((m) => [...m[1]!.matchAll(/`([^`]+)`/g)].map((n) => n[1]!));

describe('README', () => {
  it('says how to install the package, with the name package.json publishes', () => {
    assert.match(README, new RegExp(`^npm install ${pkg.name}\\b`, 'm'));
  });

  it("opens with what an npm user does: the install line, the smallest use, then exactly the repository's two commands", () => {
    const blocks = [...README.slice(0, README.indexOf('\n## ')).matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((m) => [m[1], m[2]!.trim()]);
    assert.match(blocks[0]![1]!, new RegExp(`^npm install ${pkg.name} `));
    assert.equal(blocks[1]![0], 'ts');
    assert.match(blocks[1]![1]!, new RegExp(`from '${pkg.name}/express'`));
    assert.deepEqual(blocks[2]![1]!.split('\n').map((line) => line.split('#')[0]!.trim()), ['npm install && npm start', 'npm install && npm test']);
  });

  it('the LICENSE file holds the license package.json names (Apache-2.0), and the README links it', () => {
    assert.equal(pkg.license, 'Apache-2.0');
    const license = readFileSync('LICENSE', 'utf8');
    assert.match(license, /Apache License\s+Version 2\.0, January 2004/);
    assert.match(license, /TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION/);
    assert.match(license, /END OF TERMS AND CONDITIONS/);
    assert.match(README, /\[LICENSE\]\(LICENSE\)/);
  });

  it('the context.xml snippet of docs/options.md runs as written: a store configured from the file', async () => {
    const block = /## context\.xml[\s\S]*?```ts\n([\s\S]*?)```/.exec(OPTIONS);
    assert.ok(block, 'a ts block under ## context.xml in docs/options.md');
    const dir = mkdtempSync(join(tmpdir(), 'dsm-readme-'));
    try {
      const table = uniqueTable('readme');
      writeFileSync(join(dir, 'context.xml'), `<Context><Manager className="" Table="${table}" Endpoint="${ENDPOINT}" /></Context>\n`);
      // The snippet, then a look at what it made.
      writeFileSync(join(dir, 'snippet.mjs'), `${block[1]}\nconsole.log(JSON.stringify({ table: store.store.config.table, endpoint: store.store.config.endpoint }));\nawait store.store.close();\n`);
      const { stdout } = await run(process.execPath, ['--import', fileURLToPath(import.meta.resolve('tsx')), 'snippet.mjs'], {
        cwd: dir,
        // The package's own name resolves to this checkout's sources, as in the examples.
        env: { ...process.env, TSX_TSCONFIG_PATH: resolve('tsconfig.json'), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      });
      assert.deepEqual(JSON.parse(stdout.trim().split('\n').at(-1)!), { table, endpoint: ENDPOINT });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the options tables of docs/options.md list every store option, and the adapters\' lock and keepAlive', () => {
    const listed = new Set(firstColumn(OPTIONS));
    for (const name of [...OPTION_NAMES, 'lock', 'keepAlive']) assert.ok(listed.has(name), `docs/options.md's options tables lack "${name}"`);
  });

  it('the attribute it cites as one loadContextXmlDetailed reports is reported, and className, which it says is not, is not', () => {
    const text = section('## context.xml', OPTIONS, 'docs/options.md');
    const cited = /such as Tomcat's `(\w+)`/.exec(text)?.[1];
    assert.ok(cited, text);
    const { ignored } = parseContextXmlDetailed(`<Context><Manager className="com.amazonaws.services.dynamodb.sessionmanager.DynamoDBSessionManager" ${cited}="100" /></Context>`);
    assert.deepEqual(ignored, [cited]);
    assert.match(text, /`className`, which every Tomcat `<Manager>` has, is not among them/);
  });

  it('the Errors table lists every error class the package exports, with its code', () => {
    const rows = section('## Errors');
    const classes = Object.entries(api).filter(([name, value]) => typeof value === 'function' && /Error$/.test(name) && (value === api.SessionStoreError || value.prototype instanceof api.SessionStoreError));
    assert.ok(classes.length >= 10, classes.map(([n]) => n).join(', '));
    const listed = firstColumn(rows);
    for (const [name] of classes) assert.ok(listed.includes(name), `README's Errors table lacks ${name}`);
    assert.match(rows, /^\| `CodecUnavailableError` \| `DSM_CODEC_UNAVAILABLE` \|/m);
  });

  it('stays short: at most about 400 lines, the rest in docs/', () => {
    const lines = README.split('\n').length;
    assert.ok(lines <= 420, `README has ${lines} lines: move detail to a page of docs/ and link it`);
  });

  it('its public API table names every function, class and constant each entry exports', async () => {
    const table = section('## The public API');
    const exportsOf = JSON.parse(readFileSync('package.json', 'utf8')).exports as Record<string, unknown>;
    const missing: string[] = [];
    for (const subpath of Object.keys(exportsOf).filter((k) => k !== './package.json')) {
      const name = subpath === '.' ? 'index' : subpath.slice(2);
      const source = ['src/' + name + '.ts', 'src/' + name + '/index.ts', 'src/adapters/' + name + '.ts'].find((f) => existsSync(f))!;
      const row = table.split('\n').find((line) => line.startsWith(subpath === '.' ? '| `dynamodb-session-manager` |' : '| `…' + subpath.slice(1) + '` |'));
      assert.ok(row, `the public API table has no row for "${subpath}"`);
      const mod = (await import(resolve(source))) as Record<string, unknown>;
      for (const exported of Object.keys(mod)) {
        // The error classes are listed once, in the Errors table.
        if (subpath === '.' && /Error$/.test(exported)) continue;
        if (!row.includes('`' + exported + '`')) missing.push(`${subpath} ${exported}`);
      }
    }
    assert.deepEqual(missing, []);
  });

  it('says that npm run test:e2e needs Chromium at /usr/bin/chromium, as the browser test launches it', () => {
    const e2e = readFileSync('test/e2e/demo.e2e.ts', 'utf8');
    const path = /executablePath: '([^']+)'/.exec(e2e)?.[1];
    assert.equal(path, '/usr/bin/chromium');
    assert.match(section('## Development'), /`npm run test:e2e`[\s\S]*Chromium at `\/usr\/bin\/chromium`/);
  });
});
