/** The CLI's exit codes, stable for scripts (documented in docs/operations.md). */
export const EXIT = {
  OK: 0,
  /** A doctor check failed, or the session, user or table asked for is not there (or not a session table). */
  FAILED: 1,
  /** Bad flags, arguments or configuration (ConfigError). */
  USAGE: 2,
  /** DynamoDB could not be reached, refused the call, or no credentials were found. */
  AWS: 3,
  /** An import stopped by Ctrl-C (128 + SIGINT, as a shell reports it): its checkpoint holds; run it again. */
  INTERRUPTED: 130,
} as const;

interface Coded {
  name?: string;
  code?: string;
  message?: string;
}

/** The exit code for an error that ended a command. */
export function exitCodeOf(err: unknown): number {
  switch ((err as Coded | null)?.code) {
    case 'DSM_CONFIG':
    case 'DSM_INVALID_SESSION_ID':
      return EXIT.USAGE;
    case 'DSM_TABLE_NOT_FOUND':
    case 'DSM_TABLE_SCHEMA':
      return EXIT.FAILED;
    case 'DSM_STORE_UNAVAILABLE':
    case 'DSM_OUTCOME_UNKNOWN':
    case 'DSM_IMPORT_SOURCE':
    case 'DSM_DYNAMODB':
    case 'DSM_CREDENTIALS':
      return EXIT.AWS;
    default:
      return EXIT.FAILED;
  }
}

/** One line: the error's class, its code and its message (which says what to do); never a stack. */
export function describeError(err: unknown): string {
  const e = err as Coded | null;
  if (e && typeof e === 'object' && e.code && e.name) return `${e.name} [${e.code}]: ${(e.message ?? '').split('\n')[0]}`;
  if (err instanceof Error) return `${err.name}: ${err.message.split('\n')[0]}`;
  return String(err);
}
