/**
 * The README's SvelteKit section shows files of the test suite's SvelteKit app
 * (test/fixtures/sveltekit-app, built and served by `npm run test:frameworks`):
 * its blocks must be those files as they are. (examples/sveltekit, run by its
 * header's `npx vite dev`, is tested by test/fresh-clone.test.ts.)
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

it("docs/frameworks/sveltekit.md's blocks are the test app's files", () => {
  const readme = readFileSync('docs/frameworks/sveltekit.md', 'utf8');
  for (const file of ['src/hooks.server.ts', 'src/app.d.ts', 'src/routes/+page.server.ts'].map((f) => `test/fixtures/sveltekit-app/${f}`)) {
    const block = new RegExp('<!-- ' + file.replace(/[./+]/g, '\\$&') + ' -->\\n```ts\\n([\\s\\S]*?)```').exec(readme);
    assert.ok(block, `docs/frameworks/sveltekit.md has a block marked <!-- ${file} -->`);
    assert.equal(block[1], readFileSync(file, 'utf8'), `${file} and its block in docs/frameworks/sveltekit.md differ`);
  }
});
