/**
 * The `dynamodb-session` command: table set-up, diagnosis and maintenance of
 * a session table. Every command takes the common flags (settings.ts); the
 * exit codes are in exit-codes.ts.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { resolveConfig, type ResolvedConfig, type SessionStoreOptions } from '../config/options.js';
import type { Logger } from '../core/logger.js';
import { countSessions, deleteSessionKey, listSessions, showSession, type SessionDetail, type SessionSummary } from '../core/inspect.js';
import { contextOf, SessionStore } from '../core/session-store.js';
import { deleteSessions } from '../core/user-sessions.js';
import { listUserSessionKeys, purgeExpired } from '../admin.js';
import { describeSessionTable, ttlState } from '../table/diagnose.js';
import { ConfigError, TableNotFoundError } from '../errors.js';
import { iamPolicy, POLICY_FEATURES, type PolicyFeature } from '../table/iam-policy.js';
import { STREAM_VIEW_TYPE } from '../table/schema.js';
import { enableStream } from '../table/streams.js';
import { runDoctor } from './doctor.js';
import { describeError, EXIT, exitCodeOf } from './exit-codes.js';
import { cliCommand, explain, missingTable, oneLine, shellWord } from './explain.js';
import { isHandle, keysFitting, nameOf, shortenedParts, shortenKey } from './short-keys.js';
import { importProgressReporter, progressReporter, summaryLine } from './progress.js';
import { dynamoSource, redactUrl, redisSource, type ImportSource, type SourceKind } from './import-sources.js';
import { importSessions, importSummary } from './import-sessions.js';
import { ENVIRONMENT, resolveSettings, type CommonFlags } from './settings.js';

export interface CliIo {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

/** The package's version, from the package.json above this file wherever the build put it (a chunk of dist/, or src/cli/). */
function version(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'dynamodb-session-manager' && pkg.version) return pkg.version;
    } catch {
      // none here: one folder up
    }
    if (dirname(dir) === dir) return 'unknown';
  }
}

/**
 * `--user-index` takes its name attached (`--user-index=name`), as optional values do with getopt:
 * a word after a bare `--user-index` is the command's argument (`revoke-user --user-index alice`).
 */
function attachOptionalValues(argv: string[]): string[] {
  const end = argv.indexOf('--');
  return argv.map((arg, i) => (arg === '--user-index' && (end === -1 || i < end) ? '--user-index=' : arg));
}

/**
 * The library's log lines, as the CLI prints them: its errors are thrown too and said once, in
 * the operator's words (explain.ts); its warnings and notices are worth a line.
 */
function cliLogger(err: (text: string) => void): Logger {
  return {
    warn: (obj, msg) => err(`dynamodb-session: note: ${typeof obj === 'string' ? obj : (msg ?? '')}`),
    error: () => undefined,
  };
}

const int =
  (min: number, max: number) =>
  (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) throw new InvalidArgumentError(`must be an integer from ${min} to ${max}.`);
    return n;
  };

const iso = (epochSeconds: number | undefined) =>
  epochSeconds === undefined ? '-' : new Date(epochSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');


function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => [...r[c]!].length)));
  return rows.map((r) => r.map((cell, c) => cell + ' '.repeat(widths[c]! - [...cell].length)).join('  ').trimEnd()).join('\n');
}

function withCommon(cmd: Command): Command {
  return cmd
    .option('--table <name>', 'session table (env DSM_TABLE; default Tomcat_SessionState)')
    .option('--region <region>', 'AWS Region (env DSM_REGION, AWS_REGION; default us-east-1)')
    .option('--endpoint <url>', 'DynamoDB endpoint, e.g. http://127.0.0.1:8000 for DynamoDB Local (env DSM_ENDPOINT)')
    .option('--profile <name>', 'AWS profile of the shared config/credentials files (env AWS_PROFILE)')
    .option('--context-xml <file>', "read the Tomcat manager's context.xml (env DSM_CONTEXT_XML)")
    .option('--user-index [name]', 'the table has a userId index, named userId-index, or as given attached: --user-index=<name> (env DSM_USER_INDEX)');
}

export async function run(argv: string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const out = (text: string) => io.stdout.write(`${text}\n`);
  const err = (text: string) => io.stderr.write(`${text}\n`);
  const stores: SessionStore[] = [];
  let code: number = EXIT.OK;
  /** What the running command connects to, for the words and fixes of a failure. */
  let using: { config: ResolvedConfig; flags: CommonFlags } | undefined;
  const logger = cliLogger(err);

  const storeFor = (flags: CommonFlags, options: SessionStoreOptions): SessionStore => {
    const store = new SessionStore({ logger, ...options });
    stores.push(store);
    using = { config: store.config, flags };
    return store;
  };

  /** A store that never creates the table, and never checks it first unless asked: a read-only command must not change anything. */
  const open = (flags: CommonFlags, extra: SessionStoreOptions = {}): SessionStore => {
    const { options, ignored } = resolveSettings(flags);
    if (ignored.length > 0) err(`dynamodb-session: context.xml attributes not used here: ${ignored.join(', ')}`);
    return storeFor(flags, { ...options, createIfNotExist: false, skipTableCheck: true, ...extra });
  };

  /** The session stored under `key`, or under the one key its shortened form or handle (as `list` prints it) fits. */
  const findSession = async (store: SessionStore, key: string): Promise<{ key: string; detail?: SessionDetail } | undefined> => {
    const detail = isHandle(key) ? undefined : await showSession(store, key);
    if (detail) return { key, detail };
    const parts = shortenedParts(key) ?? (isHandle(key) ? { head: key, tail: '' } : undefined);
    if (!parts) return undefined;
    const fitting = await keysFitting(store, parts);
    if (fitting.length > 1) {
      err(
        `dynamodb-session: "${key}" fits ${fitting.length} sessions of table "${store.config.table}": ` +
          `${fitting.slice(0, 5).map((k) => `"${nameOf(store, k)}"`).join(', ')}${fitting.length > 5 ? ', …' : ''}; ` +
          'give the whole key (`list --full`)',
      );
      return { key };
    }
    return fitting.length === 1 ? { key: fitting[0]!, ...(await showSession(store, fitting[0]!).then((d) => (d ? { detail: d } : {}))) } : undefined;
  };

  const noSession = (store: SessionStore, key: string) => {
    err(
      `dynamodb-session: no session "${key}" in table "${store.config.table}"` +
        (shortenedParts(key) ? '' : ': `list` shortens long keys; give one as it prints it, or the whole key from `list --full`'),
    );
    code = EXIT.FAILED;
  };

  const program = new Command('dynamodb-session')
    .description('Create, check and maintain the DynamoDB table of dynamodb-session-manager.')
    .version(version())
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showHelpAfterError('(add --help for usage)')
    .addHelpText(
      'after',
      `
Environment: ${Object.entries(ENVIRONMENT).map(([k, v]) => `\n  ${k.padEnd(16)}${v}`).join('')}
Precedence: flags, then environment, then --context-xml, then defaults.
Exit codes: 0 ok; 1 check failed or not found; 2 usage error; 3 DynamoDB unreachable, AWS error or no credentials; 130 import interrupted (Ctrl-C).`,
    );

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
      code = await runDoctor(
        store,
        (check) => {
          out(`${check.ok ? '✔' : '✘'} ${check.what}`);
          if (!check.ok && check.fix) out(`    fix: ${check.fix}`);
        },
        flags,
      );
    });

  withCommon(program.command('list'))
    .description('list sessions in table order, a page at a time (a Scan: it reads every item it passes)')
    .option('--limit <n>', 'sessions per page', int(1, 10_000), 20)
    .option('--after <key>', 'start after this session key (printed at the end of the previous page)')
    .option('--expired', 'include expired sessions not yet deleted')
    .option('--full', 'print whole session keys')
    .option('--json', 'one JSON document')
    .action(async (flags: CommonFlags & { limit: number; after?: string; expired?: boolean; full?: boolean; json?: boolean }) => {
      const store = open(flags);
      // --after names the last session of the previous page as list printed it: a handle is turned back into its key.
      const after = flags.after !== undefined && isHandle(flags.after) ? (await findSession(store, flags.after))?.key : flags.after;
      if (flags.after !== undefined && after === undefined) {
        noSession(store, flags.after);
        return;
      }
      const found = await listSessions(store, { limit: flags.limit, ...(after !== undefined ? { after } : {}), includeExpired: flags.expired === true });
      // Sessions by handle: with hashSessionIds off a key is a live session id, not for a terminal or a log.
      const page = {
        ...found,
        sessions: found.sessions.map((s) => ({ ...s, key: nameOf(store, s.key) })),
        ...(found.next !== undefined ? { next: nameOf(store, found.next) } : {}),
      };
      if (flags.json) {
        out(JSON.stringify(page, null, 2));
        return;
      }
      const row = (s: SessionSummary) => [
        shortenKey(s.key, flags.full === true),
        `${iso(s.expiresAt)}${s.expired ? ' (expired)' : ''}`,
        String(s.version ?? '-'),
        String(s.dataBytes),
        s.userId ?? '-',
        s.lockedUntil !== undefined ? `until ${new Date(s.lockedUntil).toISOString()}` : '-',
      ];
      if (page.sessions.length === 0) out('no sessions');
      else out(table([['SESSION', 'EXPIRES', 'VERSION', 'BYTES', 'USER', 'LOCK'], ...page.sessions.map(row)]));
      if (page.next !== undefined) {
        const same = [
          ...(flags.limit !== 20 ? ['--limit', String(flags.limit)] : []),
          ...(flags.expired ? ['--expired'] : []),
          ...(flags.full ? ['--full'] : []),
        ];
        out(`more: ${cliCommand('list', store.config.table, flags, ...same)} --after ${shellWord(page.next)}`);
      }
      if (!flags.full && page.sessions.some((s) => shortenKey(s.key, false) !== s.key)) {
        out('(long keys shortened: show and delete take them as printed; --full prints them whole)');
      }
    });

  withCommon(program.command('show'))
    .argument('<key>', 'session key as stored (the session id, or its HMAC with hashSessionIds), whole or shortened as list prints it')
    .description('print one session: decoded data, version, expiry, owner and lock')
    .action(async (key: string, flags: CommonFlags) => {
      const store = open(flags);
      const found = await findSession(store, key);
      const detail = found?.detail;
      if (!detail) {
        if (!found) noSession(store, key);
        else code = EXIT.FAILED;
        return;
      }
      const { lockedUntil, lockOwner, expiresAt, updatedAt, createdAt, error, data, ...rest } = detail;
      out(
        JSON.stringify(
          {
            ...rest,
            key: nameOf(store, rest.key),
            expiresAt: iso(expiresAt),
            createdAt: createdAt !== undefined ? new Date(createdAt).toISOString() : null,
            updatedAt: updatedAt !== undefined ? new Date(updatedAt).toISOString() : null,
            lock: lockedUntil !== undefined ? { owner: lockOwner, until: new Date(lockedUntil).toISOString() } : null,
            data: data ?? null,
            ...(error ? { error } : {}),
          },
          null,
          2,
        ),
      );
    });

  withCommon(program.command('delete'))
    .argument('<key>', 'session key as stored, whole or shortened as list prints it')
    .description('delete one session (its user is logged out on the next request)')
    .action(async (key: string, flags: CommonFlags) => {
      const store = open(flags);
      if (!isHandle(key) && (await deleteSessionKey(store, key))) {
        out(`deleted session "${nameOf(store, key)}"`);
        return;
      }
      const found = shortenedParts(key) || isHandle(key) ? await findSession(store, key) : undefined;
      if (found?.detail && (await deleteSessionKey(store, found.key))) out(`deleted session "${nameOf(store, found.key)}"`);
      else if (!found) noSession(store, key);
      else code = EXIT.FAILED;
    });

  withCommon(program.command('revoke-user'))
    .argument('<userId>', 'the userId stored with the sessions')
    .description('delete every session of a user (Query on the user index with --user-index, else a Scan of the whole table)')
    .addHelpText(
      'after',
      "\nFrom the delete on, the user's sessions can make no write (every write is conditional on the item). With the\n" +
        "default consistentRead 'auto', their reads may still succeed for DynamoDB's replication lag (typically well\n" +
        "under a second: a replica 400 ms behind served them for at most 400 ms in docs/security.md's measurement).\n" +
        'Set consistentRead: true in the apps to close that window.',
    )
    .action(async (userId: string, flags: CommonFlags) => {
      const store = open(flags);
      const found = await listUserSessionKeys(store, userId);
      const how = found.via === 'index' ? `Query on index ${store.config.userIndex}` : 'Scan of the whole table';
      if (found.keys.length === 0) {
        // Nothing found is exit 1, as for show and delete: a script learns that the user id matched nothing.
        err(
          `dynamodb-session: no session of user "${userId}" in table "${store.config.table}" (${how}); ` +
            'sessions carry a user only when the app sets the userId option',
        );
        code = EXIT.FAILED;
        return;
      }
      await deleteSessions(contextOf(store), found.keys);
      out(`deleted ${found.keys.length} session${found.keys.length === 1 ? '' : 's'} of user "${userId}" (${how})`);
    });

  withCommon(program.command('purge-expired'))
    .description('delete expired sessions now (parallel Scan, conditional deletes: renewed or locked sessions are skipped)')
    .option('--dry-run', 'count, delete nothing')
    .option('--segments <n>', 'parallel Scan segments', int(1, 1000), 4)
    .option('--concurrency <n>', 'deletes in flight', int(1, 1000), 16)
    .option('--events', "print one JSON line per session deleted: the store's expired event (source purge)")
    .action(async (flags: CommonFlags & { dryRun?: boolean; segments: number; concurrency: number; events?: boolean }) => {
      const store = open(flags);
      const desc = await describeSessionTable(store);
      if (!desc) throw new TableNotFoundError(store.config.table, `table "${store.config.table}" does not exist: nothing to purge`);
      if (flags.events) store.on('expired', (event: object) => out(JSON.stringify({ event: 'expired', ...event })));
      const progress = progressReporter(io.stderr, desc.ItemCount ?? 0);
      let result;
      try {
        result = await purgeExpired(store, {
          segments: flags.segments,
          concurrency: flags.concurrency,
          dryRun: flags.dryRun === true,
          onProgress: (p) => progress.update(p),
        });
      } finally {
        progress.done();
      }
      out(`${flags.dryRun ? 'dry run: ' : ''}${summaryLine(result)}${flags.dryRun ? ` (would delete ${result.expired - result.skipped})` : ''}`);
    });

  withCommon(program.command('import'))
    .description(
      'copy the live sessions of connect-dynamodb, dynamodb-store or connect-redis into the table, under the same ids and expiries ' +
        '(signed cookies keep working); resumable, idempotent',
    )
    .addOption(new Option('--from <store>', 'the store the sessions come from').choices(['connect-dynamodb', 'dynamodb-store', 'redis']).makeOptionMandatory())
    .option('--source-table <name>', 'the source table (connect-dynamodb, dynamodb-store), read through the same region, endpoint and credentials as --table')
    .option('--url <url>', 'the Redis server (redis): redis://[user:password@]host:port[/db]')
    .option('--prefix <text>', "the source's key prefix (connect-dynamodb's prefix, dynamodb-store's hashPrefix, connect-redis's prefix)", 'sess:')
    .option('--segments <n>', 'parallel Scan segments (DynamoDB sources)', int(1, 1000), 4)
    .option('--concurrency <n>', 'writes in flight per segment', int(1, 1000), 16)
    .option('--page-size <n>', 'items per Scan page or Redis SCAN COUNT (default: 1 MB pages; SCAN 100)', int(1, 10_000))
    .option(
      '--checkpoint <file>',
      'progress file: an interrupted import resumes from it; deleted when the import completes',
      'dynamodb-session-import.checkpoint.json',
    )
    .option('--dry-run', 'count what would be copied, write nothing')
    .addHelpText(
      'after',
      `
Each session is created only if its id is free here: a re-run copies nothing twice and never
overwrites a session already here. Expired sessions are skipped; a corrupt source item is
reported with its key, counted and skipped. Ctrl-C stops after the pages in flight and keeps
the checkpoint; run the same command again to finish. See docs/migration.md.
Exit codes: 0 done; 1 done, with corrupt items skipped; 2 usage; 3 DynamoDB or Redis unreachable; 130 interrupted.`,
    )
    .action(async (flags: CommonFlags & {
      from: SourceKind;
      sourceTable?: string;
      url?: string;
      prefix: string;
      segments: number;
      concurrency: number;
      pageSize?: number;
      checkpoint: string;
      dryRun?: boolean;
    }) => {
      if (flags.from === 'redis' ? flags.url === undefined : flags.sourceTable === undefined) {
        throw new ConfigError(flags.from === 'redis' ? '--from redis needs --url redis://host:port' : `--from ${flags.from} needs --source-table <name>`);
      }
      const store = open(flags, { skipTableCheck: false });
      await store.ready();
      const source: ImportSource =
        flags.from === 'redis'
          ? await redisSource(flags.url!, { prefix: flags.prefix, ...(flags.pageSize ? { pageSize: flags.pageSize } : {}) })
          : dynamoSource(contextOf(store).gateway, flags.from, flags.sourceTable!, {
              prefix: flags.prefix,
              segments: flags.segments,
              ...(flags.pageSize ? { pageSize: flags.pageSize } : {}),
            });
      const stop = { requested: false };
      const onSigint = () => {
        stop.requested = true;
        err('dynamodb-session: stopping after the pages in flight; the checkpoint holds (Ctrl-C again quits at once, and it still holds)');
      };
      process.once('SIGINT', onSigint);
      const progress = importProgressReporter(io.stderr, await source.estimate().catch(() => 0));
      let result;
      try {
        result = await importSessions(store, source, {
          dryRun: flags.dryRun === true,
          concurrency: flags.concurrency,
          checkpointFile: flags.checkpoint,
          identity: {
            from: flags.from,
            source: flags.from === 'redis' ? redactUrl(flags.url!) : flags.sourceTable,
            prefix: flags.prefix,
            table: store.config.table,
          },
          stop,
          onProgress: (c) => progress.update(c),
          onCorrupt: (key, reason) => err(`dynamodb-session: corrupt item ${JSON.stringify(key)} skipped: ${reason}`),
        });
      } finally {
        progress.done();
        process.off('SIGINT', onSigint);
        await source.close().catch(() => undefined);
      }
      const resumed = result.resumed ? ` (resumed: includes ${result.resumed.copied} copied by earlier runs)` : '';
      out(`${importSummary(result.counts, flags.dryRun === true)}${resumed}`);
      if (result.interrupted) {
        err(`dynamodb-session: interrupted; progress is in ${flags.checkpoint}: run the same command again to finish`);
        code = EXIT.INTERRUPTED;
      } else if (result.counts.corrupt > 0) code = EXIT.FAILED;
    });

  withCommon(program.command('stats'))
    .description('item count and size, TTL status, capacity; with a Scan (unless --no-scan): live, expired-not-yet-deleted and locked sessions')
    .option('--no-scan', 'skip the Scan (it reads the whole table)')
    .option('--json', 'one JSON document')
    .action(async (flags: CommonFlags & { scan: boolean; json?: boolean }) => {
      const store = open(flags);
      const desc = await describeSessionTable(store);
      if (!desc) {
        err(`dynamodb-session: ${oneLine(missingTable(store.config, flags), 'DSM_TABLE_NOT_FOUND')}`);
        code = EXIT.FAILED;
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

  try {
    await program.parseAsync(attachOptionalValues(argv));
  } catch (error) {
    // Thrown by an action (commander prints and wraps those of its own option parsers).
    if (error instanceof InvalidArgumentError) {
      err(`dynamodb-session: ${error.message}`);
      return EXIT.USAGE;
    }
    if (error instanceof CommanderError) {
      if (error.code === 'commander.excessArguments' && argv.includes('--user-index')) {
        err('dynamodb-session: an index name goes with --user-index attached: --user-index=<name>');
      }
      // Help and version are not failures; everything else commander refuses is a usage error it has already printed.
      return error.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    const explained = using ? explain(error, using.config, using.flags) : undefined;
    if (explained) {
      err(`dynamodb-session: ${oneLine(explained, (error as { code?: string }).code)}`);
      return explained.exitCode;
    }
    err(`dynamodb-session: ${describeError(error)}`);
    return exitCodeOf(error);
  } finally {
    await Promise.all(stores.map((s) => s.close()));
  }
  return code;
}
