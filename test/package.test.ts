import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

// `npm test` builds first; these check what a user installing the package gets.
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { exports: Record<string, { import: { types: string; default: string }; require: { types: string; default: string } }> };
const built = Object.entries(pkg.exports).filter(([, v]) => typeof v === 'object' && existsSync(v.import.default));

describe('the built package', () => {
  it('exports "." and "./express" as ESM and CommonJS with type declarations', () => {
    const names = built.map(([k]) => k);
    assert.ok(names.includes('.') && names.includes('./express'), names.join(','));
    for (const [, target] of built) {
      for (const file of [target.import.default, target.import.types, target.require.default, target.require.types]) assert.ok(existsSync(file), file);
    }
  });

  for (const [subpath] of built) {
    const specifier = `dynamodb-session-manager${subpath === '.' ? '' : subpath.slice(1)}`;
    it(`${specifier} loads with require() and import`, () => {
      const env = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
      const cjs = execFileSync(process.execPath, ['-e', `console.log(Object.keys(require(${JSON.stringify(specifier)})).sort().join(','))`], { env }).toString().trim();
      const esm = execFileSync(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(specifier)}); console.log(Object.keys(m).sort().join(','))`], { env }).toString().trim();
      assert.ok(cjs.length > 0);
      assert.equal(cjs, esm);
      if (subpath === '.') assert.ok(cjs.split(',').includes('SessionStore'));
      if (subpath === './express') assert.ok(cjs.split(',').includes('DynamoDBStore'));
    });
  }
});
