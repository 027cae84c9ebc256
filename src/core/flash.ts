/**
 * Flash messages: a value set in one request for the next one to show, once.
 * They live in the session data under one reserved key, `$flash` (not `_…`:
 * koa-session drops keys that start with an underscore), so setting one is
 * part of the request's own save, merges like any other key, and reads in
 * every adapter. Every adapter's `flash`/`takeFlash` is built on this file.
 *
 * Showing one is the hard part: two requests that loaded the same session in
 * parallel both hold the flash, and a merge of their saves cannot tell that
 * both showed it (remix-run/remix#5647). So a read takes the value out of the
 * stored session first, with a write conditional on the version its request
 * loaded; only the request whose write succeeds shows it. A lease does not
 * settle it: under `locking: 'auto'` a GET takes none.
 */
import { SaveOutcomeUnknownError, StoreUnavailableError } from '../errors.js';
import { isConditionalFailure, sdkAttempts } from '../aws/errors.js';
import { isExpired, itemBytesBesideData, nowSeconds } from './item.js';
import { openItem } from './open-item.js';
import { findWrite, keptWriteIds, nextWriteId, writeIdsValue } from './write-history.js';
import type { SessionData, SessionHandle } from './session-handle.js';
import { idTag } from './session-id.js';
import type { RequestContext } from './store-context.js';
import { updateItem } from './update-item.js';

/** The reserved key of the session data that holds the flash values, by name. */
export const FLASH_KEY = '$flash';

type Flashes = Record<string, unknown>;

const flashesOf = (data: SessionData): Flashes | undefined => {
  const bag = data[FLASH_KEY];
  return bag !== null && typeof bag === 'object' && !Array.isArray(bag) ? (bag as Flashes) : undefined;
};

const has = (o: object | undefined, k: string): boolean => o !== undefined && Object.prototype.hasOwnProperty.call(o, k);

/** Removes flash `name` from `data` (and the reserved key once it is empty): what a take leaves. */
function remove(data: SessionData, name: string): void {
  const flashes = flashesOf(data);
  if (!flashes || !has(flashes, name)) return;
  delete flashes[name];
  if (Object.keys(flashes).length === 0) delete data[FLASH_KEY];
}

/** Sets flash `name` in the request's session data; it is stored with the session when the request saves. */
export function putFlash(data: SessionData, name: string, value: unknown): void {
  const flashes = flashesOf(data) ?? {};
  // A new object: a framework that compares the session by reference or hash sees the change.
  data[FLASH_KEY] = { ...flashes, [name]: value };
}

/** Whether `data` holds flash `name`. */
export function hasFlash(data: SessionData, name: string): boolean {
  return has(flashesOf(data), name);
}

/**
 * Takes flash `name` for the request that loaded `handle` and holds `data`:
 * resolves to its value, or undefined when there is none or another request
 * took it first. Either way `data` no longer holds it.
 *
 * One stored with the session costs one UpdateItem that rewrites the item
 * without it (billed as any write of the item: 1 WCU up to 1 KB), conditional
 * on the version loaded; a request that loses the race spends the same on its
 * failed condition and shows nothing. When another request wrote something
 * else meanwhile, the take is tried again on that version (the failed write
 * returns it; engines that return none cost one GetItem). The taker's handle
 * moves to the version it wrote, so its own save at the end of the request
 * finds nothing changed and writes nothing. A flash set in this same request
 * and not stored yet costs nothing.
 */
export async function takeFlash(ctx: RequestContext, handle: SessionHandle | null | undefined, data: SessionData, name: string): Promise<unknown> {
  const inMemory = flashesOf(data)?.[name];
  remove(data, name);
  if (!handle || handle.version <= 0 || !handle.json.includes(JSON.stringify(FLASH_KEY))) return inMemory;
  let base = { version: handle.version, json: handle.json, writeIds: handle.writeIds ?? [] };
  for (let attempt = 1; ; attempt++) {
    const stored = ctx.codec.parse(base.json);
    const flashes = flashesOf(stored);
    // Taken by another request, or never stored: only what this request set itself.
    if (!flashes || !has(flashes, name)) return attempt === 1 ? inMemory : undefined;
    const value = flashes[name];
    remove(stored, name);
    const json = JSON.stringify(stored);
    const bytes = ctx.codec.frame(json, itemBytesBesideData(handle.key, handle.userId), handle.key);
    const writeId = nextWriteId();
    try {
      // The expiry is left as it is: reading a flash is not activity that extends the session.
      await updateItem(
        ctx,
        handle.key,
        'SET #data = :data, version = :nv, updatedAt = :now, writeId = :wid, writeIds = :wids',
        'version = :v AND expiresAt > :nowSec',
        {
          ':data': { B: bytes },
          ':nv': { N: String(base.version + 1) },
          ':v': { N: String(base.version) },
          ':now': { N: String(Date.now()) },
          ':nowSec': { N: String(nowSeconds()) },
          ':wid': { S: writeId },
          ':wids': writeIdsValue(writeId, base.writeIds),
        },
      );
    } catch (err) {
      if (!isConditionalFailure(err)) throw err;
      const old = await ctx.gateway.itemAfterConditionFailure(err, handle.key);
      if (!old || isExpired(old)) return undefined;
      // Its answer was lost and the SDK sent it again: the first attempt took it (write-history.ts).
      const found = findWrite(old, writeId, base.version);
      if (found === 'unknown' && sdkAttempts(err) > 1) {
        throw new SaveOutcomeUnknownError(
          `session ${idTag(handle.id)} in table "${ctx.config.table}": taking flash "${name}" met a lost answer and later writes: ` +
            'whether it was taken is unknown; retry the request',
        );
      }
      if (found !== 'landed') {
        if (attempt >= ctx.config.maxSaveAttempts) {
          throw new StoreUnavailableError(
            `session ${idTag(handle.id)} in table "${ctx.config.table}": ${attempt} attempts to take flash "${name}" all met a newer version: ` +
              'it was not shown; retry the request',
          );
        }
        const fresh = await openItem(ctx, handle.id, old);
        if (!fresh) return undefined;
        base = { version: fresh.handle.version, json: fresh.handle.json, writeIds: fresh.handle.writeIds ?? [] };
        ctx.statsData.retries += 1;
        continue;
      }
    }
    ctx.decoded.set(handle.key, writeId, json);
    if (base.version === handle.version) {
      // Built on what this request loaded: its save at the end measures its changes from here.
      handle.version = base.version + 1;
      handle.storedVersion = base.version + 1;
      handle.json = json;
      handle.writeIds = keptWriteIds(writeId, base.writeIds);
    }
    return value;
  }
}
