/**
 * Every TypeScript block of the docs type-checks as a user would paste it: each
 * ```ts (or ```tsx) block becomes a module of an app that imports the package
 * by its published name (this tree's build, declarations included) beside the
 * real framework packages and their types, and `tsc --strict` checks them all.
 * With skipLibCheck, as the frameworks' own starters set it: this repository
 * installs one `cookie` and one `content-disposition` for every framework, so
 * a few frameworks' declarations meet a major version they were not written
 * for, which a user's own install does not have. A failure names the file,
 * the heading above the block and tsc's message.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = resolve('.');

/** The Markdown files whose TypeScript blocks are checked; add a file here when a section moves to it. */
export const SNIPPET_FILES = ['README.md'];

export interface Snippet {
  file: string;
  heading: string;
  line: number;
  tsx: boolean;
  code: string;
}

/** The ```ts and ```tsx blocks of a Markdown text, each with the heading it sits under. */
export function tsSnippets(file: string, text: string): Snippet[] {
  const snippets: Snippet[] = [];
  let heading = '(top)';
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^#{1,6} /.test(line)) heading = line;
    const open = /^```(\w*)\s*$/.exec(line);
    if (!open) continue;
    const end = lines.findIndex((l, j) => j > i && /^```\s*$/.test(l));
    assert.ok(end > i, `${file}:${i + 1}: a code block that is never closed`);
    if (open[1] === 'ts' || open[1] === 'tsx') snippets.push({ file, heading, line: i + 1, tsx: open[1] === 'tsx', code: lines.slice(i + 1, end).join('\n') });
    i = end;
  }
  return snippets;
}

let work: string;
let app: string;
const snippets = SNIPPET_FILES.flatMap((file) => tsSnippets(file, readFileSync(join(ROOT, file), 'utf8')));
const names = snippets.map((s, i) => `snippet-${i + 1}.${s.tsx ? 'tsx' : 'ts'}`);

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'dsm-snippets-'));
  // The package's build in a copy: dist/ of this tree may be rebuilt by another test meanwhile.
  const pkgDir = join(work, 'package');
  mkdirSync(pkgDir);
  for (const name of ['package.json', 'tsup.config.ts', 'tsconfig.json', 'src']) cpSync(join(ROOT, name), join(pkgDir, name), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(pkgDir, 'node_modules'), 'dir');
  await run(process.execPath, [join(ROOT, 'node_modules', 'tsup', 'dist', 'cli-default.js'), '--silent'], { cwd: pkgDir });
  // The app: the package by its published name, and every framework (and @types) the repository installs.
  app = join(work, 'app');
  mkdirSync(join(app, 'node_modules'), { recursive: true });
  for (const name of readdirSync(join(ROOT, 'node_modules'))) {
    if (name !== '.bin' && name !== 'dynamodb-session-manager') symlinkSync(join(ROOT, 'node_modules', name), join(app, 'node_modules', name), 'dir');
  }
  symlinkSync(pkgDir, join(app, 'node_modules', 'dynamodb-session-manager'), 'dir');
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'snippets', private: true, type: 'module' }));
  // `export {}`: a block without imports is a module too, so blocks never share names.
  snippets.forEach((s, i) => writeFileSync(join(app, names[i]!), `${s.code}\nexport {};\n`));
});
after(() => rmSync(work, { recursive: true, force: true }));

it('the docs have TypeScript blocks to check; the only JavaScript blocks are the Next.js test app\'s files', () => {
  assert.ok(snippets.length >= 10, `found ${snippets.length} blocks`);
  for (const file of SNIPPET_FILES) {
    let heading = '(top)';
    const js: string[] = [];
    for (const line of readFileSync(join(ROOT, file), 'utf8').split('\n')) {
      if (/^#{1,6} /.test(line)) heading = line;
      if (/^```(js|javascript|jsx|mjs)\s*$/.test(line)) js.push(heading);
    }
    // test/fixtures/next-app is a JavaScript app (next build and the fresh-folder test use these blocks as its files); its TypeScript form follows them.
    assert.deepEqual(js.filter((h) => h !== '### Next.js (App Router)'), [], `${file} has JavaScript blocks: write them in TypeScript`);
  }
});

it('every ```ts block of the docs type-checks under --strict (nodenext)', { timeout: 600_000 }, async () => {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const args = ['--noEmit', '--strict', '--skipLibCheck', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--jsx', 'react-jsx', '--esModuleInterop', '--types', 'node', ...names];
  const output = await run(process.execPath, [tsc, ...args], { cwd: app, maxBuffer: 16 * 1024 * 1024 }).then(
    () => '',
    (err: { stdout?: string }) => err.stdout ?? String(err),
  );
  // Each message under the block it is about.
  const failures = output.split('\n').filter(Boolean).map((line) => {
    const at = /^(snippet-(\d+)\.tsx?)\((\d+),(\d+)\)/.exec(line);
    if (!at) return line;
    const s = snippets[Number(at[2]) - 1]!;
    return `${s.file}:${s.line + Number(at[3])} (${s.heading}):${line.slice(at[0].length)}`;
  });
  assert.deepEqual(failures, [], failures.join('\n'));
});
