import { createHash, createHmac } from 'node:crypto';
import { InvalidSessionIdError } from '../errors.js';

/** Longest session id accepted, in UTF-8 bytes; DynamoDB's own key limit is 2 KB. */
export const MAX_SESSION_ID_BYTES = 1024;

/** Refuses ids that cannot be ours before any DynamoDB call is spent on them. */
export function checkSessionId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || id.length === 0) {
    throw new InvalidSessionIdError('session id must be a non-empty string: the cookie is missing or was tampered with');
  }
  if (Buffer.byteLength(id, 'utf8') > MAX_SESSION_ID_BYTES) {
    throw new InvalidSessionIdError(`session id is longer than ${MAX_SESSION_ID_BYTES} bytes: refused without a DynamoDB call`);
  }
}

/** A short, irreversible tag of an id for logs and error messages: never the id itself. */
export function idTag(id: string): string {
  return createHash('sha256').update(id).digest('hex').slice(0, 12);
}

/**
 * The table's key for a session id. With `hashSessionIds` it is an HMAC, so a
 * dump of the table yields no id that a cookie could replay.
 */
export function keyFor(id: string, secret: string | Buffer | undefined): string {
  return secret === undefined ? id : createHmac('sha256', secret).update(id).digest('base64url');
}
