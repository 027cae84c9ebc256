/**
 * React Router as a stranger meets it: a fresh folder where the packed package
 * is installed as npm does, beside react-router and @hono/node-server only,
 * and the README's React Router block as the app, run as written (tsx) with
 * AWS_ENDPOINT_URL_DYNAMODB as the only endpoint setting. The Next.js fresh
 * folder is in next.test.ts, the Lambda bundle in serverless.test.ts.
 * `npm run test:frameworks` runs it.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ENDPOINT, uniqueTable } from '../helpers/dynamo.js';
import { installPacked } from '../helpers/packed.js';
import { CookieClient, startChildServer } from '../helpers/servers.js';
import { freePort } from '../../src/embedded/dynamodb-local.js';

const TSX = resolve('node_modules', 'tsx', 'dist', 'loader.mjs');

it("a fresh folder: the README's React Router app, on the installed package, keeps a client's views in DynamoDB", { timeout: 600_000 }, async () => {
  const install = await installPacked(['react-router', '@hono/node-server']);
  const page = readFileSync('docs/frameworks/react-router.md', 'utf8');
  const app = /<!-- examples\/react-router\/app\.ts -->\n```ts\n([\s\S]*?)```/.exec(page)?.[1];
  assert.ok(app, 'docs/frameworks/react-router.md has the React Router block');
  writeFileSync(join(install.dir, 'app.ts'), app);
  const port = await freePort();
  const server = await startChildServer(['--import', TSX, 'app.ts'], {
    cwd: install.dir,
    env: { ...process.env, PORT: String(port), TABLE: uniqueTable('rr_fresh'), AWS_ENDPOINT_URL_DYNAMODB: ENDPOINT, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    url: `http://127.0.0.1:${port}`,
    ready: /listening \d+/,
    what: 'the README React Router app',
  });
  try {
    const client = new CookieClient();
    assert.deepEqual(await client.json(`${server.url}/`), { views: 1 }, server.output());
    assert.deepEqual(await client.json(`${server.url}/`), { views: 2 }, server.output());
  } finally {
    await server.stop();
    install.remove();
  }
});
