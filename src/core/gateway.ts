import { EventEmitter } from 'node:events';
import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { engineTraits, noteEngine, type EngineTraits } from '../aws/engine.js';
import { SessionStoreError, StoreUnavailableError, TableNotFoundError } from '../errors.js';
import {
  foreignAnswer, isConditionalFailure, isNotFound, isOutage, isThrottle, isTransactionCanceled, isWriteConflict, sdkAttempts, type SdkError,
} from '../aws/errors.js';
import type { Item } from './item.js';
import type { StoreStats } from './stats.js';
import { noteCall } from './telemetry.js';
import { noteRetry } from './telemetry-metrics.js';

/** Any command of @aws-sdk/client-dynamodb. */
type Command = { input: object };

/**
 * Every DynamoDB call of the store goes through here: it is counted, asks for
 * consumed capacity, and its failures become the library's named errors.
 * Emits `disconnect` once two calls in a row have failed for want of an
 * answer (one such call is `suspect`: a lost answer or a stall on every
 * attempt, which a probe then confirms or clears), and `connect` on the first
 * success after one. Throttling is an answer: it counts toward neither.
 */
export class Gateway extends EventEmitter {
  connected = true;
  /** Calls in a row that found no DynamoDB to answer them. */
  private failures = 0;
  /** What the engine behind this client was seen to do (shared by every gateway on the client). */
  readonly engine: EngineTraits;

  constructor(
    readonly client: DynamoDBClient,
    private readonly stats: StoreStats,
    private readonly where: { table: string; target: string; endpoint?: string | undefined; settleBudgetMs?: number },
    /** Ask for ReturnConsumedCapacity on every call and count it in the stats. */
    private readonly countCapacity = false,
  ) {
    super();
    this.engine = engineTraits(client);
  }

  /**
   * The item a failed conditional write found: the one the engine returned
   * (ReturnValuesOnConditionCheckFailure: ALL_OLD), else, on engines that
   * return none (dynalite, DynamoDB Local before 2.2, some LocalStack and
   * Alternator releases), one strongly consistent GetItem. No item in the
   * answer must never be read as "the session is gone" unless the engine has
   * shown that it returns items: that guess loses writes and logouts.
   * Emits `engine-omits-item` the first time an engine is caught omitting one.
   */
  async itemAfterConditionFailure(err: unknown, key: string): Promise<Item | undefined> {
    const returned = (err as SdkError).Item as Item | undefined;
    if (returned) {
      if (this.engine.returnsItemOnConditionFailure === undefined) {
        this.engine.returnsItemOnConditionFailure = true;
        noteEngine(this.engine, err, this.where.endpoint !== undefined);
      }
      return returned;
    }
    if (this.engine.returnsItemOnConditionFailure === true) return undefined;
    const item = await this.readStrong(key);
    if (item && this.engine.returnsItemOnConditionFailure === undefined) {
      // An item that failed the condition was there all along (the condition's own
      // read and ours are both strongly consistent): the engine left it out.
      this.engine.returnsItemOnConditionFailure = false;
      noteEngine(this.engine, err, this.where.endpoint !== undefined);
      this.emit('engine-omits-item', this.engine.name);
    }
    return item;
  }

  /**
   * The item under `key` as it is now: a strongly consistent GetItem. It
   * decides how a write ended whose answer was lost, and a request answered
   * before it is known may be retried by its user and applied twice, so it is
   * sent at least three times and up to five (each with the SDK's own
   * attempts), the last two only within the time one call may take with all
   * its attempts (`settleBudgetMs`): against random faults that is five
   * reads, against a DynamoDB that does not answer at all, three.
   */
  async readStrong(key: string): Promise<Item | undefined> {
    const command = () => new GetItemCommand({ TableName: this.where.table, Key: { sessionId: { S: key } }, ConsistentRead: true });
    const until = Date.now() + (this.where.settleBudgetMs ?? 10_000);
    for (let tries = 1; ; tries++) {
      try {
        return (await this.send<{ Item?: Item }>('GetItem', command())).Item;
      } catch (err) {
        if (!(err instanceof StoreUnavailableError) || tries >= 5 || (tries >= 3 && Date.now() >= until)) throw err;
        await new Promise((r) => setTimeout(r, 25 * 2 ** tries * Math.random()));
      }
    }
  }

  /**
   * The pages of a Scan or Query, each fetched when the caller asks for it
   * (stop early and no further page is read or paid for). `command` builds the
   * request for the page that starts after `start` (undefined: from `first`,
   * else the beginning).
   */
  async *pages<P extends { Items?: Item[]; LastEvaluatedKey?: Item }>(
    operation: 'Scan' | 'Query',
    command: (start: Item | undefined) => Command,
    first?: Item,
  ): AsyncGenerator<P> {
    let start = first;
    do {
      const page = await this.send<P>(operation, command(start));
      yield page;
      start = page.LastEvaluatedKey;
    } while (start);
  }

  /** A conditional write: its output, or undefined when its condition did not hold (then nothing was written). */
  async sendIf<T>(operation: string, command: Command): Promise<T | undefined> {
    try {
      return await this.send<T>(operation, command, { expectConditionFailure: true });
    } catch (err) {
      if (isConditionalFailure(err)) return undefined;
      throw err;
    }
  }

  /**
   * `ownMiddleware`: the command carries middleware of its own, which the
   * client's middleware cache (`cacheMiddleware`, one resolved stack per
   * command class) would otherwise skip or, worse, keep for every later command.
   */
  async send<T>(operation: string, command: Command, opts: { expectConditionFailure?: boolean; ownMiddleware?: boolean } = {}): Promise<T> {
    const input = (command as { input: Record<string, unknown> }).input;
    if (
      this.countCapacity &&
      input.ReturnConsumedCapacity === undefined &&
      operation !== 'DescribeTable' &&
      operation !== 'CreateTable' &&
      !operation.includes('TimeToLive')
    ) {
      input.ReturnConsumedCapacity = 'TOTAL';
    }
    for (let conflicts = 0; ; conflicts++) {
      this.stats.calls[operation] = (this.stats.calls[operation] ?? 0) + 1;
      try {
        const out = (await (opts.ownMiddleware
          ? this.client.send(command as never, {})
          : this.client.send(command as never))) as unknown as T & { ConsumedCapacity?: unknown };
        noteCall(
          this.where.table,
          operation,
          (out as { $metadata?: { attempts?: number } }).$metadata?.attempts ?? 1,
          this.count(out.ConsumedCapacity, operation),
        );
        this.reachable();
        return out;
      } catch (err) {
        noteCall(this.where.table, operation, sdkAttempts(err), 0);
        if (isConditionalFailure(err) || isTransactionCanceled(err)) {
          this.reachable();
          if (opts.expectConditionFailure) throw err;
        }
        // The item is in another request's transaction (a large session's save, a login under
        // maxSessionsPerUser) for the few ms it takes: nothing was done, and the SDK does not retry it.
        // A global table in MRSC refuses a write that clashes with another Region's write to the item, and may be retried.
        if (isWriteConflict(err) && conflicts < 5) {
          this.reachable();
          noteRetry((err as SdkError).name!);
          await new Promise((r) => setTimeout(r, Math.random() * 5 * 2 ** conflicts));
          continue;
        }
        throw this.translate(err, operation);
      }
    }
  }

  private reachable(): void {
    if (this.failures > 0) {
      this.failures = 0;
      if (this.connected) this.emit('cleared');
    }
    if (!this.connected) {
      this.connected = true;
      this.emit('connect');
    }
  }

  /** Adds the call's consumed capacity to the stats; returns its units. */
  private count(consumed: unknown, operation: string): number {
    if (consumed === undefined) return 0;
    const list = Array.isArray(consumed) ? consumed : consumed ? [consumed] : [];
    let total = 0;
    for (const c of list as Array<{ CapacityUnits?: number; ReadCapacityUnits?: number; WriteCapacityUnits?: number }>) {
      const units = c.CapacityUnits ?? 0;
      total += units;
      if (c.ReadCapacityUnits !== undefined || c.WriteCapacityUnits !== undefined) {
        this.stats.readCapacityUnits += c.ReadCapacityUnits ?? 0;
        this.stats.writeCapacityUnits += c.WriteCapacityUnits ?? 0;
      } else if (operation === 'GetItem' || operation === 'Scan' || operation === 'Query' || operation === 'BatchGetItem') {
        this.stats.readCapacityUnits += units;
      } else {
        this.stats.writeCapacityUnits += units;
      }
    }
    return total;
  }

  translate(err: unknown, operation: string): Error {
    if (err instanceof SessionStoreError) return err;
    const e = err as SdkError;
    this.stats.errors += 1;
    if (isNotFound(e)) {
      return new TableNotFoundError(
        this.where.table,
        `table "${this.where.table}" does not exist at ${this.where.target} (${operation} failed): ` +
          `create it with \`npx dynamodb-session create-table --table ${this.where.table}\` or let ready() create it (createIfNotExist: true)`,
      );
    }
    const foreign = foreignAnswer(err);
    if (foreign || isOutage(err)) {
      if (!isThrottle(err)) {
        this.failures += 1;
        if (this.failures === 1) this.emit('suspect');
        else if (this.connected) {
          this.connected = false;
          this.emit('disconnect', err);
        }
      }
      // Outage-like for the application (503 and retry): nothing there serves its sessions.
      if (foreign) {
        return new StoreUnavailableError(
          `${this.where.target} does not speak the DynamoDB API: it answered ${operation} for table "${this.where.table}" with ${foreign}, ` +
            "not DynamoDB's JSON; check the endpoint (DynamoDB Local's port, or no endpoint for the Region's DynamoDB)",
          { cause: err },
        );
      }
      return new StoreUnavailableError(
        `DynamoDB at ${this.where.target} did not answer ${operation} for table "${this.where.table}" ` +
          `(${e?.name ?? 'Error'}: ${e?.message ?? String(err)}): ` +
          "the session is unchanged; retry shortly, and check the network, the endpoint and the table's capacity",
        { cause: err },
      );
    }
    return new SessionStoreError(
      'DSM_DYNAMODB',
      `DynamoDB refused ${operation} on table "${this.where.table}" at ${this.where.target} (${e?.name ?? 'Error'}: ${e?.message ?? String(err)}): ` +
        'check the IAM policy (`npx dynamodb-session iam-policy`) and the table',
      { cause: err },
    );
  }
}
