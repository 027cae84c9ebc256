import { createHash, createHmac } from 'node:crypto';
import { InvalidSessionIdError } from '../errors.js';
import { STORE_KEY_PREFIX } from './item.js';

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
 * dump of the table yields no id that a cookie could replay. Without it the key
 * is the id itself, which must then not look like one of the store's own
 * items: a large session's chunks are `<key>#<writeId>#<n>` (chunks.ts), so an id with a
 * `#` could be another session's chunk; the bookkeeping items start with
 * `dynamodb-session-manager:` (item.ts). The ids the frameworks make
 * (base64url, UUIDs) contain neither, and an HMAC key (base64url) never does.
 */
export function keyFor(id: string, secret: string | Buffer | undefined): string {
  if (secret !== undefined) return createHmac('sha256', secret).update(id).digest('base64url');
  if (id.includes('#') || id.startsWith(STORE_KEY_PREFIX)) {
    throw new InvalidSessionIdError(
      `session id contains "#" or starts with "${STORE_KEY_PREFIX}", which the store keeps for its own items (a large session's chunks, its bookkeeping): ` +
        `refused without a DynamoDB call; make ids without them (the frameworks' default ids never have them), or set hashSessionIds`,
    );
  }
  return id;
}

/**
 * What starts a session handle: `#` is in no session id the store accepts
 * with `hashSessionIds` off (keyFor refuses it) and in no HMAC key, so a
 * handle is never mistaken for a key.
 */
export const HANDLE_PREFIX = 'dsh#';

/**
 * The opaque name of a session the store hands out (events, listUserSessions):
 * with `hashSessionIds` the table key (an HMAC already, no id in it);
 * without, an HMAC tag of the key, from which no id can be recovered, so a
 * "your devices" page or an event log carries no live session id.
 * `revokeSession(handle, { userId })` takes it back.
 */
export function handleFor(key: string, secret: string | Buffer | undefined): string {
  if (secret !== undefined) return key;
  // No secret to key it with: the tag is one-way all the same (a 192-bit random id cannot be guessed from it).
  return HANDLE_PREFIX + createHmac('sha256', 'dynamodb-session-manager session handle').update(key).digest('base64url');
}
