/**
 * What the CLI tells an operator when a command cannot go on: one wording per
 * situation (a missing table, an endpoint that does not answer, one that is
 * not DynamoDB, a refused call), the same whichever command met it, `doctor`
 * included; and fixes written as commands that reach the same table, with the
 * connection flags the operator gave, so that running one as printed goes
 * where the failing command went.
 */
import { describeTarget } from '../aws/target.js';
import type { ResolvedConfig } from '../config/options.js';
import { foreignAnswer, isThrottle } from '../aws/errors.js';
import { EXIT } from './exit-codes.js';
import type { CommonFlags } from './settings.js';

/** What went wrong, what to do, and the exit code that says it to scripts. */
export interface Explanation {
  what: string;
  fix?: string;
  exitCode: number;
}

/** A value as the shell reads it back: quoted unless it is plainly safe. */
export const shellWord = (value: string): string => (/^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`);

/**
 * The flags that decide which DynamoDB and which credentials a command
 * reaches, as given on its command line. (Ones from the environment are still
 * set in the shell that runs the hint.)
 */
export function connectionFlags(flags: CommonFlags): string[] {
  const words: string[] = [];
  if (flags.endpoint !== undefined) words.push('--endpoint', shellWord(flags.endpoint));
  if (flags.region !== undefined) words.push('--region', shellWord(flags.region));
  if (flags.profile !== undefined) words.push('--profile', shellWord(flags.profile));
  if (flags.contextXml !== undefined) words.push('--context-xml', shellWord(flags.contextXml));
  return words;
}

/** `dynamodb-session <command> --table <table> <connection flags> <extra>`. */
export function cliCommand(command: string, table: string, flags: CommonFlags, ...extra: string[]): string {
  return ['dynamodb-session', command, '--table', shellWord(table), ...connectionFlags(flags), ...extra].join(' ');
}

/** The same connection for the AWS CLI (`aws dynamodb …`), whose endpoint flag is spelt differently. */
export function awsCliFlags(flags: CommonFlags, config: ResolvedConfig): string[] {
  const words: string[] = [];
  if (config.endpoint !== undefined) words.push('--endpoint-url', shellWord(config.endpoint));
  if (config.region !== undefined) words.push('--region', shellWord(config.region));
  if (flags.profile !== undefined) words.push('--profile', shellWord(flags.profile));
  return words;
}

export function missingTable(config: ResolvedConfig, flags: CommonFlags): Explanation {
  return {
    what: `table "${config.table}" does not exist at ${describeTarget(config)}`,
    fix: `create it with \`${cliCommand('create-table', config.table, flags)}\`, or give the right --table, --endpoint or --region`,
    exitCode: EXIT.FAILED,
  };
}

/** The explanation of an error that ended a command, or undefined when its own message says it all. */
export function explain(err: unknown, config: ResolvedConfig, flags: CommonFlags): Explanation | undefined {
  const e = err as { code?: string; cause?: { name?: string; message?: string } } | null;
  const cause = e?.cause;
  const why = cause ? `${cause.name ?? 'Error'}: ${(cause.message ?? '').split('\n')[0]}` : '';
  const target = describeTarget(config);
  switch (e?.code) {
    case 'DSM_TABLE_NOT_FOUND':
      return missingTable(config, flags);
    case 'DSM_STORE_UNAVAILABLE': {
      const foreign = foreignAnswer(cause);
      if (foreign) {
        return {
          what: `${target} does not speak the DynamoDB API (it answered with ${foreign})`,
          fix: "check --endpoint: DynamoDB Local's port, or no --endpoint for the Region's DynamoDB",
          exitCode: EXIT.AWS,
        };
      }
      if (cause?.name && isThrottle(cause)) {
        return {
          what: `DynamoDB at ${target} is throttling table "${config.table}" (${why})`,
          fix: "run the command again later, or raise the table's capacity",
          exitCode: EXIT.AWS,
        };
      }
      // An HTTP status is an answer: the engine failed the call itself (a 500), the network did not.
      const status = (cause as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
      if (status !== undefined) {
        return {
          what: `DynamoDB at ${target} answered HTTP ${status}${why ? ` (${why})` : ''}`,
          fix:
            'the engine failed the call: read its message, and retry; ' +
            "DynamoDB Local answers 500 when a table's name differs from another's only in case (its names are case-insensitive)",
          exitCode: EXIT.AWS,
        };
      }
      return {
        what: `DynamoDB at ${target} did not answer${why ? ` (${why})` : ''}`,
        fix: 'check --endpoint and --region, that DynamoDB (Local) is running there, and the network and proxies on the way',
        exitCode: EXIT.AWS,
      };
    }
    case 'DSM_DYNAMODB':
      return {
        what: `DynamoDB at ${target} refused a call on table "${config.table}"${why ? ` (${why})` : ''}`,
        fix:
          `check the IAM policy of these credentials: \`${cliCommand('iam-policy', config.table, flags, '--admin', '--account', 'ACCOUNT_ID')}\` ` +
          'prints the one this CLI needs',
        exitCode: EXIT.AWS,
      };
    default:
      return undefined;
  }
}

/** One line: the explanation and its fix, then the error code for the troubleshooting guide. */
export function oneLine(x: Explanation, code?: string): string {
  return `${x.what}${x.fix ? `: ${x.fix}` : ''}${code ? ` [${code}]` : ''}`;
}
