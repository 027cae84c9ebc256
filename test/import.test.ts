/**
 * `dynamodb-session import` from connect-dynamodb, dynamodb-store and connect-redis (the real
 * packages, on DynamoDB Local and a real redis-server), run as the CLI a user runs: an Express
 * app's 100 signed-in users are copied under the same ids and expiries, and the app switched
 * to this store finds every one signed in with their data and their cookie. A re-run copies
 * nothing twice, an expired session is skipped, a corrupt item is reported with its key and
 * skipped, a Ctrl-C keeps the checkpoint and a re-run finishes the job.
 */
import { contextOf } from '../src/store/session-store.js';
import { liveKeys } from '../src/core/table-scan.js';
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import session from 'express-session';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { createClient } from 'redis';
import { DynamoDBStore, dynamoSession } from '../src/adapters/express.js';
import { SessionStore } from '../src/store/session-store.js';
import { ENDPOINT, localOptions, uniqueTable } from './helpers/dynamo.js';
import { cliPath } from './helpers/bundle.js';
import { COOKIE, SECRET, USERS, expectedUser, listen, oldGet, openOldStore, signIn, siteApp, type OldStore, type SignedIn, type SourceName } from './helpers/old-stores.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const ENV = { ...process.env, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true', DSM_TABLE: '', DSM_ENDPOINT: '', DSM_CONTEXT_XML: '', DSM_USER_INDEX: '' };
const work = mkdtempSync(join(tmpdir(), 'dsm-import-'));
after(() => rmSync(work, { recursive: true, force: true }));

async function cli(args: string[]): Promise<Run> {
  const main = await cliPath();
  return new Promise((resolve) => {
    execFile(process.execPath, [main, ...args], { env: ENV, timeout: 180_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
  });
}

function sourceArgs(old: OldStore): string[] {
  return old.name === 'redis' ? ['--from', 'redis', '--url', old.url!] : ['--from', old.name, '--source-table', old.table!];
}

/** The summary line's counts. */
function summary(stdout: string): { copied: number; expired: number; alreadyHere: number; corrupt: number; read: number } {
  const m = /(?:copied|would copy) (\d+), expired skipped (\d+), already here (\d+), corrupt (\d+) \(of (\d+) read\)/.exec(stdout);
  assert.ok(m, `a summary line (got ${stdout})`);
  return { copied: Number(m[1]), expired: Number(m[2]), alreadyHere: Number(m[3]), corrupt: Number(m[4]), read: Number(m[5]) };
}

/** One corrupt item, and (DynamoDB sources) one expired session, beside the users' sessions, as the source's own format has them. */
async function addBadItems(old: OldStore): Promise<{ corruptKey: string; expired: number }> {
  if (old.name === 'redis') {
    const client = createClient({ url: old.url! });
    await client.connect();
    await client.set('sess:corrupt-redis-item', '{not json', { expiration: { type: 'EX', value: 3600 } });
    await client.destroy();
    // Redis deletes an expired key itself: there is none to skip.
    return { corruptKey: 'sess:corrupt-redis-item', expired: 0 };
  }
  const client = new DynamoDBClient({ endpoint: ENDPOINT, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const future = String(Math.floor(Date.now() / 1000) + 3600);
  const past = String(Math.floor(Date.now() / 1000) - 60);
  const expiredSess = { cookie: { originalMaxAge: 60_000, httpOnly: true, path: '/' }, user: { name: 'gone', cart: [] } };
  const put = (item: Record<string, unknown>) => client.send(new PutItemCommand({ TableName: old.table!, Item: item as never }));
  if (old.name === 'connect-dynamodb') {
    await put({ id: { S: 'sess:corrupt-item-0000000000000000' }, sess: { S: '{"cookie":' }, expires: { N: future } });
    await put({ id: { S: 'sess:expired-item-0000000000000000' }, sess: { S: JSON.stringify(expiredSess) }, expires: { N: past } });
  } else {
    await put({ sessionId: { S: 'sess:corrupt-item-0000000000000000' }, sess: { S: 'a string, where dynamodb-store writes a map' }, expires: { N: future } });
    await put({ sessionId: { S: 'sess:expired-item-0000000000000000' }, sess: { M: { user: { M: { name: { S: 'gone' } } } } }, expires: { N: past } });
  }
  client.destroy();
  return { corruptKey: 'sess:corrupt-item-0000000000000000', expired: 1 };
}

for (const source of ['connect-dynamodb', 'dynamodb-store', 'redis'] as SourceName[]) {
  describe(`import from ${source === 'redis' ? 'connect-redis' : source}`, () => {
    let old: OldStore;
    let oldApp: Awaited<ReturnType<typeof listen>>;
    let users: SignedIn[];
    let bad: { corruptKey: string; expired: number };
    const table = uniqueTable('import');
    const checkpoint = join(work, `${source}.checkpoint.json`);

    before(async () => {
      old = await openOldStore(source);
      oldApp = await listen(siteApp(session({ store: old.store, secret: SECRET, resave: false, saveUninitialized: false, cookie: COOKIE })));
      users = await signIn(oldApp.url);
      bad = await addBadItems(old);
      const made = new SessionStore(localOptions({ table }));
      await made.ready();
      await made.close();
    });
    after(async () => {
      await oldApp?.close();
      await old?.close();
    });

    it('--dry-run counts and writes nothing', async () => {
      const run = await cli(['import', ...sourceArgs(old), '--table', table, '--endpoint', ENDPOINT, '--checkpoint', checkpoint, '--dry-run']);
      assert.equal(run.code, 1, `exit 1: corrupt items were skipped\n${run.stderr}`);
      assert.match(run.stdout, /^dry run: /);
      assert.deepEqual(summary(run.stdout), { copied: USERS, expired: bad.expired, alreadyHere: 0, corrupt: 1, read: USERS + 1 + bad.expired });
      const store = new SessionStore(localOptions({ table }));
      assert.equal((await liveKeys(contextOf(store))).length, 0);
      await store.close();
      assert.equal(existsSync(checkpoint), false);
    });

    it(`copies the ${USERS} live sessions, skips the expired one and reports the corrupt one by its key; a re-run copies nothing twice`, async () => {
      const run = await cli(['import', ...sourceArgs(old), '--table', table, '--endpoint', ENDPOINT, '--checkpoint', checkpoint]);
      assert.equal(run.code, 1, run.stderr);
      assert.deepEqual(summary(run.stdout), { copied: USERS, expired: bad.expired, alreadyHere: 0, corrupt: 1, read: USERS + 1 + bad.expired });
      assert.ok(run.stderr.includes(`corrupt item "${bad.corruptKey}" skipped`), run.stderr);
      assert.equal(existsSync(checkpoint), false, 'the checkpoint goes once the import is complete');

      const again = await cli(['import', ...sourceArgs(old), '--table', table, '--endpoint', ENDPOINT, '--checkpoint', checkpoint]);
      assert.deepEqual(summary(again.stdout), { copied: 0, expired: bad.expired, alreadyHere: USERS, corrupt: 1, read: USERS + 1 + bad.expired });
    });

    it('the app switched to this store finds every user signed in, with their data and their cookie; a logout sticks; read-through has nothing left to copy', async () => {
      const store = new DynamoDBStore({ ...localOptions({ table }), migrateFrom: old.store });
      const newApp = await listen(siteApp(dynamoSession({ store, secret: SECRET, resave: false, saveUninitialized: false, cookie: COOKIE })));
      try {
        for (let start = 0; start < users.length; start += 10) {
          await Promise.all(
            users.slice(start, start + 10).map(async (u) => {
              assert.deepEqual(await u.client.json(`${newApp.url}/me`), { user: expectedUser(u.name) }, `${u.name} is still signed in`);
              assert.equal(u.client.cookie('connect.sid'), u.cookie, `${u.name}'s cookie is unchanged`);
            }),
          );
        }
        const leaving = users[7]!;
        assert.equal((await leaving.client.request(`${newApp.url}/logout`, { method: 'POST' })).status, 200);
        assert.deepEqual(await leaving.client.json(`${newApp.url}/me`), { user: null });
        assert.equal(await oldGet(old.store, leaving.id), null, 'gone from the old store too');
        const stats = store.store.stats();
        assert.equal(stats.migrated, 0, 'the import copied every session: read-through copied none');
        assert.equal(stats.servedByFallback, 0);

        // The logout sticks: another import does not bring the session back.
        const again = await cli(['import', ...sourceArgs(old), '--table', table, '--endpoint', ENDPOINT, '--checkpoint', checkpoint]);
        assert.deepEqual(summary(again.stdout), { copied: 0, expired: bad.expired, alreadyHere: USERS - 1, corrupt: 1, read: USERS + bad.expired });
        assert.deepEqual(await leaving.client.json(`${newApp.url}/me`), { user: null });
      } finally {
        await newApp.close();
        await store.store.close();
      }
    });
  });
}

describe('import: interruptions and failures', () => {
  it('Ctrl-C mid-import exits 130 with the checkpoint holding; the same command again finishes, and nothing is copied twice', async () => {
    const old = await openOldStore('connect-dynamodb');
    const oldApp = await listen(siteApp(session({ store: old.store, secret: SECRET, resave: false, saveUninitialized: false, cookie: COOKIE })));
    const table = uniqueTable('import_sigint');
    const checkpoint = join(work, 'sigint.checkpoint.json');
    try {
      await signIn(oldApp.url);
      const args = ['import', '--from', 'connect-dynamodb', '--source-table', old.table!, '--table', table, '--endpoint', ENDPOINT, '--checkpoint', checkpoint, '--segments', '2', '--page-size', '2', '--concurrency', '1'];
      const made = new SessionStore(localOptions({ table }));
      await made.ready();
      const child = spawn(process.execPath, [await cliPath(), ...args], { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c) => (stdout += c));
      child.stderr.on('data', (c) => (stderr += c));
      const exited = once(child, 'exit');
      // The first page written down: the import is under way.
      while (!existsSync(checkpoint) && child.exitCode === null) await new Promise((r) => setTimeout(r, 5));
      process.kill(child.pid!, 'SIGINT');
      const [code] = await exited;
      assert.equal(code, 130, `exit 130 when interrupted\n${stderr}`);
      assert.match(stderr, /interrupted; progress is in/);
      const first = summary(stdout);
      assert.ok(first.copied > 0 && first.copied < USERS, `stopped part-way (copied ${first.copied})`);
      const saved = JSON.parse(readFileSync(checkpoint, 'utf8')) as { counts: { copied: number }; lanes: unknown[] };
      assert.equal(saved.counts.copied, first.copied, 'the checkpoint holds what was copied');
      assert.equal(saved.lanes.length, 2);
      assert.equal((await liveKeys(contextOf(made))).length, first.copied);

      const rest = await cli(args);
      assert.equal(rest.code, 0, rest.stderr);
      const total = summary(rest.stdout);
      assert.equal(total.copied, USERS, 'all copied across both runs');
      assert.equal(total.alreadyHere, 0, 'the re-run resumed after what the first copied');
      assert.match(rest.stdout, new RegExp(`resumed: includes ${first.copied} copied by earlier runs`));
      assert.equal(existsSync(checkpoint), false);
      assert.equal((await liveKeys(contextOf(made))).length, USERS);
      await made.close();
    } finally {
      await oldApp.close();
      await old.close();
    }
  });

  it('a checkpoint of another import is refused (exit 2), not mixed in', async () => {
    const table = uniqueTable('import_other');
    const checkpoint = join(work, 'other.checkpoint.json');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(checkpoint, JSON.stringify({ identity: { from: 'redis', source: 'redis://elsewhere', prefix: 'sess:', table }, lanes: [{ position: '5', done: false }], counts: {} }));
    const made = new SessionStore(localOptions({ table }));
    await made.ready();
    await made.close();
    const run = await cli(['import', '--from', 'connect-dynamodb', '--source-table', 'nothing_here', '--table', table, '--endpoint', ENDPOINT, '--checkpoint', checkpoint]);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /belongs to another import/);
  });

  it('an unreachable Redis is exit 3 with what to check; a missing --source-table is a usage error', async () => {
    const table = uniqueTable('import_fail');
    const made = new SessionStore(localOptions({ table }));
    await made.ready();
    await made.close();
    const run = await cli(['import', '--from', 'redis', '--url', 'redis://127.0.0.1:1', '--table', table, '--endpoint', ENDPOINT]);
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stderr, /could not connect to Redis at redis:\/\/127\.0\.0\.1:1/);
    const usage = await cli(['import', '--from', 'dynamodb-store', '--table', table, '--endpoint', ENDPOINT]);
    assert.equal(usage.code, 2, usage.stderr);
    assert.match(usage.stderr, /needs --source-table/);
  });
});
