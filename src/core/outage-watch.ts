/**
 * What the store does when DynamoDB stops answering, and when it answers
 * again: logs it, tells the store's listeners (`disconnect`, `connect`), and
 * meanwhile probes once a second, because adapters stop sending requests its
 * way and nothing else would notice it coming back.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { Gateway } from './gateway.js';
import type { Logger } from '../logger.js';

export class OutageWatch {
  #probe: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(
    private readonly gateway: Gateway,
    private readonly where: { table: string; target: string },
    logger: Logger,
    tell: (event: 'disconnect' | 'connect', err?: Error) => void,
  ) {
    gateway.on('engine-omits-item', (engine: string | undefined) => {
      logger.warn(
        { ...where, engine },
        `${engine ?? 'this DynamoDB engine'} returns no item with a failed conditional write (ReturnValuesOnConditionCheckFailure): ` +
          'the store reads the session with a strongly consistent GetItem after each such failure instead, so nothing is lost; ' +
          'it costs one more read per conflict',
      );
    });
    // One call unanswered on every attempt may be bad luck (lost answers): a probe tells, before anyone is told of an outage.
    gateway.on('suspect', () => this.#start());
    gateway.on('cleared', () => this.#stop());
    gateway.on('disconnect', (err: Error) => {
      // Calls still in flight when the store closed fail on its closed client: not an outage.
      if (this.#closed) return;
      logger.error({ ...where, reason: err?.name }, 'DynamoDB became unreachable: session requests fail with 503 until it answers again');
      tell('disconnect', err);
      this.#start();
    });
    gateway.on('connect', () => {
      this.#stop();
      logger.warn(where, 'DynamoDB answers again');
      tell('connect');
    });
  }

  /** The store closed: no more probes, and calls that fail on its closed client are no outage. */
  close(): void {
    this.#closed = true;
    this.#stop();
  }

  #start(): void {
    // A closed store has nobody to tell, and each probe's request timer would keep the process alive.
    if (this.#probe || this.#closed) return;
    this.#probe = setInterval(() => {
      void this.gateway
        .send('GetItem', new GetItemCommand({ TableName: this.where.table, Key: { sessionId: { S: 'dynamodb-session-manager:probe' } } }))
        .catch(() => undefined);
    }, 1000);
    this.#probe.unref();
  }

  #stop(): void {
    if (this.#probe) clearInterval(this.#probe);
    this.#probe = undefined;
  }
}
