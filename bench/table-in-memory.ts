/**
 * A stand-in for the DynamoDB client, for benchmarks that must leave the
 * network out (bench/store-cpu.ts) or record what the store sends
 * (bench/store-requests.ts). Never used by the tests, which talk to DynamoDB Local.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

type Item = Record<string, AttributeValue>;
type Command = { input: Record<string, unknown>; constructor: { name: string } };

/**
 * One table held in memory, answering the two calls a request makes. An
 * UpdateItem is applied as the store's writes use it (new data, writeId,
 * version, expiry), without evaluating its condition: the bench has one writer.
 * `foreign` makes every GetItem answer look written by another server (a new
 * writeId), so the decode cache never holds its bytes.
 */
export class TableInMemory {
  readonly items = new Map<string, Item>();
  foreign = false;
  private reads = 0;
  readonly config = {};

  /** With `record`, every request received, as sent (for tools that replay the store's own requests). Off while CPU is measured. */
  record = false;
  readonly sent: Array<{ name: string; input: Record<string, unknown> }> = [];

  async send(command: Command): Promise<unknown> {
    const input = command.input;
    if (this.record) this.sent.push({ name: command.constructor.name, input: structuredClone(input) });
    const key = (input.Key as { sessionId: { S: string } }).sessionId.S;
    if (command.constructor.name === 'GetItemCommand') {
      const item = this.items.get(key);
      if (!item) return { ConsumedCapacity: { TableName: input.TableName, CapacityUnits: 1 } };
      return { Item: this.foreign ? { ...item, writeId: { S: `other-server-${++this.reads}` } } : { ...item }, ConsumedCapacity: { TableName: input.TableName, CapacityUnits: 1 } };
    }
    if (command.constructor.name === 'UpdateItemCommand') {
      const values = input.ExpressionAttributeValues as Record<string, AttributeValue>;
      const old = this.items.get(key);
      if (values[':data']) {
        this.items.set(key, {
          ...old,
          sessionId: { S: key },
          data: values[':data'],
          writeId: values[':wid']!,
          expiresAt: values[':exp']!,
          updatedAt: values[':now']!,
          createdAt: old?.createdAt ?? values[':now']!,
          version: { N: String(Number(old?.version?.N ?? 0) + 1) },
        });
      } else if (old && values[':exp']) {
        this.items.set(key, { ...old, expiresAt: values[':exp'] });
      }
      return { ConsumedCapacity: { TableName: input.TableName, CapacityUnits: 2 } };
    }
    throw new Error(`bench/table-in-memory: ${command.constructor.name} is not answered here`);
  }

  destroy(): void {}
}
