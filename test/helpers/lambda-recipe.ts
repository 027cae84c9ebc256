/**
 * docs/deployment.md's AWS Lambda recipe, as the document gives it: the app
 * and the esbuild command that bundles it. The test suite and
 * bench/coldstart.ts build exactly that, so that the recipe cannot rot.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');

export interface LambdaRecipe {
  /** The app's source (lambda.ts). */
  app: string;
  /** esbuild's arguments, as the document's `npx esbuild …` line gives them. */
  args: string[];
  /** Where the bundle goes, relative to the folder it is built in. */
  outfile: string;
}

export function lambdaRecipe(doc = join(ROOT, 'docs', 'deployment.md')): LambdaRecipe {
  const text = readFileSync(doc, 'utf8');
  const app = /<!-- lambda\.ts: [^>]*-->\n```ts\n([\s\S]*?)```/.exec(text)?.[1];
  const command = /^npx esbuild (.*)$/m.exec(text)?.[1];
  const outfile = command && /--outfile=(\S+)/.exec(command)?.[1];
  if (!app || !command || !outfile) throw new Error(`${doc} has no Lambda app block or no "npx esbuild … --outfile=…" line`);
  return { app, args: command.split(/\s+/), outfile };
}

/** Writes `source` as the entry the recipe names (lambda.ts) in `dir`, a folder where the packed package is installed, and bundles it there: the bundle's path. */
export function bundle(dir: string, recipe: LambdaRecipe, source = recipe.app): string {
  const entry = recipe.args[0]!;
  writeFileSync(join(dir, entry), source);
  execFileSync(join(ROOT, 'node_modules', '.bin', 'esbuild'), recipe.args, { cwd: dir, stdio: 'pipe' });
  return join(dir, recipe.outfile);
}
