/**
 * The cost floor of a workload: one read per request and one write per
 * change, each billed on the item as stored. DynamoDB bills a read per started
 * 4 KB (half when eventually consistent) and a write per started 1 KB of the
 * whole item; rather than re-deriving its item-size rules, ask it: a read of a
 * stored session and a write of the same item back report the exact units.
 */
import { DynamoDBClient, GetItemCommand, PutItemCommand, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';

export interface ItemUnits {
  /** Units one strongly consistent read of a typical stored session costs. */
  readUnits: number;
  /** Units one write of it costs. */
  writeUnits: number;
  items: number;
}

/**
 * Mean units over up to `sample` stored sessions of `table`. Talks to DynamoDB
 * directly (not through the counting proxy), after the measured run.
 */
export async function measureItemUnits(endpoint: string, table: string, sample = 10): Promise<ItemUnits> {
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
  try {
    const scan = await client.send(new ScanCommand({ TableName: table, Limit: sample }));
    const items = scan.Items ?? [];
    const keyName = keyAttribute(items);
    let readUnits = 0;
    let writeUnits = 0;
    for (const item of items) {
      const read = await client.send(
        new GetItemCommand({ TableName: table, Key: { [keyName]: item[keyName]! }, ConsistentRead: true, ReturnConsumedCapacity: 'TOTAL' }),
      );
      readUnits += read.ConsumedCapacity?.CapacityUnits ?? 0;
      // Writing the very same item back changes nothing but tells its price.
      const write = await client.send(new PutItemCommand({ TableName: table, Item: item, ReturnConsumedCapacity: 'TOTAL' }));
      writeUnits += write.ConsumedCapacity?.CapacityUnits ?? 0;
    }
    const n = Math.max(items.length, 1);
    return { readUnits: readUnits / n, writeUnits: writeUnits / n, items: items.length };
  } finally {
    client.destroy();
  }
}

/** The hash key of the stores compared here: ours `sessionId`, the peers `id`. */
function keyAttribute(items: Array<Record<string, AttributeValue>>): string {
  const first = items[0] ?? {};
  return 'sessionId' in first ? 'sessionId' : 'id';
}

export interface Floor {
  /** Capacity units per 1,000 requests: reads + writes. */
  unitsPer1000: number;
  readsPer1000: number;
  writesPer1000: number;
}

/** The floor for `requests` loads of which `changes` changed the session. */
export function floorFor(units: ItemUnits, requests: number, changes: number, consistentRead = true): Floor {
  const scale = 1000 / Math.max(requests, 1);
  const readsPer1000 = requests * scale * units.readUnits * (consistentRead ? 1 : 0.5);
  const writesPer1000 = changes * scale * units.writeUnits;
  return { unitsPer1000: readsPer1000 + writesPer1000, readsPer1000, writesPer1000 };
}
