import type { Base, ItemWrite } from '../core/item-write.js';
import type { Lease } from './lease-lock.js';
import type { SaveResult } from './save-outcome.js';
import { CREATING } from './save-versioned.js';

/**
 * `locking: 'none'`, the Tomcat manager's behaviour: the last writer wins.
 * The one condition is that the session still exists, so a logout sticks; the
 * version is incremented where it stands. A lease a lock rule took is given
 * back in the same write while it is still this request's.
 */
export async function saveLastWriter(write: ItemWrite, base: Base, lease: Lease | undefined): Promise<SaveResult> {
  const owner = lease && !lease.lost ? lease.owner : undefined;
  let condition = base.version === 0 ? CREATING : owner ? 'expiresAt > :nowSec AND lockOwner = :owner' : 'expiresAt > :nowSec';
  for (;;) {
    const result = await write.attempt(condition, base.version, { increment: true, ...(owner && condition.includes(':owner') ? { owner } : {}) });
    if (result.kind === 'stored') return { outcome: 'written', version: result.version ?? base.version + 1, json: write.json };
    if (result.kind === 'own') return { outcome: 'written', version: base.version + 1, json: write.json };
    if (result.kind === 'gone') return { outcome: 'destroyed', version: base.version, json: base.json };
    // Created meanwhile, or the lease taken over: this writer is still the last one.
    if (lease && condition.includes(':owner')) lease.lost = true;
    base = { version: Number(result.old.version?.N ?? 0), json: '' };
    condition = 'expiresAt > :nowSec';
  }
}
