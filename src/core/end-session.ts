/**
 * Ending a session by its key: the delete that logout, revocation and
 * regeneration share, and revocation by the handle `listUserSessions` gives,
 * checked against the user it must belong to.
 */
import type { RequestLocks } from './request-locks.js';
import { ConfigError } from '../errors.js';
import { CHUNKED_DATA, deleteSessionItem } from './chunks.js';
import type { DestroyedEvent, DestroyReason } from './events.js';
import type { Item } from './item.js';
import type { SessionHandle } from './session-handle.js';
import { handleFor, HANDLE_PREFIX, idTag } from './session-id.js';
import type { RequestContext } from './store-context.js';
import { listUserSessionKeys } from './user-sessions.js';

/** What a request's handle knows of the head it loaded: what a delete whose answer was lost reports instead of the old item. */
export function loadedHead(handle: SessionHandle): Item {
  return {
    sessionId: { S: handle.key },
    ...(handle.userId !== undefined ? { userId: { S: handle.userId } } : {}),
    // As this release writes it (a head of the release before loses its chunks to TTL instead).
    ...(handle.chunks ? { data: { B: CHUNKED_DATA }, chunkItems: { N: String(handle.chunks) } } : {}),
    ...(handle.writeIds?.[0] !== undefined ? { writeId: { S: handle.writeIds[0] } } : {}),
  };
}

/** Deletes a session's item (and its chunks); emits `destroyed` unless the reason is 'regenerate'. Resolves to whether there was one. */
export async function deleteKey(ctx: RequestContext, key: string, reason: DestroyReason | 'regenerate', session: string, loaded?: Item): Promise<boolean> {
  ctx.decoded.delete(key);
  // The old item comes back at no extra cost: it says whether there was a session to end, whose, and which chunks to delete.
  const old = await deleteSessionItem(ctx, key, loaded);
  if (!old || reason === 'regenerate') return old !== undefined;
  ctx.emit('destroyed', { key, session, reason, ...(old.userId?.S !== undefined ? { userId: old.userId.S } : {}) } satisfies DestroyedEvent);
  return true;
}

/** revokeSession: a handle (or a table key) of the user's, or nothing ends. */
export async function endOwnedSession(
  ctx: RequestContext,
  locks: RequestLocks,
  idSecret: string | Buffer | undefined,
  handle: string,
  options: { userId?: string },
): Promise<boolean> {
  let key = handle;
  if (handle.startsWith(HANDLE_PREFIX)) {
    if (options.userId === undefined) {
      throw new ConfigError('revokeSession(handle) needs { userId }: the user whose session it is (from listUserSessions(userId))');
    }
    const { keys } = await listUserSessionKeys(ctx, options.userId);
    const found = keys.find((k) => handleFor(k, idSecret) === handle);
    if (found === undefined) return false;
    key = found;
  } else if (options.userId !== undefined) {
    // A key with a user named: only that user's session ends.
    const { keys } = await listUserSessionKeys(ctx, options.userId);
    if (!keys.includes(key)) return false;
  }
  await ctx.ready();
  const deleted = await deleteKey(ctx, key, 'revoked', idTag(key));
  locks.settleHolder(key);
  return deleted;
}
