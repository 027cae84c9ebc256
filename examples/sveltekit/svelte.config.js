// examples/sveltekit: the package's own name means the sources of this repository (kit.alias), so the example needs no build.
// An app that installs the package leaves out the alias.
import adapter from '@sveltejs/adapter-node';

/** @type {import('@sveltejs/kit').Config} */
export default {
  kit: {
    adapter: adapter(),
    alias: { 'dynamodb-session-manager/sveltekit': '../../src/adapters/sveltekit.ts' },
  },
};
