/**
 * The README's Next.js section shows files of the test suite's Next.js app
 * (test/fixtures/next-app, built and served by `npm run test:frameworks`):
 * its blocks must be those files as they are.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

it("docs/frameworks/next.md's blocks are the test app's files", () => {
  const readme = readFileSync('docs/frameworks/next.md', 'utf8');
  for (const file of ['test/fixtures/next-app/app/actions.ts', 'test/fixtures/next-app/app/page.tsx']) {
    const block = new RegExp('<!-- ' + file.replace(/[./]/g, '\\$&') + ' -->\\n```tsx?\\n([\\s\\S]*?)```').exec(readme);
    assert.ok(block, `docs/frameworks/next.md has a block marked <!-- ${file} -->`);
    assert.equal(block[1], readFileSync(file, 'utf8'), `${file} and its block in docs/frameworks/next.md differ`);
  }
});
