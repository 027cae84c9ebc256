/**
 * What the commands of the `dynamodb-session` command (program.ts) share: the
 * run they act in (Cli), the common flags, and the parser of integer flags.
 */
import { type Command, InvalidArgumentError } from 'commander';
import type { SessionStoreOptions } from '../config/options.js';
import type { SessionStore } from '../store/session-store.js';
import type { CommonFlags } from './settings.js';

export interface CliIo {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

/** What a command's action uses of its run (program.ts): the output, the stores, and the exit code when nothing throws. */
export interface Cli {
  io: CliIo;
  out: (text: string) => void;
  err: (text: string) => void;
  storeFor: (flags: CommonFlags, options: SessionStoreOptions) => SessionStore;
  /** A store for a read-only command: it neither creates the table nor, unless asked, checks it first (program.ts). */
  open: (flags: CommonFlags, extra?: SessionStoreOptions) => SessionStore;
  code: number;
}

export const int =
  (min: number, max: number) =>
  (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) throw new InvalidArgumentError(`must be an integer from ${min} to ${max}.`);
    return n;
  };

export function withCommon(cmd: Command): Command {
  return cmd
    .option('--table <name>', 'session table (env DSM_TABLE; default Tomcat_SessionState)')
    .option('--region <region>', 'AWS Region (env DSM_REGION, AWS_REGION; default us-east-1)')
    .option('--endpoint <url>', 'DynamoDB endpoint, e.g. http://127.0.0.1:8000 for DynamoDB Local (env DSM_ENDPOINT)')
    .option('--profile <name>', 'AWS profile of the shared config/credentials files (env AWS_PROFILE)')
    .option('--context-xml <file>', "read the Tomcat manager's context.xml (env DSM_CONTEXT_XML)")
    .option('--user-index [name]', 'the table has a userId index, named userId-index, or as given attached: --user-index=<name> (env DSM_USER_INDEX)');
}
