/**
 * The README's Next.js section shows files of the test suite's Next.js app
 * (test/fixtures/next-app, built and served by `npm run test:frameworks`):
 * its blocks must be those files as they are.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

it("the README's Next.js blocks are the test app's files", () => {
  const readme = readFileSync('README.md', 'utf8');
  for (const file of ['test/fixtures/next-app/app/actions.ts', 'test/fixtures/next-app/app/page.tsx']) {
    const block = new RegExp('<!-- ' + file.replace(/[./]/g, '\\$&') + ' -->\\n```tsx?\\n([\\s\\S]*?)```').exec(readme);
    assert.ok(block, `README has a block marked <!-- ${file} -->`);
    assert.equal(block[1], readFileSync(file, 'utf8'), `${file} and its README block differ`);
  }
});
