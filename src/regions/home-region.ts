/**
 * A session's home Region under a global table (MREC): the one Region where
 * its writes and leases go, so that its conditions (a version, a lease, "not
 * destroyed") are checked against the copy every write goes through. It must
 * be known to every server from the cookie alone, without a read that could
 * itself be stale, so it is written into the id: `<random>~<region>`. An id
 * that names no Region of the table (made before `regions` was set, or by a
 * custom `genid`, or an HMAC key under `hashSessionIds`) gets one by a hash of
 * its key, the same on every server.
 */
import { createHash, randomBytes } from 'node:crypto';
import { STORE_KEY_PREFIX } from '../core/item.js';

/** Between an id's random part and its home Region's name; in no base64url id. */
export const HOME_SEPARATOR = '~';

/** A new session id whose home is `region`: 192 random bits, then `~region`. */
export function homeSessionId(region: string): string {
  return `${randomBytes(24).toString('base64url')}${HOME_SEPARATOR}${region}`;
}

/**
 * A `genid` for the frameworks' session options that gives each new session
 * this server's Region as its home: `genid: homeRegionIds('eu-west-1')`.
 */
export function homeRegionIds(region: string): () => string {
  return () => homeSessionId(region);
}

/**
 * The home Region of a table key, of `regions` sorted by name. A large
 * session's chunk (`<key>#…`) lives with its head. The store's own items
 * (the reaper's lease, …) live in the first Region, so that all servers meet
 * in one place.
 */
export function homeRegionOf(key: string, regions: readonly string[]): string {
  if (key.startsWith(STORE_KEY_PREFIX)) return regions[0]!;
  const sessionKey = key.split('#', 1)[0]!;
  const at = sessionKey.lastIndexOf(HOME_SEPARATOR);
  if (at >= 0) {
    const named = sessionKey.slice(at + 1);
    if (regions.includes(named)) return named;
  }
  const hash = createHash('sha256').update(sessionKey).digest();
  return regions[hash.readUInt32BE(0) % regions.length]!;
}
