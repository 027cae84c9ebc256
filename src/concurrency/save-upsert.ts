import type { ItemWrite } from '../core/item-write.js';

/**
 * A save with nothing loaded to build on (`store.set()` from a tool or a job,
 * outside any request): the item is created or replaced whole, the last
 * writer winning, as a Put would.
 */
export async function saveUpsert(write: ItemWrite): Promise<'written'> {
  await write.upsert();
  return 'written';
}
