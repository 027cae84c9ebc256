/**
 * The shape issue 30 holds src/ to, kept by the suite rather than by memory:
 * no line over 160 characters, no file over 350 lines.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

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
