import { existsSync } from 'node:fs';
import { defineConfig } from 'tsup';

const adapters = ['express', 'fastify', 'koa', 'hono', 'http', 'web', 'react-router', 'next', 'sveltekit'].filter((name) => existsSync(`src/adapters/${name}.ts`));

export default defineConfig([
  {
    entry: {
      index: 'src/index.ts',
      // The Streams consumer: its own entry, so that only it loads @aws-sdk/client-dynamodb-streams.
      streams: 'src/streams/index.ts',
      // Dev and test helpers (embedded DynamoDB Local, resolveConfig, DEFAULTS): out of the root entry an application imports.
      testing: 'src/testing.ts',
      ...Object.fromEntries(adapters.map((name) => [`adapters/${name}`, `src/adapters/${name}.ts`])),
    },
    format: ['esm', 'cjs'],
    // What is marked @internal (members the package's own modules share) stays out of the shipped types.
    dts: { compilerOptions: { stripInternal: true } },
    sourcemap: true,
    clean: false,
    target: 'node20',
    splitting: true,
    // import.meta.url (the embedded DynamoDB Local finds its package with it) in the CommonJS build too.
    shims: true,
  },
  ...(existsSync('src/cli/main.ts')
    ? [
        {
          entry: { 'cli/main': 'src/cli/main.ts' },
          format: ['esm' as const],
          sourcemap: true,
          clean: false,
          target: 'node20',
          banner: { js: '#!/usr/bin/env node' },
        },
      ]
    : []),
]);
