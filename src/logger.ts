/**
 * The logger shape the store writes to: pino's (an optional object of fields,
 * then a message). `console` fits too.
 */
export interface Logger {
  debug?(obj: object | string, msg?: string): void;
  info?(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
}

const line = (level: string, obj: object | string, msg?: string): string => {
  if (typeof obj === 'string') return `dynamodb-session-manager ${level}: ${obj}`;
  const fields = Object.entries(obj)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `dynamodb-session-manager ${level}: ${msg ?? ''}${fields ? ` (${fields})` : ''}`;
};

/** Default: warnings and errors only, one line each on stderr. */
export const defaultLogger: Logger = {
  warn(obj, msg) {
    process.stderr.write(`${line('warn', obj, msg)}\n`);
  },
  error(obj, msg) {
    process.stderr.write(`${line('error', obj, msg)}\n`);
  },
};
