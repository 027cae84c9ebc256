/**
 * The commands of `dynamodb-session` (program.ts) that set up and report on
 * the table itself: create-table and doctor, stats and iam-policy.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { type SessionStoreOptions } from '../config/options.js';
import { resolveConfig } from '../config/resolve-config.js';
import { contextOf, type SessionStore } from '../store/session-store.js';
import { countSessions } from '../store/inspect.js';
import { describeSessionTable, ttlState } from '../store/diagnose.js';
import { iamPolicy, POLICY_FEATURES, type PolicyFeature } from '../table/iam-policy.js';
import { STREAM_VIEW_TYPE } from '../table/schema.js';
import { enableStream } from '../table/streams.js';
import { int, withCommon, type Cli } from './command-kit.js';
import { runDoctor } from './doctor.js';
import { EXIT } from './exit-codes.js';
import { cliCommand, missingTable, oneLine } from './explain.js';
import { resolveSettings, type CommonFlags } from './settings.js';

/** create-table, then doctor. */
export function addTableSetup(program: Command, cli: Cli): void {
  const { out, err, open, storeFor } = cli;

  withCommon(program.command('create-table'))
    .description(
      'create the session table (hash key sessionId), wait until ACTIVE, turn TTL on expiresAt on; ' +
        'an existing table is checked, not changed (but for --streams)',
    )
    .addOption(new Option('--billing-mode <mode>', 'billing of the new table').choices(['PROVISIONED', 'PAY_PER_REQUEST']))
    .option('--read-capacity <units>', 'read capacity units (PROVISIONED; default 10)', int(1, 40_000))
    .option('--write-capacity <units>', 'write capacity units (PROVISIONED; default 5)', int(1, 40_000))
    .option(
      '--streams',
      'turn the table\'s stream on (OLD_IMAGE), new table or existing one: ' +
        'the expired events of TTL deletions (dynamodb-session-manager/streams)',
    )
    .action(async (flags: CommonFlags & {
      billingMode?: 'PROVISIONED' | 'PAY_PER_REQUEST';
      readCapacity?: number;
      writeCapacity?: number;
      streams?: boolean;
    }) => {
      const { options, ignored } = resolveSettings(flags);
      if (ignored.length > 0) err(`dynamodb-session: context.xml attributes not used here: ${ignored.join(', ')}`);
      const billingMode = flags.billingMode ?? options.billingMode ?? 'PROVISIONED';
      const merged: SessionStoreOptions = { ...options, createIfNotExist: true, skipTableCheck: false, billingMode };
      if (billingMode === 'PROVISIONED') {
        if (flags.readCapacity !== undefined) merged.readCapacityUnits = flags.readCapacity;
        if (flags.writeCapacity !== undefined) merged.writeCapacityUnits = flags.writeCapacity;
      } else {
        if (flags.readCapacity !== undefined || flags.writeCapacity !== undefined) {
          throw new InvalidArgumentError('--read-capacity and --write-capacity apply to --billing-mode PROVISIONED only.');
        }
        // A context.xml's capacities mean nothing to an on-demand table.
        delete merged.readCapacityUnits;
        delete merged.writeCapacityUnits;
      }
      const store = storeFor(flags, merged);
      await created(store, flags.streams === true);
      if (flags.streams) {
        // After the table is ACTIVE: one UpdateTable when it has no stream yet, none when a fitting one is on.
        const stream = await enableStream(contextOf(store).gateway, store.config.table);
        out(
          stream.changed
            ? `turned its stream on (${STREAM_VIEW_TYPE}): ${stream.arn ?? ''}`
            : `stream ${STREAM_VIEW_TYPE} on already: ${stream.arn ?? ''}; nothing changed`,
        );
      }
    });

  /** `streams`: a line about the stream follows, which says what changed. */
  async function created(store: SessionStore, streams = false): Promise<void> {
    const result = await store.ready();
    const c = store.config;
    const billing = c.billingMode === 'PROVISIONED' ? `PROVISIONED ${c.readCapacityUnits} RCU / ${c.writeCapacityUnits} WCU` : 'PAY_PER_REQUEST';
    if (result?.created) out(`created table "${c.table}" (${billing}${c.userIndex ? `, user index ${c.userIndex}` : ''}), TTL ${result.ttl} on expiresAt`);
    else out(`table "${c.table}" exists already: key schema accepted, TTL ${result?.ttl ?? 'unknown'}${streams ? '' : '; nothing changed'}`);
  }

  withCommon(program.command('doctor'))
    .description('check credentials, table, key schema, TTL, capacity, every permission the store needs, and the clock; exit 1 on any ✘')
    .action(async (flags: CommonFlags) => {
      const store = open(flags);
      cli.code = await runDoctor(
        store,
        (check) => {
          out(`${check.ok ? '✔' : '✘'} ${check.what}`);
          if (!check.ok && check.fix) out(`    fix: ${check.fix}`);
        },
        flags,
      );
    });
}

/** stats, then iam-policy. */
export function addTableReports(program: Command, cli: Cli): void {
  const { out, err, open } = cli;

  withCommon(program.command('stats'))
    .description('item count and size, TTL status, capacity; with a Scan (unless --no-scan): live, expired-not-yet-deleted and locked sessions')
    .option('--no-scan', 'skip the Scan (it reads the whole table)')
    .option('--json', 'one JSON document')
    .action(async (flags: CommonFlags & { scan: boolean; json?: boolean }) => {
      const store = open(flags);
      const desc = await describeSessionTable(store);
      if (!desc) {
        err(`dynamodb-session: ${oneLine(missingTable(store.config, flags), 'DSM_TABLE_NOT_FOUND')}`);
        cli.code = EXIT.FAILED;
        return;
      }
      const ttl = await ttlState(store);
      const counts = flags.scan ? await countSessions(store) : undefined;
      const billing = desc.BillingModeSummary?.BillingMode ?? 'PROVISIONED';
      const report = {
        table: store.config.table,
        status: desc.TableStatus,
        itemCount: desc.ItemCount ?? 0,
        sizeBytes: desc.TableSizeBytes ?? 0,
        billingMode: billing,
        ...(billing === 'PROVISIONED'
          ? { readCapacityUnits: desc.ProvisionedThroughput?.ReadCapacityUnits, writeCapacityUnits: desc.ProvisionedThroughput?.WriteCapacityUnits }
          : {}),
        ttl: `${ttl.status}${ttl.attribute ? ` on ${ttl.attribute}` : ''}`,
        indexes: (desc.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName),
        ...(counts ? { scanned: counts.items, live: counts.live, expired: counts.expired, locked: counts.locked } : {}),
      };
      if (flags.json) out(JSON.stringify(report, null, 2));
      else {
        for (const [k, v] of Object.entries(report)) out(`${k.padEnd(19)}${Array.isArray(v) ? v.join(', ') || '-' : String(v)}`);
        if (!counts) out('(itemCount and sizeBytes are DynamoDB\'s, refreshed about every 6 hours; drop --no-scan for exact counts)');
      }
    });

  withCommon(program.command('iam-policy'))
    .description("print a least-privilege IAM policy (JSON): by default a running server's role; --admin the operator's (create-table and every command)")
    .option('--account <id>', '12-digit account id for the table ARN (required, or --allow-wildcards)')
    .option('--admin', "the operator's policy: create the table, turn on its TTL and stream, and every command of this CLI (same as --features admin)")
    .option('--features <list>', `comma-separated: ${POLICY_FEATURES.join(', ')}`)
    .option('--allow-wildcards', 'print the policy with * for a missing --account or region (any account or region holding a table of that name)')
    .option('--reaper', 'the app runs the reaper (reapIntervalMs > 0)')
    .option('--skip-table-check', 'the app sets skipTableCheck: no DescribeTable/DescribeTimeToLive')
    .option('--no-create', 'the app sets createIfNotExist: false (silences the note that the runtime policy cannot create the table)')
    .action(async (flags: CommonFlags & {
      account?: string;
      admin?: boolean;
      features?: string;
      allowWildcards?: boolean;
      reaper?: boolean;
      skipTableCheck?: boolean;
      create: boolean;
    }) => {
      const { options } = resolveSettings(flags);
      const config = resolveConfig({
        ...options,
        ...(flags.create ? {} : { createIfNotExist: false }),
        ...(flags.skipTableCheck ? { skipTableCheck: true } : {}),
        ...(flags.reaper ? { reapIntervalMs: 60_000 } : {}),
      });
      const features = (flags.features ?? '').split(',').map((f) => f.trim()).filter(Boolean) as PolicyFeature[];
      if (flags.admin && !features.includes('admin')) features.push('admin');
      // A policy is pasted into IAM as it is printed: a wildcard there grants the table of that name in every account or region.
      const missing = [
        config.region === undefined ? '--region' : undefined,
        flags.account === undefined ? '--account' : undefined,
      ].filter((f): f is string => f !== undefined);
      if (missing.length > 0 && !flags.allowWildcards) {
        const what = missing.length === 2 ? 'account and region' : missing[0] === '--region' ? 'region (nor AWS_REGION, a profile or context.xml)' : 'account';
        throw new InvalidArgumentError(
          `no ${what} for the table ARN: give ${missing.join(' and ')}, or --allow-wildcards for a policy that names the table in any ` +
            `${missing.length === 2 ? 'account and region' : missing[0] === '--region' ? 'region' : 'account'}`,
        );
      }
      const policy = iamPolicy(config, { ...(flags.account !== undefined ? { account: flags.account } : {}), features });
      out(JSON.stringify(policy, null, 2));
      // On stderr, so the JSON on stdout stays usable as it is.
      if (config.createIfNotExist && !config.skipTableCheck && !features.includes('admin')) {
        err(
          'dynamodb-session: this runtime policy cannot create the table, which createIfNotExist (on) would do when it is missing: ' +
            `create it once (\`${cliCommand('create-table', config.table, flags)}\`, under \`iam-policy --admin\`'s policy) ` +
            'and run the app with createIfNotExist: false (--no-create here)',
        );
      }
    });
}
