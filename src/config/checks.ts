/**
 * The checks of the option schema (options.ts): each throws a ConfigError that
 * names the option, says what it must be, and shows what it got (never a secret).
 */
import { ConfigError } from '../errors.js';

declare const checked: unique symbol;

/** Throws a ConfigError when `value` is not a T; the T only types the schema (SessionStoreOptions). */
export type Check<T> = ((value: unknown, name: string) => void) & { readonly [checked]?: T };

/** A check of a type the value's shape alone cannot name (a function, a logger, a client). */
export const is = <T>(check: (value: unknown, name: string) => void): Check<T> => check;

export const got = (value: unknown): string => {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (typeof value === 'function') return 'a function';
  if (Buffer.isBuffer(value)) return 'a Buffer';
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return String(value);
};

export const fail = (name: string, what: string, value: unknown): never => {
  throw new ConfigError(`option "${name}" must be ${what} (got ${got(value)})`);
};

export const string: Check<string> = (value, name) => {
  if (typeof value !== 'string' || value.trim() === '') fail(name, 'a non-empty string', value);
};

// Secrets are never echoed back in an error message.
export const secret: Check<string> = (value, name) => {
  if (typeof value !== 'string' || value.trim() === '') throw new ConfigError(`option "${name}" must be a non-empty string (got ${typeof value})`);
};

export const boolean: Check<boolean> = (value, name) => {
  if (typeof value !== 'boolean') fail(name, 'true or false', value);
};

const integer = (value: unknown, min: number): value is number => typeof value === 'number' && Number.isInteger(value) && value >= min;

/** A positive integer, at least `min` (the message says why the floor is there) and at most `max`. */
export const positiveInt =
  (bounds: { min?: [number, string]; max?: [number, string] } = {}): Check<number> =>
  (value, name) => {
    if (!integer(value, 1)) fail(name, 'a positive integer', value);
    const [min, minWhy] = bounds.min ?? [1, ''];
    const [max, maxWhy] = bounds.max ?? [Infinity, ''];
    if ((value as number) < min) fail(name, `at least ${min}${minWhy}`, value);
    if ((value as number) > max) fail(name, `at most ${max}${maxWhy}`, value);
  };

export const nonNegativeInt: Check<number> = (value, name) => {
  if (!integer(value, 0)) fail(name, 'an integer of 0 or more', value);
};

export const oneOf =
  <const A extends string[]>(...allowed: A): Check<A[number]> =>
  (value, name) => {
    if (typeof value !== 'string' || !allowed.includes(value)) fail(name, `one of ${allowed.map((a) => `"${a}"`).join(', ')}`, value);
  };

export const fn = <T>(): Check<T> => (value, name) => {
  if (typeof value !== 'function') fail(name, 'a function', value);
};

/** `a` or, failing it, `b`; the message is `b`'s. */
export const either = <A, B>(a: (value: unknown) => boolean, b: Check<B>): Check<A | B> => (value, name) => {
  if (!a(value)) b(value, name);
};

export const tableName: Check<string> = (value, name) => {
  string(value, name);
  if (!/^[A-Za-z0-9_.-]{3,255}$/.test(value as string)) fail(name, 'a DynamoDB table name: 3-255 characters of A-Z a-z 0-9 _ . -', value);
};

export const region: Check<string> = (value, name) => {
  string(value, name);
  if (!/^[a-z]{2}(-[a-z0-9]+)+-\d+$|^local$|^[a-z0-9-]+$/.test(value as string)) fail(name, 'an AWS Region such as "eu-west-1"', value);
};

export const url: Check<string> = (value, name) => {
  string(value, name);
  let parsed: URL | undefined;
  try {
    parsed = new URL(value as string);
  } catch {
    fail(name, 'a URL such as http://127.0.0.1:8000', value);
  }
  if (parsed!.protocol !== 'http:' && parsed!.protocol !== 'https:') fail(name, 'an http:// or https:// URL', value);
};

/** An object with these methods (`optional` ones may be absent); else the message `what`, with what it got when `shown`. */
export const withMethods =
  <T>(required: string[], what: string, { optional = [] as string[], shown = false } = {}): Check<T> =>
  (value, name) => {
    const o = value as Record<string, unknown> | null;
    const ok =
      !!o &&
      typeof o === 'object' &&
      required.every((m) => typeof o[m] === 'function') &&
      optional.every((m) => o[m] === undefined || typeof o[m] === 'function');
    if (!ok && shown) fail(name, what, value);
    if (!ok) throw new ConfigError(`option "${name}" must be ${what}`);
  };

/** Decodes a 32-byte key given as a Buffer or a base64/hex string; undefined when it is not 32 bytes. */
export function keyBytes(key: unknown): Buffer | undefined {
  let bytes: Buffer | undefined;
  if (Buffer.isBuffer(key)) bytes = key;
  else if (typeof key === 'string' && /^[0-9a-fA-F]{64}$/.test(key)) bytes = Buffer.from(key, 'hex');
  else if (typeof key === 'string' && /^[A-Za-z0-9+/_-]+={0,2}$/.test(key)) bytes = Buffer.from(key, 'base64');
  return bytes && bytes.length === 32 ? bytes : undefined;
}

export const encryptionKeys = <K>(): Check<K[]> => (value, name) => {
  if (!Array.isArray(value) || value.length === 0) fail(name, 'a non-empty array of { id, key }', value);
  const seen = new Set<string>();
  (value as unknown[]).forEach((entry, i) => {
    const e = entry as { id?: unknown; key?: unknown } | null;
    if (!e || typeof e !== 'object' || typeof e.id !== 'string' || !/^[\x21-\x7e]{1,32}$/.test(e.id)) {
      throw new ConfigError(`option "${name}[${i}].id" must be 1-32 printable ASCII characters`);
    }
    if (seen.has(e.id)) throw new ConfigError(`option "${name}" lists the key id "${e.id}" twice: key ids must be unique`);
    seen.add(e.id);
    if (keyBytes(e.key) === undefined) {
      throw new ConfigError(
        `option "${name}[${i}].key" must be 32 bytes: a Buffer, or a base64 or hex string of 32 bytes (make one with \`openssl rand -base64 32\`)`,
      );
    }
  });
};

function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}

/** The known name a misspelt one most likely meant (case slips, typos of up to a third of it). */
export function closest(name: string, known: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  let best: { option: string; d: number } | undefined;
  for (const option of known) {
    const d = distance(lower, option.toLowerCase());
    if (d <= Math.max(2, Math.floor(option.length / 3)) && (!best || d < best.d)) best = { option, d };
  }
  return best?.option;
}
