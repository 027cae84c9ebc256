/**
 * `dynamodb-session doctor`: one line per check, ✔ or ✘, and for each ✘ the
 * fix. Checks run in dependency order; a check that cannot run says why.
 */
import { describeCredentials } from '../aws/credentials.js';
import type { SessionStore } from '../store/session-store.js';
import { clockSkewMs, describeSessionTable, probeConditionFailure, probePermissions, ttlState } from '../store/diagnose.js';
import { isUnsupportedOperation } from '../aws/errors.js';
import { schemaProblem, TTL_ATTRIBUTE, USER_ATTRIBUTE } from '../table/schema.js';
import { describeError, EXIT } from './exit-codes.js';
import { awsCliFlags, cliCommand, explain, missingTable } from './explain.js';
import type { CommonFlags } from './settings.js';

export interface Check {
  ok: boolean;
  what: string;
  /** What to do about a failed check. */
  fix?: string;
}

/** Beyond this, expiry decided here and TTL deletion decided by AWS disagree noticeably. */
const MAX_SKEW_MS = 30_000;

/** `flags`: the command line's, repeated in every fix that is a command, so that it reaches the same table. */
export async function runDoctor(store: SessionStore, print: (check: Check) => void, flags: CommonFlags = {}): Promise<number> {
  const table = store.config.table;
  const command = (name: string, ...extra: string[]) => cliCommand(name, table, flags, ...extra);
  let failed = false;
  const report = (check: Check) => {
    if (!check.ok) failed = true;
    print(check);
  };

  try {
    const found = await describeCredentials(store.config);
    report({ ok: true, what: `credentials: ${found.detail} (access key ${found.accessKeyIdHint})` });
  } catch (err) {
    report({ ok: false, what: 'credentials: none found', fix: describeError(err) });
    return EXIT.AWS;
  }

  let desc;
  try {
    desc = await describeSessionTable(store);
  } catch (err) {
    // The words every other command uses for the same failure.
    const explained = explain(err, store.config, flags);
    report(
      explained
        ? { ok: false, what: explained.what, ...(explained.fix ? { fix: explained.fix } : {}) }
        : { ok: false, what: `DynamoDB: ${describeError(err)}` },
    );
    return explained?.exitCode ?? EXIT.FAILED;
  }
  if (!desc) {
    const missing = missingTable(store.config, flags);
    report({ ok: false, what: missing.what, ...(missing.fix ? { fix: missing.fix } : {}) });
    return missing.exitCode;
  }
  const problem = schemaProblem(desc);
  report(
    problem
      ? {
          ok: false,
          what: `table "${table}" cannot hold sessions: ${problem}`,
          fix: `use another table (--table), or create one with \`${cliCommand('create-table', '<new name>', flags)}\``,
        }
      : { ok: true, what: `table "${table}" is ${desc.TableStatus}, hash key sessionId (S), no range key` },
  );

  try {
    const ttl = await ttlState(store);
    const on = ttl.status === 'ENABLED' || ttl.status === 'ENABLING';
    if (on && ttl.attribute === TTL_ATTRIBUTE) report({ ok: true, what: `TTL ${ttl.status} on ${TTL_ATTRIBUTE}` });
    else {
      report({
        ok: false,
        what: on
          ? `TTL is on attribute "${ttl.attribute}", not "${TTL_ATTRIBUTE}": expired sessions are never deleted`
          : `TTL is ${ttl.status}: expired sessions are never deleted (they still read as absent)`,
        fix:
          `${['aws dynamodb update-time-to-live --table-name', table, ...awsCliFlags(flags, store.config)].join(' ')} ` +
          `--time-to-live-specification "Enabled=true, AttributeName=${TTL_ATTRIBUTE}"; ` +
          `or run \`${command('purge-expired')}\` on a schedule, or set reapIntervalMs`,
      });
    }
  } catch (err) {
    if (isUnsupportedOperation(err)) {
      const engine = store.engine().name ?? 'this engine';
      report(
        store.config.reapIntervalMs > 0
          ? { ok: true, what: `TTL: ${engine} has none; the store's reaper deletes expired sessions (reapIntervalMs ${store.config.reapIntervalMs})` }
          : {
              ok: false,
              what: `TTL: ${engine} has none: expired sessions read as absent but are never deleted`,
              fix: `set reapIntervalMs (e.g. 60000), or run \`${command('purge-expired')}\` on a schedule`,
            },
      );
    } else report({
      ok: false,
      what: `TTL status unknown: ${describeError(err)}`,
      fix: `allow dynamodb:DescribeTimeToLive (\`${command('iam-policy', '--admin', '--account', 'ACCOUNT_ID')}\`)`,
    });
  }

  const billing = desc.BillingModeSummary?.BillingMode ?? 'PROVISIONED';
  if (billing === 'PAY_PER_REQUEST') report({ ok: true, what: 'billing: on demand (PAY_PER_REQUEST)' });
  else {
    const r = desc.ProvisionedThroughput?.ReadCapacityUnits ?? 0;
    const w = desc.ProvisionedThroughput?.WriteCapacityUnits ?? 0;
    report(
      r > 0 && w > 0
        ? { ok: true, what: `billing: provisioned, ${r} read / ${w} write capacity units (a read-only request costs 1 RCU per 4 KB, a save 1 WCU per KB)` }
        : { ok: false, what: `billing: provisioned with ${r} read / ${w} write units`, fix: 'give the table capacity, or switch it to on demand' },
    );
  }

  const index = store.config.userIndex;
  if (index) {
    const gsi = desc.GlobalSecondaryIndexes?.find((i) => i.IndexName === index);
    const keyed = gsi?.KeySchema?.some((k) => k.KeyType === 'HASH' && k.AttributeName === USER_ATTRIBUTE);
    report(
      gsi && keyed
        ? { ok: true, what: `user index "${index}" on ${USER_ATTRIBUTE} (${gsi.IndexStatus ?? 'ACTIVE'})` }
        : {
            ok: false,
            what: `user index "${index}" ${gsi ? `is not keyed on ${USER_ATTRIBUTE}` : 'is missing'}: revoke-user would scan the whole table`,
            fix: 'add a GSI with hash key userId (S), projection KEYS_ONLY (docs/deploy/cloudformation.yaml), or drop --user-index',
          },
    );
  }

  for (const result of await probePermissions(store)) {
    if (result.outcome === 'allowed') report({ ok: true, what: `permission ${result.action}` });
    else if (result.outcome === 'unsupported') report({
      ok: true,
      what: `permission ${result.action}: not implemented by ${store.engine().name ?? 'this engine'} (no permission changes that)`,
    });
    else {
      report({
        ok: false,
        what: `permission ${result.action}: ${result.outcome === 'denied' ? 'denied' : 'failed'} (${result.reason})`,
        fix:
          result.outcome === 'denied'
            ? `allow ${result.action} on the table: \`${command('iam-policy', '--admin', '--account', 'ACCOUNT_ID')}\` prints a policy`
            : 'see docs/troubleshooting.md',
      });
    }
  }

  try {
    const { engine, returnsItem } = await probeConditionFailure(store);
    const name = engine ?? 'the engine';
    report(
      returnsItem === false
        ? {
            ok: true,
            what:
              `engine: ${name} returns no item with a failed condition: ` +
              'the store reads the item with a strongly consistent GetItem instead (one more read per conflict)',
          }
        : { ok: true, what: `engine: ${name} returns the item a failed condition found (no extra read on a conflict)` },
    );
  } catch (err) {
    report({
      ok: false,
      what: `engine: a failed condition not probed (${describeError(err)})`,
      fix: `allow dynamodb:UpdateItem and dynamodb:DeleteItem (\`${command('iam-policy', '--admin', '--account', 'ACCOUNT_ID')}\`)`,
    });
  }

  try {
    const skew = await clockSkewMs(store);
    if (skew === undefined) report({ ok: true, what: 'clock: DynamoDB sent no Date header, skew not measured' });
    else {
      const seconds = Math.round(skew / 1000);
      const text = seconds === 0 ? 'within 1 s of DynamoDB\'s' : `${Math.abs(seconds)} s ${seconds > 0 ? 'behind' : 'ahead of'} DynamoDB's`;
      report(
        Math.abs(skew) <= MAX_SKEW_MS
          ? { ok: true, what: `clock: ${text}` }
          : {
              ok: false,
              what: `clock: ${text}: sessions expire early or late, and request signatures may be refused`,
              fix: 'synchronise the clock (chrony/NTP; on EC2 the Amazon Time Sync Service)',
            },
      );
    }
  } catch (err) {
    report({ ok: false, what: `clock: not measured (${describeError(err)})`, fix: 'allow dynamodb:GetItem' });
  }

  return failed ? EXIT.FAILED : EXIT.OK;
}
