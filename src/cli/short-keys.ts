/**
 * `list` prints long session keys shortened (`abcdefghijkl…wxyz`); `show` and
 * `delete` take them back as printed (with `…` or `...`), when exactly one
 * key of the table fits.
 */
import { listSessions } from '../store/inspect.js';
import type { SessionStore } from '../store/session-store.js';
import { handleFor, HANDLE_PREFIX } from '../core/session-id.js';

/**
 * How the CLI names a session: its handle. With `hashSessionIds` off the table
 * key is the live session id, which must not land in a terminal, a CI log or a
 * ticket; the handle (an HMAC tag of it) names it as well for show, delete and
 * --after. With `hashSessionIds` the key is an HMAC already, and is the handle.
 */
export const nameOf = (store: SessionStore, key: string): string => handleFor(key, store.config.hashSessionIds);

/** Whether a name given on the command line is a handle (whole or shortened), not a key. */
export const isHandle = (written: string): boolean => written.startsWith(HANDLE_PREFIX);

const HEAD = 12;
const TAIL = 4;

export const shortenKey = (key: string, full: boolean): string => (full || key.length <= HEAD + TAIL + 4 ? key : `${key.slice(0, HEAD)}…${key.slice(-TAIL)}`);

/** The two ends of a key written shortened, or undefined for a whole key. */
export function shortenedParts(written: string): { head: string; tail: string } | undefined {
  const m = /^(.+?)(?:…|\.\.\.)(.*)$/s.exec(written);
  return m ? { head: m[1]!, tail: m[2]! } : undefined;
}

/**
 * Every key of the table that the shortened form fits. A Scan of the whole
 * table (keys and small attributes read, the whole item paid for): an
 * operator's command, never a request's.
 */
export async function keysFitting(store: SessionStore, parts: { head: string; tail: string }): Promise<string[]> {
  const found: string[] = [];
  let after: string | undefined;
  do {
    const page = await listSessions(store, { limit: 1000, includeExpired: true, ...(after !== undefined ? { after } : {}) });
    for (const s of page.sessions) {
      // A handle, whole or shortened, is matched against each key's handle: the key it names is found.
      const name = isHandle(parts.head) ? nameOf(store, s.key) : s.key;
      if (name.startsWith(parts.head) && name.endsWith(parts.tail) && name.length >= parts.head.length + parts.tail.length) found.push(s.key);
    }
    after = page.next;
  } while (after !== undefined);
  return found;
}
