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
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { builtPackage } from './helpers/packed.js';

const run = promisify(execFile);
const ROOT = resolve('.');

/** Pages whose blocks are not checked, each with the reason. */
const UNCHECKED: Record<string, string> = {
  'docs/telemetry.md': 'its setup imports OpenTelemetry SDK packages (sdk-node, the OTLP exporters) this repository does not install',
};

/** The Markdown files whose TypeScript blocks are checked: the README and every page of docs/ but those above. */
export const SNIPPET_FILES = ['README.md', ...markdownUnder('docs').filter((file) => !(file in UNCHECKED))];

function markdownUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir))
    .sort()
    .flatMap((name) => {
      const path = `${dir}/${name}`;
      return statSync(join(ROOT, path)).isDirectory() ? markdownUnder(path) : name.endsWith('.md') ? [path] : [];
    });
}

export interface Snippet {
  file: string;
  heading: string;
  line: number;
  tsx: boolean;
  code: string;
  /** The block's place in a Next.js app, for blocks that import each other: its first line's `// lib/session.ts`, or the path in the Next.js test app of an `<!-- test/fixtures/next-app/app/page.tsx -->` mark above it. */
  path?: string;
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
    if (open[1] === 'ts' || open[1] === 'tsx') {
      const code = lines.slice(i + 1, end).join('\n');
      const path = /^\/\/ ([\w./-]+\.tsx?)\n/.exec(code)?.[1] ?? /^<!-- test\/fixtures\/next-app\/([\w./-]+\.tsx?) -->$/.exec(lines[i - 1] ?? '')?.[1];
      snippets.push({ file, heading, line: i + 1, tsx: open[1] === 'tsx', code, ...(path ? { path } : {}) });
    }
    i = end;
  }
  return snippets;
}

let work: string;
let app: string;
const snippets = SNIPPET_FILES.flatMap((file) => tsSnippets(file, readFileSync(join(ROOT, file), 'utf8')));
// A block with a path goes to that path in a folder of its section (where its neighbours' relative imports find it).
const names = snippets.map((s, i) => (s.path ? `section-${SNIPPET_FILES.indexOf(s.file)}-${s.heading.replace(/\W+/g, '-')}/${s.path}` : `snippet-${i + 1}.${s.tsx ? 'tsx' : 'ts'}`));

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'dsm-snippets-'));
  // The package's build, declarations included, shared with the other type-checking tests (helpers/packed.ts): dist/ of this tree may be rebuilt by another test meanwhile.
  const pkgDir = await builtPackage();
  // The app: the package by its published name, and every framework (and @types) the repository installs.
  app = join(work, 'app');
  mkdirSync(join(app, 'node_modules'), { recursive: true });
  for (const name of readdirSync(join(ROOT, 'node_modules'))) {
    if (name !== '.bin' && name !== 'dynamodb-session-manager') symlinkSync(join(ROOT, 'node_modules', name), join(app, 'node_modules', name), 'dir');
  }
  symlinkSync(pkgDir, join(app, 'node_modules', 'dynamodb-session-manager'), 'dir');
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'snippets', private: true, type: 'module' }));
  // `export {}`: a block without imports is a module too, so blocks never share names.
  snippets.forEach((s, i) => {
    mkdirSync(dirname(join(app, names[i]!)), { recursive: true });
    writeFileSync(join(app, names[i]!), `${s.code}\nexport {};\n`);
  });
});
after(() => rmSync(work, { recursive: true, force: true }));

it('the docs have TypeScript blocks to check, and no JavaScript blocks', () => {
  assert.ok(snippets.length >= 10, `found ${snippets.length} blocks`);
  for (const file of SNIPPET_FILES) {
    let heading = '(top)';
    const js: string[] = [];
    for (const line of readFileSync(join(ROOT, file), 'utf8').split('\n')) {
      if (/^#{1,6} /.test(line)) heading = line;
      if (/^```(js|javascript|jsx|mjs)\s*$/.test(line)) js.push(heading);
    }
    assert.deepEqual(js, [], `${file} has JavaScript blocks: write them in TypeScript`);
  }
});

it('every ```ts block of the docs type-checks under --strict (nodenext; the files of an app as its bundler resolves them)', { timeout: 600_000 }, async () => {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const common = ['--noEmit', '--strict', '--skipLibCheck', '--target', 'es2022', '--jsx', 'react-jsx', '--esModuleInterop', '--types', 'node'];
  const check = (files: string[], args: string[]): Promise<string> =>
    files.length === 0
      ? Promise.resolve('')
      : run(process.execPath, [tsc, ...common, ...args, ...files], { cwd: app, maxBuffer: 16 * 1024 * 1024 }).then(
          () => '',
          (err: { stdout?: string }) => err.stdout ?? String(err),
        );
  // A block with a path is a file of an app whose bundler resolves its imports (Next.js: `import … from '../lib/session'`), so it is checked as `create-next-app`'s tsconfig.json does.
  const output = (
    await Promise.all([
      check(names.filter((_, i) => !snippets[i]!.path), ['--module', 'nodenext', '--moduleResolution', 'nodenext']),
      check(names.filter((_, i) => snippets[i]!.path), ['--module', 'esnext', '--moduleResolution', 'bundler', '--isolatedModules']),
    ])
  ).join('\n');
  // Each message under the block it is about.
  const failures = output.split('\n').filter(Boolean).map((line) => {
    const at = /^(\S+?\.tsx?)\((\d+),(\d+)\)/.exec(line);
    const s = at ? snippets[names.indexOf(at[1]!)] : undefined;
    if (!at || !s) return line;
    return `${s.file}:${s.line + Number(at[2])} (${s.heading}):${line.slice(at[0].length)}`;
  });
  assert.deepEqual(failures, [], failures.join('\n'));
});
