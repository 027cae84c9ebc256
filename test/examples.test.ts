/**
 * The examples are run, so they cannot rot: each starts on DynamoDB Local
 * through the package's own name (`dynamodb-session-manager/<framework>`,
 * the sources through tsconfig.json's paths: no build needed), with no AWS
 * credentials set, creates its table, and keeps a visit counter across requests. The README shows
 * each example's code: those blocks must be the files themselves.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ENDPOINT, uniqueTable } from './helpers/dynamo.js';
import { CookieClient, startServer } from './helpers/servers.js';

const frameworks = ['express', 'fastify', 'koa', 'hono', 'http', 'web', 'react-router'] as const;

/**
 * A newcomer's shell: no AWS credentials or region anywhere (a developer's own
 * ~/.aws files are kept out too), and nothing that silences the AWS SDK.
 */
const NO_AWS_SETUP = {
  AWS_ACCESS_KEY_ID: undefined,
  AWS_SECRET_ACCESS_KEY: undefined,
  AWS_SESSION_TOKEN: undefined,
  AWS_PROFILE: undefined,
  AWS_REGION: undefined,
  AWS_DEFAULT_REGION: undefined,
  AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/.aws/credentials',
  AWS_CONFIG_FILE: '/nonexistent/.aws/config',
  // A guard: were the default chain run after all, it must not ask the real instance metadata service.
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: undefined,
};

describe('examples/<framework>/app.ts', { concurrency: 2 }, () => {
  for (const framework of frameworks) {
    it(`${framework}: the example counts a client's visits in DynamoDB`, async () => {
      const server = await startServer(`examples/${framework}/app.ts`, {
        AWS_ENDPOINT_URL_DYNAMODB: ENDPOINT,
        TABLE: uniqueTable(`example_${framework}`),
        PORT: '0',
        ...NO_AWS_SETUP,
      });
      try {
        const client = new CookieClient();
        assert.deepEqual(await client.json(`${server.url}/`), { views: 1 });
        assert.deepEqual(await client.json(`${server.url}/`), { views: 2 });
        assert.deepEqual(await new CookieClient().json(`${server.url}/`), { views: 1 }, 'another client has its own session');
        const output = server.output();
        assert.doesNotMatch(output, /NodeVersionSupportWarning/, 'the example turns off the AWS SDK notice about Node 20');
        assert.equal(output.match(/placeholder keys/g)?.length, 1, `the store says once that it signs with placeholder keys:\n${output}`);
      } finally {
        await server.stop();
      }
    });
  }
});

it("each framework's page of docs/frameworks shows its example exactly as the file is", () => {
  for (const framework of frameworks) {
    const page = `docs/frameworks/${framework}.md`;
    const file = `examples/${framework}/app.ts`;
    const block = new RegExp('<!-- ' + file.replace(/[./]/g, '\\$&') + ' -->\\n```ts\\n([\\s\\S]*?)```').exec(readFileSync(page, 'utf8'));
    assert.ok(block, `${page} has a block marked <!-- ${file} -->`);
    assert.equal(block[1], readFileSync(file, 'utf8'), `${file} and its block in ${page} differ`);
  }
});
