/**
 * A TypeScript entry (the CLI, a fixture server) bundled into one ESM file, as
 * tsup.config.ts bundles package.json's "bin": for node20, the packages left
 * to node_modules. Tests that start it many times run `node <bundle>` instead
 * of `node --import tsx <entry>`: tsx compiles every module again in each
 * process, 1.5 to 4 s of the shared 2-core machine a start, where a bundle
 * starts as the installed command would.
 *
 * Bundled once per test process and entry, into a folder of the temp
 * directory that has this project's package.json (what the CLI's --version
 * reads) and its node_modules, at the entry's own path inside it. Always the
 * sources of the working tree: never dist/, which a test file run on its own
 * would find as an earlier build left it.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build, type BuildOptions } from 'esbuild';

const ROOT = resolve(import.meta.dirname, '..', '..');

let folder: string | undefined;
const bundles = new Map<string, Promise<string>>();

function bundleFolder(): string {
  if (folder) return folder;
  folder = mkdtempSync(join(tmpdir(), 'dsm-bundle-'));
  writeFileSync(join(folder, 'package.json'), readFileSync(join(ROOT, 'package.json')));
  symlinkSync(join(ROOT, 'node_modules'), join(folder, 'node_modules'), 'dir');
  const made = folder;
  process.once('exit', () => rmSync(made, { recursive: true, force: true }));
  return made;
}

/**
 * The path of `entry` (relative to the project, e.g. 'src/cli/main.ts') bundled,
 * to run with `node <path>`. `outPath` places it (relative to the bundle's folder),
 * the entry's own path with .js by default.
 */
export function bundled(entry: string, outPath = entry.replace(/\.ts$/, '.js')): Promise<string> {
  return bundleOnce(entry, outPath, { entryPoints: [join(ROOT, entry)] });
}

/**
 * A module's source (what `node --import tsx --input-type=module -e <source>` would run, its
 * relative imports from the project's folder) bundled the same way.
 */
export function bundledScript(source: string): Promise<string> {
  const name = `script-${createHash('sha256').update(source).digest('hex').slice(0, 16)}.js`;
  return bundleOnce(name, name, { stdin: { contents: source, resolveDir: ROOT, sourcefile: '[eval].ts', loader: 'ts' } });
}

function bundleOnce(key: string, outPath: string, input: Pick<BuildOptions, 'entryPoints' | 'stdin'>): Promise<string> {
  let made = bundles.get(key);
  if (!made) {
    made = (async () => {
      const outfile = join(bundleFolder(), outPath);
      mkdirSync(join(outfile, '..'), { recursive: true });
      await build({
        ...input,
        outfile,
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        packages: 'external',
        sourcemap: true,
        tsconfig: join(ROOT, 'tsconfig.json'),
        banner: { js: '#!/usr/bin/env node' },
        logLevel: 'error',
      });
      return outfile;
    })();
    bundles.set(key, made);
  }
  return made;
}

/** The `dynamodb-session` command, where the build puts it (package.json "bin"): run it with `node <path> …`. */
export const cliPath = (): Promise<string> => bundled('src/cli/main.ts', 'dist/cli/main.js');
