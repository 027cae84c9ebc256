/**
 * The package as a user gets it: built from the working tree into a copy of
 * its own (so that `dist/`, which other test runs read, is never rebuilt
 * under them), packed with `npm pack`, and installed into a fresh folder with
 * only the packages a test names beside it. Used by test/package.test.ts,
 * test/lambda.test.ts and bench/coldstart.ts; and the same build with its
 * declarations, unpacked, for the tests that type-check against it.
 *
 * The tarball is kept in the temp folder under a hash of what goes into the
 * build, so that test files and the benchmark of one working tree pack once.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..', '..');
/** What the build reads; README and docs are packed too but change nothing that runs. */
const BUILD_INPUTS = ['package.json', 'tsup.config.ts', 'tsconfig.json', 'src'];

function files(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((name) => files(join(path, name)));
}

/**
 * The tree's own dist/ when `npm run build` made it, declarations included, from the sources as they are:
 * every file of it newer than every build input (the build empties dist/ first). `npm test` builds first,
 * and the copies here then take that build instead of building again. After an edit or a checkout, a copy
 * builds its own.
 */
function freshDist(): string | undefined {
  const dist = join(ROOT, 'dist');
  if (!existsSync(join(dist, 'index.d.ts'))) return undefined;
  const oldestBuilt = Math.min(...files(dist).map((file) => statSync(file).mtimeMs));
  const newestInput = Math.max(...BUILD_INPUTS.flatMap((input) => files(join(ROOT, input))).map((file) => statSync(file).mtimeMs));
  return oldestBuilt >= newestInput ? dist : undefined;
}

/** Builds into `work` with tsup (`args`), or copies the tree's fresh dist/ there. */
async function buildInto(work: string, args: string[]): Promise<void> {
  const dist = freshDist();
  if (dist) {
    cpSync(dist, join(work, 'dist'), { recursive: true });
    return;
  }
  await run(process.execPath, [join(ROOT, 'node_modules', 'tsup', 'dist', 'cli-default.js'), ...args], { cwd: work, env: cleanEnv() });
}

/**
 * A build links this tree's node_modules, so its key names the tree and what
 * is installed there too: a build left in the temp folder by another clone
 * (since removed) would link packages that are gone, and type-check nothing.
 */
function buildHash(): string {
  const hash = createHash('sha256');
  hash.update(ROOT).update('\0');
  const lock = join(ROOT, 'package-lock.json');
  if (existsSync(lock)) hash.update(readFileSync(lock)).update('\0');
  for (const file of BUILD_INPUTS.flatMap((input) => files(join(ROOT, input)))) {
    hash.update(file.slice(ROOT.length)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

/**
 * npm run by `npm test` passes its settings down as npm_config_* variables;
 * the install in the temp folder must not inherit them (a prefix, a workspace).
 */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)));
}

let packing: Promise<string> | undefined;

/** The path of the packed tarball of the working tree, built once per change of its sources. */
export function packedTarball(): Promise<string> {
  return (packing ??= pack());
}

async function pack(): Promise<string> {
  const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const cacheDir = join(tmpdir(), 'dsm-packed', buildHash());
  const tarball = join(cacheDir, `dynamodb-session-manager-${version}.tgz`);
  if (existsSync(tarball)) return tarball;

  const work = mkdtempSync(join(tmpdir(), 'dsm-pack-'));
  try {
    for (const name of [...BUILD_INPUTS, 'README.md', 'docs']) cpSync(join(ROOT, name), join(work, name), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(work, 'node_modules'), 'dir');
    // A build of its own leaves the declarations out: they change nothing that runs, and are most of the build's time.
    await buildInto(work, ['--no-dts', '--silent']);
    const out = join(work, 'out');
    mkdirSync(out);
    await run('npm', ['pack', '--pack-destination', out, '--silent'], { cwd: work, env: cleanEnv() });
    mkdirSync(cacheDir, { recursive: true });
    // A rename is atomic: another process packing the same sources at the same time finds a whole file or none.
    renameSync(join(out, `dynamodb-session-manager-${version}.tgz`), tarball);
    return tarball;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function linksThisTree(dir: string): boolean {
  try {
    return realpathSync(join(dir, 'node_modules')) === realpathSync(join(ROOT, 'node_modules'));
  } catch {
    return false;
  }
}

let building: Promise<string> | undefined;

/**
 * The package built as `npm run build` builds it, declarations included, in a
 * folder of its own (with this project's node_modules), built once per change
 * of its sources: the type-checking tests (typescript-consumers,
 * readme-snippets) link it into their apps by its published name, and only read it.
 */
export function builtPackage(): Promise<string> {
  return (building ??= buildPackage());
}

async function buildPackage(): Promise<string> {
  const dir = join(tmpdir(), 'dsm-built', buildHash());
  if (existsSync(join(dir, 'dist', 'index.d.ts')) && linksThisTree(dir)) return dir;
  // A build whose node_modules is not this tree's (or is gone) is rebuilt.
  if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(tmpdir(), 'dsm-built'), { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'dsm-built', 'building-'));
  try {
    for (const name of BUILD_INPUTS) cpSync(join(ROOT, name), join(work, name), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(work, 'node_modules'), 'dir');
    await buildInto(work, ['--silent']);
    try {
      // A rename is atomic: another test file building the same sources at the same time finds a whole build or none.
      renameSync(work, dir);
    } catch (err) {
      if (!existsSync(join(dir, 'dist', 'index.d.ts'))) throw err;
      rmSync(work, { recursive: true, force: true });
    }
    return dir;
  } catch (err) {
    rmSync(work, { recursive: true, force: true });
    throw err;
  }
}

/** `name@version` as installed in this project, so that the temp folder's install finds it in npm's cache. */
function pinned(name: string): string {
  const version = (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  return `${name}@${version}`;
}

export interface PackedInstall {
  /** The folder: run code with it as the working directory to resolve the installed packages. */
  readonly dir: string;
  remove(): void;
}

/**
 * A fresh folder with the packed package and `packages` installed (at the
 * versions this project has), nothing else: npm does not install optional
 * peer dependencies, so the package's other peers are absent. npm's cache is
 * tried first (`--offline`), the registry only for what it lacks.
 */
export async function installPacked(packages: readonly string[], options: { type?: 'module' | 'commonjs' } = {}): Promise<PackedInstall> {
  const tarball = await packedTarball();
  const dir = mkdtempSync(join(tmpdir(), 'dsm-install-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'packed-install', private: true, type: options.type ?? 'module' }));
  const args = ['install', '--no-audit', '--no-fund', '--no-package-lock', '--ignore-scripts', '--loglevel=error', tarball, ...packages.map(pinned)];
  try {
    await run('npm', [...args, '--offline'], { cwd: dir, env: cleanEnv() });
  } catch (err) {
    if (!String((err as { stderr?: string }).stderr).includes('ENOTCACHED')) throw err;
    await run('npm', [...args, '--prefer-offline'], { cwd: dir, env: cleanEnv() });
  }
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
