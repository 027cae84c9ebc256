/**
 * The client of a store with `regions` (a global table in MREC): it is this
 * server's own Region's client, and sends each session's writes, leases and
 * strong reads to the session's home Region instead (home-region.ts).
 *
 * Why: in MREC a condition is checked only against the copy of the Region
 * that receives the write, and two Regions' writes to one item are settled by
 * last writer wins. A version check or a lease taken in one Region protects
 * nothing against a write in another, and a logout can be overwritten. With
 * every write of a session going through one Region, its conditions see every
 * write again, as in a single-Region table.
 *
 * Reads stay local when they may: an eventually consistent GetItem is sent
 * only when the request's version cookie can prove the answer fresh (the store
 * reads strongly when it cannot, or when the answer is older), and a strong
 * read goes home, the one Region where it is fresh. Scans and queries (admin
 * calls, the user index) are local.
 */
import { BatchWriteItemCommand, DynamoDBClient, type AttributeValue, type BatchWriteItemCommandOutput, type WriteRequest } from '@aws-sdk/client-dynamodb';
import type { ResolvedConfig } from '../config/options.js';
import type { Logger } from '../logger.js';
import { isOutage } from '../aws/errors.js';
import { clientConfig } from '../aws/client.js';
import { homeRegionOf } from './home-region.js';
import { WRITTEN_IN } from './stream-owner.js';

type Key = { sessionId?: { S?: string } };
type Input = {
  Key?: Key;
  Item?: Key;
  ConsistentRead?: boolean;
  TransactItems?: Array<Record<string, { Key?: Key; Item?: Key } | undefined>>;
  RequestItems?: Record<string, { Keys?: Key[]; ConsistentRead?: boolean } | WriteRequest[]>;
};
type Command = { input: Input; constructor: { name: string } };

/** After a home Region failed to answer, how long its writes go straight to this Region under `'failover'`. */
const FAILOVER_MS = 10_000;

export class RoutingClient extends DynamoDBClient {
  private readonly local: string;
  private readonly names: string[];
  private readonly others = new Map<string, DynamoDBClient>();
  private readonly failover: boolean;
  /** Region → until when it counts as down (failover only). */
  private readonly down = new Map<string, number>();
  private readonly logger: Pick<Logger, 'warn'> | undefined;

  constructor(config: ResolvedConfig, logger?: Pick<Logger, 'warn'>) {
    const replicas = config.regions!;
    const own = replicas.find((r) => r.name === config.region)!;
    super(clientConfig({ ...config, endpoint: own.endpoint }, logger));
    this.local = own.name;
    this.names = replicas.map((r) => r.name);
    for (const r of replicas) {
      if (r.name !== own.name) this.others.set(r.name, new DynamoDBClient(clientConfig({ ...config, region: r.name, endpoint: r.endpoint }, logger)));
    }
    this.failover = config.onRegionFailure === 'failover';
    this.logger = logger;
  }

  /** The Region `command` must go to. */
  regionFor(command: Command): string {
    const input = command.input;
    const name = command.constructor.name;
    let key: string | undefined;
    if (name === 'GetItemCommand') key = input.ConsistentRead ? input.Key?.sessionId?.S : undefined;
    else if (name === 'PutItemCommand' || name === 'UpdateItemCommand' || name === 'DeleteItemCommand') key = (input.Key ?? input.Item)?.sessionId?.S;
    else if (name === 'TransactWriteItemsCommand' || name === 'TransactGetItemsCommand') {
      const first = Object.values(input.TransactItems?.[0] ?? {})[0];
      key = (first?.Key ?? first?.Item)?.sessionId?.S;
    } else if (name === 'BatchGetItemCommand') {
      const reads = Object.values(input.RequestItems ?? {})[0] as { Keys?: Key[]; ConsistentRead?: boolean } | undefined;
      key = reads?.ConsistentRead ? reads.Keys?.[0]?.sessionId?.S : undefined;
    }
    return key === undefined ? this.local : homeRegionOf(key, this.names);
  }

  // The SDK's send has overloads (promise, callback) no single signature matches; the store uses the promise form only.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override send(command: any, options?: any): any {
    const cmd = command as Command;
    if (cmd.constructor.name === 'BatchWriteItemCommand') return this.batchWrite(cmd, options as never);
    return this.sendTo(this.regionFor(cmd), command as never, options as never);
  }

  override destroy(): void {
    for (const client of this.others.values()) client.destroy();
    super.destroy();
  }

  private async sendTo(region: string, command: never, options: never | undefined): Promise<never> {
    const client = this.others.get(region);
    recordWriter(command as Command, region);
    if (!client) return super.send(command, options);
    if (this.failover && (this.down.get(region) ?? 0) > Date.now()) return this.sendLocal(command, options);
    try {
      return await client.send(command, options);
    } catch (err) {
      if (!this.failover || !isOutage(err)) throw err;
      if ((this.down.get(region) ?? 0) <= Date.now()) {
        this.logger?.warn(
          { home: region, local: this.local, reason: (err as Error).name },
          `home Region ${region} does not answer: sessions homed there are written in ${this.local} for ${FAILOVER_MS / 1000} s ` +
            "(onRegionFailure: 'failover'); writes made in both Regions meanwhile are settled by last writer wins",
        );
      }
      this.down.set(region, Date.now() + FAILOVER_MS);
      return this.sendLocal(command, options);
    }
  }

  private sendLocal(command: never, options: never | undefined): Promise<never> {
    recordWriter(command as Command, this.local);
    return super.send(command, options);
  }

  /** A batch of deletes (a revoke, a purge) spans sessions of several homes: one batch per home Region. */
  private async batchWrite(command: Command, options: never | undefined): Promise<BatchWriteItemCommandOutput> {
    const [table, requests] = Object.entries(command.input.RequestItems ?? {})[0] as [string, WriteRequest[]];
    const byRegion = new Map<string, WriteRequest[]>();
    for (const request of requests) {
      const key = (request.DeleteRequest?.Key ?? request.PutRequest?.Item) as Key | undefined;
      const region = homeRegionOf(key?.sessionId?.S ?? '', this.names);
      byRegion.set(region, [...(byRegion.get(region) ?? []), request]);
    }
    if (byRegion.size === 1) return this.sendTo([...byRegion.keys()][0]!, command as never, options);
    const outs = await Promise.all(
      [...byRegion].map(([region, part]) => {
        const batch = new BatchWriteItemCommand({ ...command.input, RequestItems: { [table]: part } });
        return this.sendTo(region, batch as never, options);
      }),
    );
    const unprocessed = outs.flatMap((out) => (out as unknown as BatchWriteItemCommandOutput).UnprocessedItems?.[table] ?? []);
    const first = outs[0] as unknown as BatchWriteItemCommandOutput;
    return { ...first, UnprocessedItems: unprocessed.length > 0 ? { [table]: unprocessed } : {} };
  }
}

type Update = { UpdateExpression?: string; ExpressionAttributeNames?: Record<string, string>; ExpressionAttributeValues?: Record<string, AttributeValue> };

/**
 * Records on the item the Region that receives the write (`writtenIn`), as
 * AWS advises for stream consumers of global tables: the one Region whose
 * stream announces the session's end (stream-owner.ts). A failover write
 * names the Region it went to.
 */
function recordWriter(command: Command, region: string): void {
  const name = command.constructor.name;
  const input = command.input as Input & Update & { Item?: Record<string, AttributeValue> };
  if (name === 'PutItemCommand' && input.Item) input.Item[WRITTEN_IN] = { S: region };
  else if (name === 'UpdateItemCommand') setWriter(input, region);
  else if (name === 'TransactWriteItemsCommand') {
    for (const entry of (input.TransactItems ?? []) as Array<{ Put?: { Item?: Record<string, AttributeValue> }; Update?: Update }>) {
      if (entry.Put?.Item) entry.Put.Item[WRITTEN_IN] = { S: region };
      if (entry.Update) setWriter(entry.Update, region);
    }
  }
}

function setWriter(update: Update, region: string): void {
  const values = (update.ExpressionAttributeValues ??= {});
  const again = values[':dsmWrittenIn'] !== undefined;
  values[':dsmWrittenIn'] = { S: region };
  if (again) return;
  (update.ExpressionAttributeNames ??= {})['#dsmWrittenIn'] = WRITTEN_IN;
  const expression = update.UpdateExpression ?? '';
  update.UpdateExpression = /(^|\s)SET\s/.test(expression)
    ? expression.replace(/(^|\s)SET\s/, '$1SET #dsmWrittenIn = :dsmWrittenIn, ')
    : `SET #dsmWrittenIn = :dsmWrittenIn ${expression}`;
}
