/**
 * A loopback proxy between a store and DynamoDB Local that understands just
 * enough HTTP/1.1 to tell one DynamoDB request from the next, so a test can
 * decide the fate of each: forward it, answer it with a throttling error,
 * reset the connection half-way through it, let it reach DynamoDB and lose
 * the answer, or swallow it. At the connection level it can refuse, reset
 * every open connection, and add latency.
 *
 * It relies on what the AWS SDK does: every request has a Content-Length, and
 * a connection carries one request at a time (the SDK waits for an answer
 * before reusing a socket), so an answer the proxy writes itself can never
 * overtake one still coming from DynamoDB.
 */
import { randomUUID } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { random } from './session-fixtures.js';

export type FaultAction =
  /** Pass it on (after the latency, if any). */
  | 'forward'
  /** Answer HTTP 400 ProvisionedThroughputExceededException; DynamoDB never sees it. */
  | 'throttle'
  /** Answer HTTP 400 ThrottlingException (the control plane's, and on-demand tables' own throttle); DynamoDB never sees it. */
  | 'throttling'
  /** Answer HTTP 500 InternalServerError; DynamoDB never sees it (a real one may or may not have applied the request). */
  | 'internal-error'
  /** Answer HTTP 400 TransactionConflictException (a write to an item another transaction holds); DynamoDB never sees it. */
  | 'transaction-conflict'
  /** Send DynamoDB the headers and half the body, then reset both sides: a request cut off mid-way. */
  | 'reset-mid-request'
  /** Send DynamoDB the whole request, then reset the client as the answer starts: applied, never acknowledged. */
  | 'lose-response'
  /** Send DynamoDB the whole request and hold its answer for `stallMs` (longer than the client's time-out): applied, answered too late. */
  | 'stall'
  /** Hold it until the gate given with the injection opens, then forward it (a retry kept back while another writer goes first). */
  | 'hold'
  /** Swallow it and never answer: only the client's time-out ends the wait. */
  | 'hang';

export interface ProxiedRequest {
  /** 1-based order of arrival at the proxy. */
  readonly n: number;
  /** DynamoDB operation from X-Amz-Target, e.g. `GetItem`. */
  readonly operation: string;
  readonly action: FaultAction;
  /** The request's ClientRequestToken, when it has one (an idempotent TransactWriteItems). */
  readonly token?: string;
}

/** Shares of the requests (0 to 1) that get each fault, drawn from a seeded generator: the same seed, the same faults in the same order. */
export interface FaultRates {
  seed: number;
  /** Applied, answer lost (the connection reset as it starts). */
  lose?: number;
  /** Applied, answered after `stallMs`. */
  stall?: number;
  /** ProvisionedThroughputExceededException. */
  throttle?: number;
  /** ThrottlingException. */
  throttling?: number;
  /** HTTP 500 InternalServerError, not applied. */
  internal?: number;
  /** Only these operations get faults (default: every one). */
  operations?: readonly string[];
}

/** A rule that gives each request a fault at the rates given, from a seeded generator. */
export function rateRule(rates: FaultRates): FaultRule {
  const next = random(rates.seed);
  const table: Array<[FaultAction, number]> = [
    ['lose-response', rates.lose ?? 0],
    ['stall', rates.stall ?? 0],
    ['throttle', rates.throttle ?? 0],
    ['throttling', rates.throttling ?? 0],
    ['internal-error', rates.internal ?? 0],
  ];
  return ({ operation }) => {
    if (rates.operations && !rates.operations.includes(operation)) return 'forward';
    let r = next();
    for (const [action, share] of table) {
      if (r < share) return action;
      r -= share;
    }
    return 'forward';
  };
}

export type FaultRule = (request: { n: number; operation: string }) => FaultAction;

export interface FaultProxy {
  readonly port: number;
  readonly endpoint: string;
  /** Every request seen, in order, with what was done to it. */
  readonly requests: ReadonlyArray<ProxiedRequest>;
  /** Requests seen, all or of one operation. */
  count(operation?: string): number;
  /** The next `times` requests (of `operation`, when given) get `action`; injections are used up in order. `gate` opens a 'hold'. */
  inject(action: FaultAction, times: number, operation?: string, gate?: Promise<unknown>): void;
  /** How long a 'stall' holds the answer, in ms (default 5000). */
  stallFor(ms: number): void;
  /** Decides every request that no injection claims; undefined restores plain forwarding. */
  rule(rule: FaultRule | undefined): void;
  /** Refuse new connections and reset open ones. */
  down(): void;
  up(): void;
  /** Delay every request forwarded to DynamoDB by this many ms. */
  latency(ms: number): void;
  /** Reset every open connection (new ones are still accepted). */
  resetAll(): void;
  close(): Promise<void>;
}

const HEADER_END = Buffer.from('\r\n\r\n');

function throttleAnswer(
  type = 'ProvisionedThroughputExceededException',
  message = 'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
  status = '400 Bad Request',
): Buffer {
  const body = JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${type}`, message });
  return Buffer.from(
    `HTTP/1.1 ${status}\r\n` +
      'Content-Type: application/x-amz-json-1.0\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      `x-amzn-RequestId: ${randomUUID()}\r\n` +
      'Connection: keep-alive\r\n' +
      '\r\n' +
      body,
  );
}

function headerValue(head: string, name: string): string | undefined {
  const match = new RegExp(`^${name}:[ \\t]*(.*?)[ \\t]*$`, 'im').exec(head);
  return match?.[1];
}

export async function startFaultProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<FaultProxy> {
  const sockets = new Set<Socket>();
  const log: ProxiedRequest[] = [];
  const injected: Array<{ action: FaultAction; left: number; operation?: string; gate?: Promise<unknown> }> = [];
  let currentRule: FaultRule | undefined;
  let refusing = false;
  let delayMs = 0;
  let stallMs = 5000;

  const decide = (n: number, operation: string): { action: FaultAction; gate?: Promise<unknown> } => {
    const slot = injected.find((i) => i.left > 0 && (i.operation === undefined || i.operation === operation));
    if (slot) {
      slot.left -= 1;
      return { action: slot.action, ...(slot.gate ? { gate: slot.gate } : {}) };
    }
    return { action: currentRule?.({ n, operation }) ?? 'forward' };
  };

  const server: Server = createServer((client) => {
    if (refusing) {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(targetPort, targetHost);
    sockets.add(client);
    sockets.add(upstream);
    let buffered: Buffer = Buffer.alloc(0);
    let loseNextAnswer = false;
    let stallNextAnswer = false;
    /** The answer being stalled, kept until its time. */
    let held: Buffer[] | undefined;
    // Forwarded bytes leave in arrival order even when the latency changes meanwhile.
    let lastSendAt = 0;

    const drop = (reset: boolean) => {
      for (const s of [client, upstream]) {
        if (reset && !s.destroyed) s.resetAndDestroy();
        else s.destroy();
        sockets.delete(s);
      }
    };
    const send = (bytes: Buffer, then?: () => void) => {
      const at = Math.max(Date.now() + delayMs, lastSendAt);
      lastSendAt = at;
      const write = () => {
        if (upstream.destroyed) return;
        upstream.write(bytes, then ? () => then() : undefined);
      };
      if (at <= Date.now()) write();
      else setTimeout(write, at - Date.now());
    };

    const handle = (request: Buffer, headLength: number, operation: string) => {
      const n = log.length + 1;
      const { action, gate } = decide(n, operation);
      const token = /"ClientRequestToken":"([^"]*)"/.exec(request.subarray(headLength).toString('utf8'))?.[1];
      log.push({ n, operation, action, ...(token !== undefined ? { token } : {}) });
      switch (action) {
        case 'forward':
          send(request);
          return;
        case 'hold':
          void Promise.resolve(gate).then(() => send(request));
          return;
        case 'throttle':
          client.write(throttleAnswer());
          return;
        case 'throttling':
          client.write(throttleAnswer('ThrottlingException', 'Rate of requests exceeds the allowed throughput.'));
          return;
        case 'internal-error':
          client.write(throttleAnswer('InternalServerError', 'Internal server error', '500 Internal Server Error'));
          return;
        case 'stall':
          stallNextAnswer = true;
          send(request);
          return;
        case 'transaction-conflict':
          client.write(throttleAnswer('TransactionConflictException', 'Transaction is ongoing for the item'));
          return;
        case 'reset-mid-request': {
          const cut = headLength + Math.floor((request.length - headLength) / 2);
          send(request.subarray(0, cut), () => drop(true));
          return;
        }
        case 'lose-response':
          loseNextAnswer = true;
          send(request);
          return;
        case 'hang':
          return;
      }
    };

    client.on('data', (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      for (;;) {
        const end = buffered.indexOf(HEADER_END);
        if (end < 0) return;
        const head = buffered.subarray(0, end).toString('latin1');
        if (headerValue(head, 'transfer-encoding') !== undefined) {
          // Not something the SDK sends to DynamoDB; failing loudly beats guessing the framing.
          console.error('fault-proxy: chunked request bodies are not supported; dropping the connection');
          drop(true);
          return;
        }
        const bodyLength = Number(headerValue(head, 'content-length') ?? '0');
        const total = end + HEADER_END.length + bodyLength;
        if (buffered.length < total) return;
        const request = buffered.subarray(0, total);
        buffered = buffered.subarray(total);
        const target = headerValue(head, 'x-amz-target') ?? '';
        handle(Buffer.from(request), end + HEADER_END.length, target.slice(target.lastIndexOf('.') + 1) || 'unknown');
        if (client.destroyed) return;
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      if (loseNextAnswer) {
        loseNextAnswer = false;
        drop(true);
        return;
      }
      if (stallNextAnswer) {
        // The client gives up first and closes its connection; the answer then has nowhere to go.
        stallNextAnswer = false;
        held = [];
        const timer = setTimeout(() => {
          for (const c of held ?? []) if (!client.destroyed) client.write(c);
          held = undefined;
        }, stallMs);
        timer.unref();
      }
      if (held) held.push(chunk);
      else client.write(chunk);
    });
    client.on('error', () => drop(true));
    upstream.on('error', () => drop(true));
    client.on('close', () => drop(false));
    upstream.on('close', () => drop(false));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  const resetAll = () => {
    for (const s of sockets) s.resetAndDestroy();
    sockets.clear();
  };

  return {
    port,
    endpoint: `http://127.0.0.1:${port}`,
    requests: log,
    count: (operation) => (operation === undefined ? log.length : log.filter((r) => r.operation === operation).length),
    inject(action, times, operation, gate) {
      injected.push({ action, left: times, ...(operation !== undefined ? { operation } : {}), ...(gate ? { gate } : {}) });
    },
    stallFor(ms) {
      stallMs = ms;
    },
    rule(rule) {
      currentRule = rule;
    },
    down() {
      refusing = true;
      resetAll();
    },
    up() {
      refusing = false;
    },
    latency(ms) {
      delayMs = ms;
    },
    resetAll,
    close() {
      for (const s of sockets) s.destroy();
      sockets.clear();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
