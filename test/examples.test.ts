/**
 * The examples are run, so they cannot rot: each starts on DynamoDB Local
 * through the built package (`dynamodb-session-manager/<framework>`), creates
 * its table, and keeps a visit counter across requests. The README shows
 * each example's code: those blocks must be the files themselves.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ENDPOINT, uniqueTable } from './helpers/dynamo.js';
import { CookieClient, startServer } from './helpers/servers.js';

const frameworks = ['express', 'fastify', 'koa', 'hono', 'http'] as const;

describe('examples/<framework>/app.ts', { concurrency: 2 }, () => {
  for (const framework of frameworks) {
    it(`${framework}: the example counts a client's visits in DynamoDB`, async () => {
      const server = await startServer(`examples/${framework}/app.ts`, {
        DYNAMODB_ENDPOINT: ENDPOINT,
        TABLE: uniqueTable(`example_${framework}`),
        PORT: '0',
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
        AWS_REGION: 'us-east-1',
      });
      try {
        const client = new CookieClient();
        assert.deepEqual(await client.json(`${server.url}/`), { views: 1 });
        assert.deepEqual(await client.json(`${server.url}/`), { views: 2 });
        assert.deepEqual(await new CookieClient().json(`${server.url}/`), { views: 1 }, 'another client has its own session');
      } finally {
        await server.stop();
      }
    });
  }
});

it('the README shows every example exactly as the file is', () => {
  const readme = readFileSync('README.md', 'utf8');
  for (const framework of frameworks) {
    const file = `examples/${framework}/app.ts`;
    const block = new RegExp('<!-- ' + file.replace(/[./]/g, '\\$&') + ' -->\\n```ts\\n([\\s\\S]*?)```').exec(readme);
    assert.ok(block, `README has a block marked <!-- ${file} -->`);
    assert.equal(block[1], readFileSync(file, 'utf8'), `${file} and its README block differ`);
  }
});
