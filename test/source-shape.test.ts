/**
 * The shape issue 30 holds src/ to, kept by the suite rather than by memory:
 * no line over 160 characters, no file over 350 lines, and no files that
 * import each other, directly or around a loop.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, sep } from 'node:path';

const SRC = join(import.meta.dirname, '..', 'src');
const files = readdirSync(SRC, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));

it('src/ has TypeScript files to check', () => {
  assert.ok(files.length > 50, `${files.length} files`);
});

it('no line in src/ is over 160 characters', () => {
  const long = files.flatMap((f) =>
    readFileSync(join(SRC, f), 'utf8')
      .split('\n')
      .flatMap((line, i) => (line.length > 160 ? [`${f}:${i + 1} (${line.length})`] : [])),
  );
  assert.deepEqual(long, []);
});

it('no file in src/ is over 350 lines', () => {
  const big = files.flatMap((f) => {
    const lines = readFileSync(join(SRC, f), 'utf8').replace(/\n$/, '').split('\n').length;
    return lines > 350 ? [`${f} (${lines})`] : [];
  });
  assert.deepEqual(big, []);
});

/** Each file's imports of other files of src/ (static, dynamic, type-only and re-exports alike), by path under src/. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(SRC, file), 'utf8');
  const specifiers = [...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+'(\.[^']+)'|\bimport\('(\.[^']+)'\)/gm)].map((m) => m[1] ?? m[2]!);
  return specifiers.map((s) => normalize(join(dirname(file), s)).replace(/\.js$/, '.ts')).filter((f) => files.includes(f));
}

/** Every loop of a graph (each as its nodes, first = last), found depth-first: a node met again while on the path closes one. */
function loopsOf(graph: Map<string, string[]>): string[] {
  const loops: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const visit = (node: string, path: string[]) => {
    state.set(node, 'open');
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') loops.push([...path.slice(path.indexOf(next)), node, next].join(' -> '));
      else if (!state.has(next)) visit(next, [...path, node]);
    }
    state.set(node, 'done');
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node, []);
  return loops;
}

const fileGraph = new Map(files.map((f) => [f, importsOf(f)]));

it('no files in src/ import each other, directly or around a loop', () => {
  assert.ok([...fileGraph.values()].flat().length > 200, 'the imports were read');
  assert.deepEqual(loopsOf(fileGraph), []);
});

it("src/'s folders are layers: no folder imports from one that imports from it, directly or around a loop", () => {
  // A folder is one node (adapters/, store/, core/, …); a file at the top of src/ is one of its own.
  const layer = (file: string) => file.split(sep)[0]!;
  const graph = new Map<string, string[]>();
  for (const [file, imports] of fileGraph) {
    const edges = graph.get(layer(file)) ?? [];
    for (const target of imports) if (layer(target) !== layer(file) && !edges.includes(layer(target))) edges.push(layer(target));
    graph.set(layer(file), edges);
  }
  assert.ok(graph.size >= 10, `${graph.size} layers`);
  assert.deepEqual(loopsOf(graph), []);
});
