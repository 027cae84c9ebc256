/**
 * The commands of `dynamodb-session` (program.ts) on the sessions in the
 * table: list, show, delete, revoke-user, purge-expired, and import (copies
 * those of another session store into it: import-sessions.ts).
 */
import { type Command, Option } from 'commander';
import { deleteSessionKey, listSessions, showSession, type SessionDetail, type SessionSummary } from '../store/inspect.js';
import { listUserSessionKeys, purgeExpired } from '../admin.js';
import { contextOf, type SessionStore } from '../store/session-store.js';
import { deleteSessions } from '../core/user-sessions.js';
import { describeSessionTable } from '../store/diagnose.js';
import { ConfigError, TableNotFoundError } from '../errors.js';
import { int, withCommon, type Cli } from './command-kit.js';
import { EXIT } from './exit-codes.js';
import { cliCommand, shellWord } from './explain.js';
import { isHandle, keysFitting, nameOf, shortenedParts, shortenKey } from './short-keys.js';
import { importProgressReporter, progressReporter, summaryLine } from './progress.js';
import { dynamoSource, redactUrl, redisSource, type ImportSource, type SourceKind } from './import-sources.js';
import { importSessions, importSummary } from './import-sessions.js';
import type { CommonFlags } from './settings.js';

const iso = (epochSeconds: number | undefined) =>
  epochSeconds === undefined ? '-' : new Date(epochSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => [...r[c]!].length)));
  return rows.map((r) => r.map((cell, c) => cell + ' '.repeat(widths[c]! - [...cell].length)).join('  ').trimEnd()).join('\n');
}

/** list, show, delete, revoke-user, purge-expired, then import. */
export function addSessionCommands(program: Command, cli: Cli): void {
  const { io, out, err, open } = cli;

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
    cli.code = EXIT.FAILED;
  };

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
        else cli.code = EXIT.FAILED;
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
      else cli.code = EXIT.FAILED;
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
        cli.code = EXIT.FAILED;
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
        cli.code = EXIT.INTERRUPTED;
      } else if (result.counts.corrupt > 0) cli.code = EXIT.FAILED;
    });
}
