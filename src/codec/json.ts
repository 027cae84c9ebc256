import { CorruptSessionError, SessionSerializationError } from '../errors.js';

/** Deeper session data is refused: nothing real nests this far, and a cycle hidden behind toJSON would. */
export const MAX_DEPTH = 200;

type Key = string | number;

/** What the walk found wrong; the keys are collected on the way back up, innermost first. */
interface Problem {
  keys: Key[];
  what: string;
  /** The walk passed MAX_DEPTH: a cycle or really deep data, told apart afterwards from the root. */
  deep?: true;
}

const problem = (what: string): Problem => ({ keys: [], what });

/**
 * Session data as JSON text. JSON.stringify alone would silently drop
 * functions and symbols and turn NaN, Infinity and functions in arrays into
 * null, so the session read back would differ from the one saved with no
 * error. A type-only walk runs first to refuse those; it costs far less than a
 * replacer function, which V8 cannot keep on its fast serializer path (figures
 * in bench/codec.ts). What JSON drops by design is kept as JSON does it:
 * `undefined` members vanish, `undefined` and holes in arrays become null,
 * Dates and other objects with toJSON are serialized through it.
 *
 * Throws SessionSerializationError naming the path of the first bad value.
 */
export function stringifySession(data: Record<string, unknown>): string {
  checkSession(data);
  try {
    return JSON.stringify(data);
  } catch (err) {
    // Left to JSON.stringify: a toJSON that behaves differently on its second
    // call, and boxed BigInts (Object(1n)), which no one stores on purpose.
    throw new SessionSerializationError(`session could not be serialized to JSON: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
}

/**
 * The type walk of `stringifySession` alone, for a caller that has the plain
 * JSON.stringify text already: when this passes, that text is what
 * `stringifySession` would return. Throws SessionSerializationError.
 */
export function checkSession(data: Record<string, unknown>): void {
  let refusal: string | undefined;
  try {
    const found = check(data, '', 0);
    if (found) refusal = explain(data, found);
    else {
      const top = resolve(data, '');
      if (top === null || typeof top !== 'object' || Array.isArray(top)) {
        refusal = `session data must be a plain object (got ${describe(top)}): keep values as properties of the session`;
      }
    }
  } catch (err) {
    // A getter or Proxy trap of the application's threw while being read.
    throw new SessionSerializationError(`session could not be read for serialization: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
  if (refusal !== undefined) throw new SessionSerializationError(refusal);
}

/** The value JSON.stringify serializes in place of `value`: the result of its toJSON, if it has one. */
function resolve(value: unknown, key: Key): unknown {
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return (value as { toJSON(key: string): unknown }).toJSON(String(key));
  }
  return value;
}

/**
 * Returns undefined when JSON.stringify will carry `value` faithfully. The
 * hot path allocates nothing per node; the path of a problem is assembled
 * only on the way out of a failure.
 */
function check(value: unknown, key: Key, depth: number): Problem | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'undefined':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : problem(`is ${value}: JSON would store it as null; store a finite number, null or a string`);
    case 'function':
      return problem('is a function: functions cannot be stored in a session; store plain data and rebuild the function after load');
    case 'symbol':
      return problem('is a symbol: symbols cannot be stored in a session; store a string instead');
    case 'bigint':
      return problem(`is a BigInt (${value}n): JSON cannot carry it; store it as a string, e.g. value.toString()`);
  }
  if (value === null) return undefined;
  if (depth >= MAX_DEPTH) return { keys: [], what: '', deep: true };
  const object = value as Record<string, unknown>;

  if (typeof object.toJSON === 'function') {
    if (object instanceof Date && Number.isNaN(object.getTime())) {
      return problem('is an invalid Date: JSON would store it as null; store a valid Date or null');
    }
    let replaced: unknown;
    try {
      replaced = (object.toJSON as (key: string) => unknown)(String(key));
    } catch (err) {
      return problem(`has a toJSON() that threw: ${(err as Error)?.message ?? String(err)}`);
    }
    if (replaced !== object) return check(replaced, key, depth + 1);
  }

  if (Array.isArray(object)) {
    for (let i = 0; i < object.length; i++) {
      const item: unknown = object[i];
      if (item === undefined || typeof item === 'string' || typeof item === 'boolean' || item === null) continue;
      const found = check(item, i, depth + 1);
      if (found) {
        found.keys.push(i);
        return found;
      }
    }
    return undefined;
  }

  const proto: unknown = Object.getPrototypeOf(object);
  if (proto === Object.prototype || proto === null) {
    // A plain object (every one JSON.parse makes): for-in walks V8's cached key list where Object.keys
    // allocates an array per object, half the walk's time (bench/store-cpu.ts). It also visits
    // inherited enumerable keys, which JSON skips: a problem found under one is no problem.
    for (const name in object) {
      const member = object[name];
      if (typeof member === 'string' || typeof member === 'boolean' || member === undefined || member === null) continue;
      const found = check(member, name, depth + 1);
      if (found && Object.hasOwn(object, name)) {
        found.keys.push(name);
        return found;
      }
    }
    return undefined;
  }
  const odd = oddObject(object);
  if (odd) return odd;
  const keys = Object.keys(object);
  for (let i = 0; i < keys.length; i++) {
    const name = keys[i] as string;
    const member = object[name];
    if (typeof member === 'string' || typeof member === 'boolean' || member === undefined || member === null) continue;
    const found = check(member, name, depth + 1);
    if (found) {
      found.keys.push(name);
      return found;
    }
  }
  return undefined;
}

/** Class instances JSON.stringify turns into something other than what they hold. */
function oddObject(object: object): Problem | undefined {
  if (object instanceof Map) return problem('is a Map: JSON would store it as {}; store Object.fromEntries(map) or [...map]');
  if (object instanceof Set) return problem('is a Set: JSON would store it as {}; store [...set]');
  if (object instanceof Number) return check(object.valueOf(), '', 0);
  if (typeof (object as { then?: unknown }).then === 'function') return problem('is a Promise: await it and store its result');
  return undefined;
}

function explain(data: object, found: Problem): string {
  if (!found.deep) return `${pathOf(found.keys.reverse())} ${found.what}`;
  const cycle = findCycle(data, [], new Set(), new Set());
  if (cycle) {
    return `${pathOf(cycle)} refers back to an object that contains it (a cycle): JSON cannot carry cycles; store ids instead of references`;
  }
  const keys = found.keys.reverse();
  return `${pathOf(keys.slice(0, 6))}${keys.length > 6 ? '…' : ''} nests deeper than ${MAX_DEPTH} levels: flatten the session data`;
}

/**
 * Root-first keys of the first reference back to an ancestor, if any. Runs
 * only after the walk went past MAX_DEPTH, where a cycle is the usual cause.
 * `done` holds objects already searched in full, so shared sub-objects are
 * searched once.
 */
function findCycle(value: object, keys: Key[], ancestors: Set<object>, done: Set<object>): Key[] | undefined {
  ancestors.add(value);
  const entries: Array<[Key, unknown]> = Array.isArray(value) ? value.map((v: unknown, i) => [i, v]) : Object.entries(value);
  for (const [k, v] of entries) {
    if (v === null || typeof v !== 'object' || done.has(v)) continue;
    keys.push(k);
    if (ancestors.has(v)) return keys;
    const found = findCycle(v, keys, ancestors, done);
    if (found) return found;
    keys.pop();
  }
  ancestors.delete(value);
  done.add(value);
  return undefined;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** `session.user.cart[3]["odd key"]`: where the bad value sits, as a reader would write it in code. */
function pathOf(rootFirst: Key[]): string {
  let path = 'session';
  for (const k of rootFirst) path += typeof k === 'number' ? `[${k}]` : IDENTIFIER.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`;
  return path;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Payload bytes as text; invalid UTF-8 means damaged bytes, not a session with odd characters. */
export function utf8(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch (err) {
    throw new CorruptSessionError('session data is not valid UTF-8 JSON: the item is damaged', { cause: err });
  }
}

/**
 * Session data from JSON text, as plain objects and arrays. An own
 * `__proto__` member (JSON.parse creates it as data, not as a prototype) is
 * dropped: copied with Object.assign, a for-in loop or a naive deep merge it
 * would become the prototype of the target and let stored data smuggle
 * properties into objects the application trusts. `constructor` and
 * `prototype` members stay: as own data properties they set no prototype.
 *
 * Throws CorruptSessionError on anything but a JSON object.
 */
export function parseSession(json: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    throw new CorruptSessionError(`session data is not valid JSON (${(err as Error).message}): the item is damaged`, { cause: err });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new CorruptSessionError(`session data is JSON ${describe(value)}, not an object: the item was not written by dynamodb-session-manager`);
  }
  // The key can only be spelled out literally or with \u escapes; text with
  // neither (nearly every session) needs no walk.
  if (json.includes('__proto__') || json.includes('\\u')) {
    try {
      dropProtoKeys(value);
    } catch (err) {
      throw new CorruptSessionError('session data nests too deeply to be read: the item is damaged', { cause: err });
    }
  }
  return value as Record<string, unknown>;
}

function dropProtoKeys(value: object): void {
  if (Array.isArray(value)) {
    for (const item of value) if (item !== null && typeof item === 'object') dropProtoKeys(item);
    return;
  }
  if (Object.hasOwn(value, '__proto__')) delete (value as Record<string, unknown>)['__proto__'];
  for (const member of Object.values(value)) if (member !== null && typeof member === 'object') dropProtoKeys(member);
}
