/**
 * The `dynamodb-session` command, run as a child process against DynamoDB
 * Local, as an operator would run it; and the deployment templates checked
 * against the table the library creates.
 */
import { builtPackage } from './helpers/packed.js';
import { liveKeys } from '../src/core/table-scan.js';
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateTableCommand, DescribeTableCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { parse, type Tags } from 'yaml';
import { contextOf, SessionStore } from '../src/store/session-store.js';
import { freePort } from '../src/embedded/dynamodb-local.js';
import { createTableInput, TTL_ATTRIBUTE } from '../src/table/schema.js';
import { cliPath } from './helpers/bundle.js';
import { ENDPOINT, localOptions, uniqueTable } from './helpers/dynamo.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

// AWS_EC2_METADATA_DISABLED: should a case leave the default chain without an answer, it must not ask the real 169.254.169.254.
const ENV = { ...process.env, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true', DSM_TABLE: '', DSM_ENDPOINT: '', DSM_CONTEXT_XML: '', DSM_USER_INDEX: '' };

async function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const main = await cliPath();
  return new Promise((resolve) => {
    execFile(process.execPath, [main, ...args], { env: { ...ENV, ...env }, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The CLI on `table` at DynamoDB Local. */
const on = (table: string, ...args: string[]) => cli([...args, '--table', table, '--endpoint', ENDPOINT]);

const execAsync = promisify(execFile);

const stores: SessionStore[] = [];
after(() => Promise.all(stores.map((s) => s.close())));

/** A store on `table` that leaves the table alone (the CLI made it, or the test will). */
function storeOn(table: string, extra = {}): SessionStore {
  const store = new SessionStore(localOptions({ table, skipTableCheck: true, createIfNotExist: false, ...extra }));
  stores.push(store);
  return store;
}

const nowSec = () => Math.floor(Date.now() / 1000);

describe('dynamodb-session create-table', () => {
  it("with no --endpoint it goes where AWS_ENDPOINT_URL_DYNAMODB points, as the AWS SDK does, and says so", async () => {
    const table = uniqueTable('cli');
    const made = await cli(['create-table', '--table', table], { AWS_ENDPOINT_URL_DYNAMODB: ENDPOINT });
    assert.equal(made.code, 0, made.stdout + made.stderr);
    const missing = await cli(['list', '--table', `${table}_not`], { AWS_ENDPOINT_URL_DYNAMODB: ENDPOINT });
    assert.match(missing.stderr, new RegExp(`does not exist at endpoint ${ENDPOINT.replace(/\./g, '\\.')} \\(AWS_ENDPOINT_URL_DYNAMODB\\), region us-east-1 `));
  });

  it('an engine that answers with an error (DynamoDB Local: HTTP 500 for a name that differs from an existing table only in case) is reported as its answer, not as "did not answer"', async () => {
    const table = uniqueTable('cli');
    assert.equal((await on(table, 'create-table')).code, 0);
    const run = await on(table.toUpperCase(), 'create-table');
    const text = run.stdout + run.stderr;
    assert.equal(run.code, 3, text);
    assert.doesNotMatch(text, /did not answer/);
    assert.match(text, /answered HTTP 500 \(InternalFailure/);
  });

  it('creates the seed table (10/5 provisioned, TTL on expiresAt); run again it leaves it as it is, exit 0', async () => {
    const table = uniqueTable('cli');
    const first = await on(table, 'create-table');
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /created table .*PROVISIONED 10 RCU \/ 5 WCU.*TTL ENABLED on expiresAt/);
    const { Table } = await storeOn(table).client.send(new DescribeTableCommand({ TableName: table }));
    assert.deepEqual(Table?.KeySchema, [{ AttributeName: 'sessionId', KeyType: 'HASH' }]);
    assert.equal(Table?.ProvisionedThroughput?.ReadCapacityUnits, 10);
    assert.equal(Table?.ProvisionedThroughput?.WriteCapacityUnits, 5);
    const again = await on(table, 'create-table');
    assert.equal(again.code, 0);
    assert.match(again.stdout, /exists already/);
  });

  it('takes billing mode, capacities and the user index', async () => {
    const table = uniqueTable('cli');
    const run = await on(table, 'create-table', '--read-capacity', '3', '--write-capacity', '2', '--user-index');
    assert.equal(run.code, 0, run.stderr);
    const { Table } = await storeOn(table).client.send(new DescribeTableCommand({ TableName: table }));
    assert.equal(Table?.ProvisionedThroughput?.ReadCapacityUnits, 3);
    assert.equal(Table?.GlobalSecondaryIndexes?.[0]?.IndexName, 'userId-index');
    const onDemand = uniqueTable('cli');
    assert.equal((await on(onDemand, 'create-table', '--billing-mode', 'PAY_PER_REQUEST')).code, 0);
    const d = await storeOn(onDemand).client.send(new DescribeTableCommand({ TableName: onDemand }));
    assert.equal(d.Table?.BillingModeSummary?.BillingMode, 'PAY_PER_REQUEST');
  });

  it('refuses capacities with on-demand billing and a bad billing mode: usage error, exit 2, nothing created', async () => {
    const table = uniqueTable('cli');
    const mixed = await on(table, 'create-table', '--billing-mode', 'PAY_PER_REQUEST', '--read-capacity', '5');
    assert.equal(mixed.code, 2);
    assert.match(mixed.stderr, /PROVISIONED only/);
    assert.equal((await on(table, 'create-table', '--billing-mode', 'FREE')).code, 2);
    assert.equal((await on(table, 'create-table', '--read-capacity', '-1')).code, 2);
    await assert.rejects(storeOn(table).client.send(new DescribeTableCommand({ TableName: table })), /non-existent|ResourceNotFound/);
  });
});

describe('dynamodb-session doctor', () => {
  it('a table made by create-table passes every check: credentials, schema, TTL, billing, each permission, clock', async () => {
    const table = uniqueTable('cli');
    await on(table, 'create-table', '--user-index');
    const run = await on(table, 'doctor', '--user-index');
    assert.equal(run.code, 0, run.stdout);
    assert.doesNotMatch(run.stdout, /✘/);
    for (const expected of [/✔ credentials: .*environment variables/, /✔ table .* hash key sessionId \(S\)/, /✔ TTL ENABLED on expiresAt/, /✔ billing/, /✔ user index "userId-index"/, /✔ clock/]) {
      assert.match(run.stdout, expected);
    }
    for (const action of ['GetItem', 'UpdateItem', 'DeleteItem', 'DescribeTable', 'DescribeTimeToLive', 'Scan', 'BatchWriteItem', 'Query']) {
      assert.match(run.stdout, new RegExp(`✔ permission dynamodb:${action}\\b`));
    }
  });

  it('a table with the wrong key schema is ✘ with the fix, exit 1', async () => {
    const table = uniqueTable('cli');
    await storeOn(table).client.send(
      new CreateTableCommand({
        TableName: table,
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    const run = await on(table, 'doctor');
    assert.equal(run.code, 1);
    assert.match(run.stdout, /✘ table .* cannot hold sessions: its hash key is "id"/);
    assert.match(run.stdout, /fix: /);
  });

  it('a table with TTL off is ✘ naming the command that turns it on, exit 1', async () => {
    const table = uniqueTable('cli');
    const store = storeOn(table);
    await store.client.send(new CreateTableCommand(createTableInput(store.config)));
    const run = await on(table, 'doctor');
    assert.equal(run.code, 1);
    assert.match(run.stdout, /✘ TTL is DISABLED/);
    assert.match(run.stdout, /update-time-to-live/);
    assert.match(run.stdout, /✔ table/);
  });

  it('a missing table is ✘ with the create-table command, exit 1; an unreachable endpoint exits 3', async () => {
    const missing = await on(uniqueTable('cli'), 'doctor');
    assert.equal(missing.code, 1);
    assert.match(missing.stdout, /✘ table .* does not exist[\s\S]*create-table/);
    const port = await freePort();
    const down = await cli(['doctor', '--table', uniqueTable('cli'), '--endpoint', `http://127.0.0.1:${port}`]);
    assert.equal(down.code, 3, down.stdout + down.stderr);
    assert.match(down.stdout, new RegExp(`✘ DynamoDB at endpoint http://127\\.0\\.0\\.1:${port} \\(option "endpoint"\\), region \\S+ \\([^)]+\\) did not answer`));
  });
});

describe('dynamodb-session list, show, delete, stats', () => {
  const table = uniqueTable('cli');
  let store: SessionStore;

  it('list pages through live sessions, short keys unless --full; --expired adds the expired ones', async () => {
    store = storeOn(table);
    // No TTL on this table: DynamoDB Local would delete the expired session the tests look at.
    await store.client.send(new CreateTableCommand(createTableInput(store.config)));
    for (const id of ['session-aaaaaaaaaaaaaaaaaaaa', 'session-bbbbbbbbbbbbbbbbbbbb', 'session-cccccccccccccccccccc']) await store.set(id, { id });
    await store.set('session-expired-dddddddddddddd', { old: true }, { expires: Date.now() - 60_000 });

    const first = await on(table, 'list', '--limit', '2');
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^SESSION\s+EXPIRES\s+VERSION\s+BYTES\s+USER\s+LOCK/m);
    assert.doesNotMatch(first.stdout.split('more:')[0]!, /session-[a-c]{20}/);
    // Sessions by handle (hashSessionIds off: a key is a live id), shortened.
    assert.equal((first.stdout.match(/^dsh#\S*…/gm) ?? []).length, 2, first.stdout);
    // The next page's command, run as printed: it keeps the table, the endpoint and the page size.
    const more = /^more: dynamodb-session (list .*)$/m.exec(first.stdout);
    assert.ok(more, first.stdout);
    assert.match(more[1]!, new RegExp(`--table ${table} --endpoint ${ENDPOINT.replace(/\./g, '\\.')} --limit 2 --after \\S+$`));
    // As a shell would split it: a handle's '#' makes shellWord quote it.
    const second = await cli([...more[1]!.split(' ').map((w) => w.replace(/^'(.*)'$/, '$1')), '--full']);
    assert.equal(second.code, 0);
    assert.equal((second.stdout.match(/^dsh#[A-Za-z0-9_-]{43}\s/gm) ?? []).length, 1, second.stdout);
    assert.doesNotMatch(second.stdout, /more:/);

    const all = JSON.parse((await on(table, 'list', '--json', '--expired')).stdout) as { sessions: Array<{ key: string; expired: boolean }> };
    assert.equal(all.sessions.length, 4);
    assert.deepEqual(all.sessions.filter((s) => s.expired).map((s) => s.key), [store.handleOf('session-expired-dddddddddddddd')]);
  });

  it('no raw session id in list, --full, --json or the --after hint; show and delete take the handle list printed', async () => {
    const ids = ['session-aaaaaaaaaaaaaaaaaaaa', 'session-bbbbbbbbbbbbbbbbbbbb', 'session-cccccccccccccccccccc', 'session-expired-dddddddddddddd'];
    const outputs = [await on(table, 'list', '--limit', '1'), await on(table, 'list', '--full'), await on(table, 'list', '--json', '--expired', '--limit', '2')];
    for (const run of outputs) for (const id of ids) assert.equal(run.stdout.includes(id), false, `${id} in:\n${run.stdout}`);
    const handle = store.handleOf('session-cccccccccccccccccccc');
    const shown = await on(table, 'show', handle);
    assert.equal(shown.code, 0, shown.stderr);
    assert.deepEqual(JSON.parse(shown.stdout).data, { id: 'session-cccccccccccccccccccc' });
    assert.equal(JSON.parse(shown.stdout).key, handle);
    const page = JSON.parse((await on(table, 'list', '--json', '--limit', '1')).stdout) as { next: string };
    const next = await on(table, 'list', '--json', '--limit', '1', '--after', page.next);
    assert.equal(next.code, 0, next.stderr);
    assert.notEqual((JSON.parse(next.stdout) as { sessions: Array<{ key: string }> }).sessions[0]?.key, page.next);
  });

  it('show prints the decoded session with version, expiry and lock; a missing key exits 1', async () => {
    const run = await on(table, 'show', 'session-aaaaaaaaaaaaaaaaaaaa');
    assert.equal(run.code, 0, run.stderr);
    const shown = JSON.parse(run.stdout);
    assert.deepEqual(shown.data, { id: 'session-aaaaaaaaaaaaaaaaaaaa' });
    assert.equal(shown.version, 1);
    assert.equal(shown.expired, false);
    assert.match(shown.expiresAt, /^\d{4}-\d\d-\d\dT/);
    assert.equal(shown.lock, null);
    const loaded = await store.load('session-aaaaaaaaaaaaaaaaaaaa', { lock: true });
    const locked = JSON.parse((await on(table, 'show', 'session-aaaaaaaaaaaaaaaaaaaa')).stdout);
    assert.equal(locked.lock.owner, loaded!.handle.lease!.owner);
    await store.release(loaded!.handle);
    const missing = await on(table, 'show', 'no-such-session');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no session "no-such-session"/);
  });

  it('stats counts live, expired-not-yet-deleted and locked sessions and reports TTL', async () => {
    const run = await on(table, 'stats', '--json');
    assert.equal(run.code, 0, run.stderr);
    const stats = JSON.parse(run.stdout);
    assert.equal(stats.live, 3);
    assert.equal(stats.expired, 1);
    assert.equal(stats.locked, 0);
    assert.equal(stats.ttl, 'DISABLED');
    assert.equal(stats.billingMode, 'PROVISIONED');
    const quick = await on(table, 'stats', '--no-scan');
    assert.match(quick.stdout, /itemCount/);
    assert.doesNotMatch(quick.stdout, /^live/m);
  });

  it('delete takes a handle, whole or shortened as list prints it', async () => {
    await store.set('session-eeeeeeeeeeeeeeeeeeee', { id: 'e' });
    const handle = store.handleOf('session-eeeeeeeeeeeeeeeeeeee');
    const run = await on(table, 'delete', `${handle.slice(0, 12)}…${handle.slice(-4)}`);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.includes('session-eeee'), false);
    assert.equal(await store.get('session-eeeeeeeeeeeeeeeeeeee'), null);
  });

  it('delete removes one session; deleting it again exits 1', async () => {
    const run = await on(table, 'delete', 'session-bbbbbbbbbbbbbbbbbbbb');
    assert.equal(run.code, 0, run.stderr);
    assert.equal(await store.get('session-bbbbbbbbbbbbbbbbbbbb'), null);
    assert.deepEqual(await store.get('session-cccccccccccccccccccc'), { id: 'session-cccccccccccccccccccc' });
    assert.equal((await on(table, 'delete', 'session-bbbbbbbbbbbbbbbbbbbb')).code, 1);
  });

  it('read-only commands on a missing table exit 1 with the create-table fix, and create nothing', async () => {
    const missing = uniqueTable('cli');
    for (const command of [['list'], ['show', 'x'], ['stats'], ['purge-expired'], ['revoke-user', 'u']]) {
      const run = await on(missing, ...command);
      assert.equal(run.code, 1, `${command[0]}: ${run.stderr}`);
      assert.match(run.stderr, /TableNotFoundError \[DSM_TABLE_NOT_FOUND\]|does not exist/);
      assert.equal(run.stderr.trim().split('\n').length, 1, 'one line, no stack');
    }
    await assert.rejects(storeOn(missing).client.send(new DescribeTableCommand({ TableName: missing })), /non-existent|ResourceNotFound/);
  });
});

describe('dynamodb-session revoke-user', () => {
  for (const indexed of [true, false]) {
    it(`deletes every session of the user ${indexed ? 'with a Query on the user index' : 'with a Scan when there is no index'}`, async () => {
      const table = uniqueTable('cli');
      assert.equal((await on(table, 'create-table', ...(indexed ? ['--user-index'] : []))).code, 0);
      const store = storeOn(table, indexed ? { userIndex: true } : {});
      for (let i = 0; i < 4; i++) await store.set(`erin-${i}`, { i }, { userId: 'erin' });
      await store.set('frank-0', {}, { userId: 'frank' });
      const run = await cli(['revoke-user', 'erin', '--table', table, '--endpoint', ENDPOINT, ...(indexed ? ['--user-index'] : [])]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, indexed ? /deleted 4 sessions of user "erin" \(Query on index userId-index\)/ : /deleted 4 sessions of user "erin" \(Scan of the whole table\)/);
      for (let i = 0; i < 4; i++) assert.equal(await store.get(`erin-${i}`), null);
      assert.deepEqual(await store.get('frank-0'), {});
    });
  }
});

describe('dynamodb-session purge-expired', () => {
  it('a dry run counts, then a purge deletes the expired sessions but not one under a live lease; plain lines off a TTY', async () => {
    const table = uniqueTable('cli');
    const store = storeOn(table);
    await store.client.send(new CreateTableCommand(createTableInput(store.config)));
    for (let i = 0; i < 12; i++) await store.set(`old-${i}`, { i }, { expires: Date.now() - 120_000 });
    for (let i = 0; i < 5; i++) await store.set(`new-${i}`, { i });
    await store.client.send(
      new UpdateItemCommand({
        TableName: table,
        Key: { sessionId: { S: 'old-0' } },
        UpdateExpression: 'SET lockOwner = :o, lockExpiresAt = :u',
        ExpressionAttributeValues: { ':o': { S: 'busy' }, ':u': { N: String(Date.now() + 600_000) } },
      }),
    );
    const dry = await on(table, 'purge-expired', '--dry-run', '--segments', '2');
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /dry run: scanned 17, expired 12, deleted 0, skipped 1 \(would delete 11\)/);
    assert.equal((await liveKeys(contextOf(store))).length, 5);
    const run = await on(table, 'purge-expired');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^scanned 17, expired 12, deleted 11, skipped 1$/m);
    assert.doesNotMatch(run.stderr, /\[[█░]+\]/, 'no progress bar when stderr is not a terminal');
    const left = JSON.parse((await on(table, 'stats', '--json')).stdout);
    assert.equal(left.live, 5);
    assert.equal(left.expired, 1);
    assert.equal((await on(table, 'purge-expired', '--segments', '0')).code, 2);
  });
});

describe('dynamodb-session iam-policy', () => {
  const actionsOf = (run: Run) => (JSON.parse(run.stdout) as { Statement: Array<{ Action: string[]; Resource: string[] }> }).Statement;

  const ACCOUNT = ['--account', '123456789012'];
  const RUNTIME = ['dynamodb:DeleteItem', 'dynamodb:DescribeTable', 'dynamodb:DescribeTimeToLive', 'dynamodb:GetItem', 'dynamodb:UpdateItem'];
  const ADMIN_ONLY = /CreateTable|UpdateTable|UpdateTimeToLive|DeleteTable/;

  it('prints JSON with exactly the actions the configuration needs, on the table ARN', async () => {
    const basic = await cli(['iam-policy', '--table', 'Sessions', '--region', 'eu-west-1', ...ACCOUNT, '--no-create']);
    assert.equal(basic.code, 0, basic.stderr);
    const [statement, ...rest] = actionsOf(basic);
    assert.deepEqual(rest, []);
    // Sessions are one item by default (maxSessionBytes 400 KB): no PutItem nor BatchGetItem for chunks.
    assert.deepEqual(statement!.Action, RUNTIME);
    assert.deepEqual(statement!.Resource, ['arn:aws:dynamodb:eu-west-1:123456789012:table/Sessions']);

    const admin = await cli(['iam-policy', '--table', 'Sessions', '--features', 'admin', '--user-index', ...ACCOUNT]);
    assert.equal(admin.code, 0, admin.stderr);
    assert.equal(admin.stderr, '');
    assert.deepEqual(actionsOf(admin)[0]!.Action, [
      'dynamodb:BatchGetItem',
      'dynamodb:BatchWriteItem',
      'dynamodb:CreateTable',
      'dynamodb:DeleteItem',
      'dynamodb:DescribeTable',
      'dynamodb:DescribeTimeToLive',
      'dynamodb:GetItem',
      'dynamodb:Scan',
      'dynamodb:UpdateItem',
      'dynamodb:UpdateTable',
      'dynamodb:UpdateTimeToLive',
    ]);
    assert.deepEqual(actionsOf(admin)[1], { Sid: 'SessionUserIndex', Effect: 'Allow', Action: ['dynamodb:Query'], Resource: ['arn:aws:dynamodb:us-east-1:123456789012:table/Sessions/index/userId-index'] });
    assert.deepEqual(actionsOf(await cli(['iam-policy', '--table', 'Sessions', '--admin', '--user-index', ...ACCOUNT])), actionsOf(admin));
    const reaper = actionsOf(await cli(['iam-policy', '--table', 'Sessions', '--reaper', '--skip-table-check', ...ACCOUNT]));
    assert.deepEqual(reaper[0]!.Action, ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:Scan', 'dynamodb:UpdateItem']);
    assert.equal((await cli(['iam-policy', '--features', 'everything', ...ACCOUNT])).code, 2);
  });

  it('the runtime policy never creates or changes the table, even for createIfNotExist (the default): it says so, and that --admin is the operator\'s', async () => {
    const runtime = await cli(['iam-policy', '--table', 'Sessions', '--region', 'eu-west-1', ...ACCOUNT]);
    assert.equal(runtime.code, 0, runtime.stderr);
    assert.deepEqual(actionsOf(runtime)[0]!.Action, RUNTIME);
    const features = ['purge', 'list', 'clear', 'revoke', 'streams'];
    const runs = await Promise.all(features.map((feature) => cli(['iam-policy', '--table', 'Sessions', '--region', 'eu-west-1', ...ACCOUNT, '--features', feature, '--user-index'])));
    runs.forEach((run, i) => {
      assert.equal(run.code, 0, run.stderr);
      assert.equal(actionsOf(run).flatMap((s) => s.Action).some((a) => ADMIN_ONLY.test(a)), false, features[i]);
    });
    assert.match(runtime.stderr, /cannot create the table, which createIfNotExist \(on\) would do.*dynamodb-session create-table --table Sessions.*iam-policy --admin.*createIfNotExist: false \(--no-create here\)/);
  });

  it('refuses to leave the account or region of the ARN open unless --allow-wildcards, naming the flags', async () => {
    const open = await cli(['iam-policy', '--table', 'Sessions'], { AWS_REGION: '' });
    assert.equal(open.code, 2);
    assert.equal(open.stdout, '');
    assert.match(open.stderr, /no account and region for the table ARN: give --region and --account, or --allow-wildcards/);
    const noAccount = await cli(['iam-policy', '--table', 'Sessions', '--region', 'eu-west-1', '--no-create']);
    assert.equal(noAccount.code, 2);
    assert.match(noAccount.stderr, /no account for the table ARN: give --account, or --allow-wildcards/);
    const noRegion = await cli(['iam-policy', '--table', 'Sessions', ...ACCOUNT, '--no-create'], { AWS_REGION: '' });
    assert.equal(noRegion.code, 2);
    assert.match(noRegion.stderr, /no region .*give --region, or --allow-wildcards/);
    const wild = await cli(['iam-policy', '--table', 'Sessions', '--no-create', '--allow-wildcards'], { AWS_REGION: '' });
    assert.equal(wild.code, 0, wild.stderr);
    assert.deepEqual(actionsOf(wild)[0]!.Resource, ['arn:aws:dynamodb:*:*:table/Sessions']);
    const exact = await cli(['iam-policy', '--table', 'Sessions', '--region', 'eu-west-1', ...ACCOUNT, '--no-create']);
    assert.equal(exact.stderr, '');
  });

  it('takes settings from flags over environment over context.xml over defaults', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'dsm-cli-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const xml = join(dir, 'context.xml');
    writeFileSync(xml, '<Context><Manager className="com.amazonaws.services.dynamodb.sessionmanager.DynamoDBSessionManager" Table="FromXml" RegionId="eu-central-1" /></Context>');
    const resource = (run: Run) => actionsOf(run)[0]!.Resource[0];
    assert.equal(resource(await cli(['iam-policy', '--allow-wildcards'], { AWS_REGION: '' })), 'arn:aws:dynamodb:*:*:table/Tomcat_SessionState');
    assert.equal(resource(await cli(['iam-policy', '--allow-wildcards', '--context-xml', xml], { AWS_REGION: '' })), 'arn:aws:dynamodb:eu-central-1:*:table/FromXml');
    assert.equal(resource(await cli(['iam-policy', '--allow-wildcards'], { DSM_CONTEXT_XML: xml, DSM_TABLE: 'FromEnv', AWS_REGION: 'sa-east-1' })), 'arn:aws:dynamodb:sa-east-1:*:table/FromEnv');
    assert.equal(resource(await cli(['iam-policy', '--allow-wildcards', '--table', 'FromFlag', '--region', 'ap-south-1'], { DSM_CONTEXT_XML: xml, DSM_TABLE: 'FromEnv' })), 'arn:aws:dynamodb:ap-south-1:*:table/FromFlag');
    const broken = await cli(['iam-policy', '--context-xml', join(dir, 'missing.xml')]);
    assert.equal(broken.code, 2);
    assert.match(broken.stderr, /ConfigError \[DSM_CONFIG\]: context\.xml file .* does not exist/);
  });
});

describe('dynamodb-session as a newcomer meets it', () => {
  /** Words of a hint printed between backquotes, to run as printed (no quoted values in these cases). */
  const hinted = (text: string, command: string) => {
    const m = new RegExp('`dynamodb-session (' + command + ' [^`]*)`').exec(text);
    assert.ok(m, `no \`dynamodb-session ${command} …\` hint in:\n${text}`);
    return m[1]!.split(' ');
  };
  const noWebWords = (text: string) => {
    assert.doesNotMatch(text, /\b503\b|the session is unchanged|session requests/, 'operator wording, not a web request\'s');
    assert.doesNotMatch(text, /^dynamodb-session-manager (error|warn)/m, 'no library log line');
  };

  it('revoke-user --user-index alice: the word after a bare --user-index is the user; --user-index=<name> names the index', async () => {
    const table = uniqueTable('cli');
    assert.equal((await on(table, 'create-table', '--user-index=sessions-by-user')).code, 0);
    const { Table } = await storeOn(table).client.send(new DescribeTableCommand({ TableName: table }));
    assert.equal(Table?.GlobalSecondaryIndexes?.[0]?.IndexName, 'sessions-by-user');
    const store = storeOn(table, { userIndex: 'sessions-by-user' });
    await store.set('alice-1', {}, { userId: 'alice' });
    await store.set('bob-1', {}, { userId: 'bob' });
    const named = await on(table, 'revoke-user', '--user-index=sessions-by-user', 'alice');
    assert.equal(named.code, 0, named.stderr);
    assert.match(named.stdout, /deleted 1 session of user "alice" \(Query on index sessions-by-user\)/);

    const other = uniqueTable('cli');
    assert.equal((await on(other, 'create-table', '--user-index')).code, 0);
    await storeOn(other, { userIndex: true }).set('alice-2', {}, { userId: 'alice' });
    const bare = await on(other, 'revoke-user', '--user-index', 'alice');
    assert.equal(bare.code, 0, bare.stderr);
    assert.match(bare.stdout, /deleted 1 session of user "alice" \(Query on index userId-index\)/);
    const spaced = await on(other, 'create-table', '--user-index', 'some-index');
    assert.equal(spaced.code, 2);
    assert.match(spaced.stderr, /--user-index=<name>/);
  });

  it('revoke-user of a user with no session exits 1, as show of a missing key does', async () => {
    const table = uniqueTable('cli');
    assert.equal((await on(table, 'create-table')).code, 0);
    await storeOn(table).set('carol-1', {}, { userId: 'carol' });
    const run = await on(table, 'revoke-user', 'nobody');
    assert.equal(run.code, 1, run.stdout);
    assert.match(run.stderr, /no session of user "nobody" in table/);
    assert.equal(run.stdout, '');
    assert.deepEqual(await storeOn(table).get('carol-1'), {});
  });

  it('a missing table: list, show, stats, purge-expired, revoke-user and doctor say it in one wording, with a create-table command that repeats --endpoint and --region and works as printed', async () => {
    const table = uniqueTable('cli');
    const flags = ['--table', table, '--endpoint', ENDPOINT, '--region', 'eu-west-1'];
    const said = new Set<string>();
    for (const command of [['list'], ['show', 'x'], ['stats'], ['purge-expired'], ['revoke-user', 'u'], ['doctor']]) {
      const run = await cli([...command, ...flags]);
      assert.equal(run.code, 1, `${command[0]}: ${run.stdout}${run.stderr}`);
      const text = command[0] === 'doctor' ? run.stdout : run.stderr;
      const what = new RegExp(`table "${table}" does not exist at endpoint ${ENDPOINT.replace(/\./g, '\\.')} \\(option "endpoint"\\), region \\S+ \\([^)]+\\)`).exec(text);
      assert.ok(what, `${command[0]}: ${text}`);
      said.add(hinted(text, 'create-table').join(' '));
      noWebWords(run.stdout + run.stderr);
    }
    assert.equal(said.size, 1, [...said].join('\n'));
    const create = [...said][0]!.split(' ');
    assert.deepEqual(create, ['create-table', ...flags]);
    assert.equal((await cli(create)).code, 0, 'the hint, run as printed, creates the table where the command looked');
    assert.equal((await cli(['stats', ...flags])).code, 0);
  });

  it('an unreachable endpoint: list, stats and doctor say it in one wording, exit 3, with no web-request words and no library log line', async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    for (const command of ['list', 'stats', 'doctor']) {
      const run = await cli([command, '--table', uniqueTable('cli'), '--endpoint', endpoint]);
      assert.equal(run.code, 3, `${command}: ${run.stdout}${run.stderr}`);
      const text = command === 'doctor' ? run.stdout : run.stderr;
      assert.match(text, new RegExp(`DynamoDB at endpoint ${endpoint.replace(/\./g, '\\.')} \\(option "endpoint"\\), region \\S+ \\([^)]+\\) did not answer \\(.*ECONNREFUSED.*\\)`));
      assert.match(text, /check --endpoint and --region, that DynamoDB \(Local\) is running there/);
      noWebWords(run.stdout + run.stderr);
    }
  });

  it('an endpoint that is an HTTP server but not DynamoDB (404 HTML): "does not speak the DynamoDB API" on one line, exit 3, in list, stats and doctor', async () => {
    const server = createServer((req, res) => {
      req.resume();
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('<!doctype html><title>404 Not Found</title><h1>Not Found</h1>');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      for (const command of ['list', 'stats', 'doctor']) {
        const run = await cli([command, '--table', uniqueTable('cli'), '--endpoint', endpoint]);
        assert.equal(run.code, 3, `${command}: ${run.stdout}${run.stderr}`);
        const text = command === 'doctor' ? run.stdout : run.stderr;
        assert.match(text, new RegExp(`endpoint ${endpoint.replace(/\./g, '\\.')} \\(option "endpoint"\\), region \\S+ \\([^)]+\\) does not speak the DynamoDB API \\(it answered with HTTP 404 \\(text/html\\)\\)`));
        assert.doesNotMatch(text, /IAM|refused/);
        if (command !== 'doctor') assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
        noWebWords(run.stdout + run.stderr);
      }
    } finally {
      server.close();
    }
  });

  it('every fix that is a command repeats the --endpoint, --region and --profile in use (doctor on a table without TTL)', async (t) => {
    const table = uniqueTable('cli');
    const store = storeOn(table);
    await store.client.send(new CreateTableCommand(createTableInput(store.config)));
    const dir = mkdtempSync(join(tmpdir(), 'dsm-cli-profile-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'credentials'), '[ops]\naws_access_key_id = local\naws_secret_access_key = local\n');
    const run = await cli(['doctor', '--table', table, '--endpoint', ENDPOINT, '--region', 'eu-west-1', '--profile', 'ops'], {
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'),
      AWS_CONFIG_FILE: join(dir, 'config'),
    });
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stdout, /✔ credentials: .*profile "ops"/);
    const fix = /✘ TTL is DISABLED.*\n\s+fix: (.*)/.exec(run.stdout)?.[1] ?? '';
    assert.match(fix, new RegExp(`aws dynamodb update-time-to-live --table-name ${table} --endpoint-url ${ENDPOINT.replace(/\./g, '\\.')} --region eu-west-1 --profile ops `));
    assert.deepEqual(hinted(fix, 'purge-expired'), ['purge-expired', '--table', table, '--endpoint', ENDPOINT, '--region', 'eu-west-1', '--profile', 'ops']);
  });

  it('show and delete take a key shortened as list prints it; a key that fits none or several says what to do', async () => {
    const table = uniqueTable('cli');
    assert.equal((await on(table, 'create-table')).code, 0);
    const store = storeOn(table);
    await store.set('f00dcafe0123456789abcdef-one', { n: 1 });
    await store.set('f00dcafe0123456789abcdef-two', { n: 2 });
    await store.set('f00dcafe0123-ambiguous-aaaa-x', { n: 3 });
    await store.set('f00dcafe0123-ambiguous-bbbb-x', { n: 4 });
    const listed = await on(table, 'list');
    assert.match(listed.stdout, /show and delete take them as printed; --full prints them whole/);
    // list prints handles (no live id); an operator may still type a key shortened.
    const short = 'f00dcafe0123…-one';
    const shown = await on(table, 'show', short);
    assert.equal(shown.code, 0, shown.stderr);
    assert.deepEqual(JSON.parse(shown.stdout).data, { n: 1 });
    assert.equal(JSON.parse(shown.stdout).key, store.handleOf('f00dcafe0123456789abcdef-one'));
    const typed = await on(table, 'show', 'f00dcafe0123...-two');
    assert.deepEqual(JSON.parse(typed.stdout).data, { n: 2 }, 'three dots for the ellipsis work too');

    const several = await on(table, 'show', 'f00dcafe0123…-x');
    assert.equal(several.code, 1);
    assert.match(several.stderr, /fits 2 sessions .*"dsh#.*list --full/);
    const none = await on(table, 'show', 'f00dcafe0123…zzzz');
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no session "f00dcafe0123…zzzz"/);
    const whole = await on(table, 'show', 'f00dcafe0123');
    assert.equal(whole.code, 1);
    assert.match(whole.stderr, /no session "f00dcafe0123" .*`list` shortens long keys; give one as it prints it, or the whole key from `list --full`/);

    const deleted = await on(table, 'delete', short);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.ok(deleted.stdout.includes(`deleted session "${store.handleOf('f00dcafe0123456789abcdef-one')}"`), deleted.stdout);
    assert.equal(await store.get('f00dcafe0123456789abcdef-one'), null);
    assert.equal((await on(table, 'delete', 'f00dcafe0123…-x')).code, 1, 'an ambiguous key deletes nothing');
    assert.equal((await liveKeys(contextOf(store))).length, 3);
  });

  it('--version of the built command prints the version of package.json', { timeout: 180_000 }, async () => {
    const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
    const source = await cli(['--version']);
    assert.equal(source.stdout.trim(), version);
    // The build as npm packs it (tsup.config.ts), in a folder of its own (the tree's fresh dist/ when npm test built it).
    const work = await builtPackage();
    const bin = (JSON.parse(readFileSync(join(work, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin['dynamodb-session']!;
    const built = await execAsync(process.execPath, [join(work, bin), '--version'], { cwd: tmpdir() });
    assert.equal(built.stdout.trim(), version);
  });
});

describe('dynamodb-session usage', () => {
  it('--help works on every command and lists the common flags; unknown flags exit 2', async () => {
    const top = await cli(['--help']);
    assert.equal(top.code, 0);
    assert.match(top.stdout, /Exit codes: 0 ok; 1 .*; 2 usage error; 3 /);
    const commands = ['create-table', 'doctor', 'list', 'show', 'delete', 'revoke-user', 'purge-expired', 'stats', 'iam-policy'];
    const helps = await Promise.all(commands.map((command) => cli([command, '--help'])));
    commands.forEach((command, i) => {
      assert.match(top.stdout, new RegExp(`\\n  ${command}\\b`));
      assert.equal(helps[i]!.code, 0, command);
      for (const flag of ['--table', '--region', '--endpoint', '--profile', '--context-xml']) assert.match(helps[i]!.stdout, new RegExp(flag), `${command} ${flag}`);
    });
    const unknown = await cli(['list', '--bogus']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown option '--bogus'/);
    assert.equal((await cli(['no-such-command'])).code, 2);
  });

  it('prints no AWS SDK Node-version notice', async () => {
    // A fully specified policy: iam-policy's own advice (region, account, --no-create) goes to stderr otherwise.
    const run = await cli(['iam-policy', '--region', 'eu-west-1', '--account', '123456789012', '--no-create'], { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: '' });
    assert.equal(run.code, 0);
    assert.equal(run.stderr, '');
  });
});

// CloudFormation's short tags (!Ref, !If, …) as their long forms, so the templates parse as plain data.
const CFN_TAGS: Tags = ['Ref', 'Condition', 'Sub', 'GetAtt', 'If', 'Equals', 'Not', 'And', 'Or', 'Join', 'Select', 'Split', 'FindInMap', 'Base64', 'GetAZs', 'ImportValue'].flatMap((name) => {
  const key = name === 'Ref' || name === 'Condition' ? name : `Fn::${name}`;
  return [
    { tag: `!${name}`, resolve: (value: string) => ({ [key]: value }) },
    { tag: `!${name}`, collection: 'seq' as const, resolve: (seq: { toJSON(): unknown }) => ({ [key]: seq.toJSON() }) as never },
  ];
});

/** Evaluates Fn::If on the given conditions and drops AWS::NoValue, as CloudFormation would. */
function evaluate(node: unknown, conditions: Record<string, boolean>, params: Record<string, string>): unknown {
  const NONE = Symbol('none');
  const walk = (n: unknown): unknown => {
    if (Array.isArray(n)) return n.map(walk).filter((x) => x !== NONE);
    if (n && typeof n === 'object') {
      const o = n as Record<string, unknown>;
      if ('Fn::If' in o) {
        const [c, yes, no] = o['Fn::If'] as [string, unknown, unknown];
        return walk(conditions[c] ? yes : no);
      }
      if (o.Ref === 'AWS::NoValue') return NONE;
      if (typeof o.Ref === 'string' && o.Ref in params) return params[o.Ref];
      return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, walk(v)]).filter(([, v]) => v !== NONE));
    }
    return n;
  };
  return walk(node);
}

describe('deployment templates', () => {
  const load = (path: string) => parse(readFileSync(path, 'utf8'), { customTags: CFN_TAGS }) as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };

  for (const withIndex of [false, true]) {
    it(`docs/deploy/cloudformation.yaml defines the table createTableInput() makes (${withIndex ? 'with' : 'without'} the user index), TTL on expiresAt`, () => {
      const template = load('docs/deploy/cloudformation.yaml');
      const props = evaluate(template.Resources.SessionTable!.Properties, { WithUserIndex: withIndex, WithPurge: false }, { TableName: 'Tomcat_SessionState' }) as Record<string, unknown>;
      const expected = createTableInput({ table: 'Tomcat_SessionState', billingMode: 'PROVISIONED', readCapacityUnits: 10, writeCapacityUnits: 5, userIndex: withIndex ? 'userId-index' : undefined });
      assert.equal(props.TableName, expected.TableName);
      assert.equal(props.BillingMode, expected.BillingMode);
      assert.deepEqual(props.KeySchema, expected.KeySchema);
      assert.deepEqual(props.AttributeDefinitions, expected.AttributeDefinitions);
      assert.deepEqual(props.ProvisionedThroughput, expected.ProvisionedThroughput);
      assert.deepEqual(props.GlobalSecondaryIndexes, expected.GlobalSecondaryIndexes);
      assert.deepEqual(props.TimeToLiveSpecification, { AttributeName: TTL_ATTRIBUTE, Enabled: true });
      const policy = evaluate(template.Resources.SessionTablePolicy!.Properties, { WithUserIndex: withIndex, WithPurge: false }, {}) as {
        PolicyDocument: { Statement: Array<{ Action: string | string[] }> };
      };
      const actions = policy.PolicyDocument.Statement.flatMap((s) => s.Action).sort();
      assert.deepEqual(actions, ['dynamodb:BatchGetItem', 'dynamodb:DeleteItem', 'dynamodb:DescribeTable', 'dynamodb:DescribeTimeToLive', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', ...(withIndex ? ['dynamodb:BatchWriteItem', 'dynamodb:Query'] : [])].sort());
    });
  }

  it('docs/deploy/elastic-beanstalk.config creates the same table with TTL and gives the instance role the item calls', () => {
    const config = load('docs/deploy/elastic-beanstalk.config');
    const props = config.Resources.SessionTable!.Properties;
    const expected = createTableInput({ table: 'x', billingMode: 'PROVISIONED', readCapacityUnits: 10, writeCapacityUnits: 5, userIndex: undefined });
    assert.deepEqual(props.KeySchema, expected.KeySchema);
    assert.deepEqual(props.AttributeDefinitions, expected.AttributeDefinitions);
    assert.deepEqual(props.ProvisionedThroughput, expected.ProvisionedThroughput);
    assert.deepEqual(props.TimeToLiveSpecification, { AttributeName: TTL_ATTRIBUTE, Enabled: true });
    const policy = config.Resources.SessionTablePolicy!;
    assert.equal(policy.Type, 'AWS::IAM::Policy');
    assert.ok(Array.isArray(policy.Properties.Roles));
    const statement = (policy.Properties.PolicyDocument as { Statement: Array<{ Action: string[] }> }).Statement[0]!;
    assert.deepEqual([...statement.Action].sort(), ['dynamodb:BatchGetItem', 'dynamodb:DeleteItem', 'dynamodb:DescribeTable', 'dynamodb:DescribeTimeToLive', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
  });

  it('the CloudFormation table really is a session table: the same definition created on DynamoDB Local serves sessions', async () => {
    const template = load('docs/deploy/cloudformation.yaml');
    const table = uniqueTable('cfn');
    const props = evaluate(template.Resources.SessionTable!.Properties, { WithUserIndex: true, WithPurge: false }, { TableName: table }) as Record<string, unknown>;
    const { TimeToLiveSpecification: _ttl, ...create } = props;
    const store = storeOn(table, { userIndex: true });
    await store.client.send(new CreateTableCommand(create as never));
    await store.client.send(new PutItemCommand({ TableName: table, Item: { sessionId: { S: 'probe' }, data: { B: contextOf(store).codec.frame('{"a":1}') }, version: { N: '1' }, expiresAt: { N: String(nowSec() + 60) } } }));
    assert.deepEqual(await store.get('probe'), { a: 1 });
    const doctor = await on(table, 'doctor', '--user-index');
    assert.match(doctor.stdout, /✔ user index "userId-index"/);
  });
});

describe('docs/troubleshooting.md', () => {
  it('has a row for every error code the library throws', () => {
    const codes = new Set([...readFileSync('src/errors.ts', 'utf8').matchAll(/'(DSM_[A-Z_]+)'/g)].map((m) => m[1]!));
    codes.add('DSM_DYNAMODB');
    const doc = readFileSync('docs/troubleshooting.md', 'utf8');
    for (const code of codes) assert.match(doc, new RegExp(`^\\| \`${code}\``, 'm'), code);
  });
});
