/**
 * The `dynamodb-session` command: table set-up, diagnosis and maintenance of
 * a session table. Every command takes the common flags (settings.ts); the
 * exit codes are in exit-codes.ts. This file assembles it and runs it; the
 * commands are in commands-table.ts and commands-sessions.ts.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import type { ResolvedConfig, SessionStoreOptions } from '../config/options.js';
import type { Logger } from '../logger.js';
import { SessionStore } from '../store/session-store.js';
import type { Cli, CliIo } from './command-kit.js';
import { addSessionCommands } from './commands-sessions.js';
import { addTableReports, addTableSetup } from './commands-table.js';
import { describeError, EXIT, exitCodeOf } from './exit-codes.js';
import { explain, oneLine } from './explain.js';
import { ENVIRONMENT, resolveSettings, type CommonFlags } from './settings.js';

export type { CliIo } from './command-kit.js';

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

export async function run(argv: string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const out = (text: string) => io.stdout.write(`${text}\n`);
  const err = (text: string) => io.stderr.write(`${text}\n`);
  const stores: SessionStore[] = [];
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

  const cli: Cli = { io, out, err, storeFor, open, code: EXIT.OK };

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

  addTableSetup(program, cli);
  addSessionCommands(program, cli);
  addTableReports(program, cli);

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
  return cli.code;
}
