/**
 * The admin panel's list of live sessions with what `all()` does not give:
 * item size, version, expiry, owner and lease. One Scan page, capped, because
 * a Scan costs read capacity in proportion to what it reads.
 */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { contextOf, type SessionStore } from '../src/store/session-store.js';
import { isExpired, readItem, type Item } from '../src/core/item.js';

export interface LiveSession {
  /** Table key (the session id: the demo does not hash ids). */
  id: string;
  bytes: number;
  version: number;
  /** Epoch seconds. */
  expiresAt: number;
  userId?: string;
  locked: boolean;
  visits?: number;
  cartItems?: number;
}

export const LIST_LIMIT = 50;

export async function liveSessions(store: SessionStore): Promise<{ sessions: LiveSession[]; more: boolean }> {
  const out = await contextOf(store).gateway.send<{ Items?: Item[]; LastEvaluatedKey?: Item }>(
    'Scan',
    new ScanCommand({ TableName: store.config.table, Limit: LIST_LIMIT, ConsistentRead: true }),
  );
  const now = Date.now();
  const sessions: LiveSession[] = [];
  for (const item of out.Items ?? []) {
    if (isExpired(item)) continue;
    try {
      const stored = readItem(item);
      const data = contextOf(store).codec.parse(contextOf(store).codec.unframe(stored.data)) as { visits?: unknown; cart?: unknown };
      sessions.push({
        id: stored.key,
        bytes: itemBytes(item),
        version: stored.version,
        expiresAt: stored.expiresAt,
        ...(stored.userId !== undefined ? { userId: stored.userId } : {}),
        locked: stored.lockExpiresAt !== undefined && stored.lockExpiresAt > now,
        ...(typeof data.visits === 'number' ? { visits: data.visits } : {}),
        ...(Array.isArray(data.cart) ? { cartItems: data.cart.length } : {}),
      });
    } catch {
      // An item another tool wrote, or one that cannot be decoded: not a session to show.
    }
  }
  sessions.sort((a, b) => b.expiresAt - a.expiresAt);
  return { sessions, more: out.LastEvaluatedKey !== undefined };
}

/** An item's size as DynamoDB bills it: attribute names plus values. */
function itemBytes(item: Item): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) {
    bytes += Buffer.byteLength(name);
    if (value.S !== undefined) bytes += Buffer.byteLength(value.S);
    else if (value.B !== undefined) bytes += value.B.length;
    // Numbers are stored in a variable-length decimal form: about one byte per two digits, plus one.
    else if (value.N !== undefined) bytes += Math.ceil(value.N.replace(/^-|\./g, '').length / 2) + 1;
    else bytes += 1;
  }
  return bytes;
}
