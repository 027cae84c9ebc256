/**
 * What every entry decides about a request, decided in one place from the
 * same facts: whether it takes a lease (`lock`), whether it extends the
 * session (`keepAlive`), and the device `trackDevices` records. An entry
 * only says how to read its framework's request (a RequestReader); the rules
 * are then the same in all nine, so an option cannot work in one entry and
 * silently do nothing in another (test/conformance.test.ts runs them all).
 */
import type { IncomingMessage } from 'node:http';
import { lockRule, type LockRule } from './lock-rule.js';
import { deviceOf, type Device } from './device.js';

/** How an entry reads the facts of its framework's request. */
export interface RequestReader<R> {
  method(req: R): string | undefined;
  /** The path and query: what a RegExp or prefix `lock` / `keepAlive` rule matches. */
  url(req: R): string;
  userAgent(req: R): string | string[] | null | undefined;
  /** The client's address as the framework sees it (following its proxy setting); undefined where it gives none. */
  clientAddress(req: R): string | undefined;
  /**
   * False for a request the entry cannot show the rules (Next.js's getSession()
   * without its Request): no rule judges it, the store's `locking` mode decides
   * by its method, and it extends the session. Default: every request is judged.
   */
  judged?(req: R): boolean;
}

/** The per-request decisions of an entry, from its options' `lock` and `keepAlive` and its reader. */
export class RequestRules<R> {
  readonly #reader: RequestReader<R>;
  readonly #lock: (req: R) => boolean | undefined;
  readonly #keepAlive: (req: R) => boolean | undefined;

  constructor(reader: RequestReader<R>, lock: LockRule<R> | undefined, keepAlive: LockRule<R> | undefined) {
    this.#reader = reader;
    const url = (req: R) => reader.url(req);
    this.#lock = lockRule(lock, url);
    this.#keepAlive = lockRule(keepAlive, url);
  }

  /** Takes a lease (true), does not (false), or undefined: no rule given, the store's `locking` mode decides by the method. */
  lock(req: R): boolean | undefined {
    return this.#reader.judged?.(req) === false ? undefined : this.#lock(req);
  }

  /** Extends the session: every request does unless the `keepAlive` rule leaves it out (a background poll). */
  keepAlive(req: R): boolean {
    return this.#reader.judged?.(req) === false || this.#keepAlive(req) !== false;
  }

  method(req: R): string | undefined {
    return this.#reader.method(req);
  }

  /** What `trackDevices` records of the request that creates a session; `clientAddress`: what the framework gave beside the request. */
  device(req: R, clientAddress?: string): Device {
    return deviceOf(this.#reader.userAgent(req), clientAddress ?? this.#reader.clientAddress(req));
  }
}

/** A node:http request (Express's too: its `req.ip` follows its "trust proxy" setting; a bare request has the socket's address). */
export const nodeRequestReader: RequestReader<IncomingMessage> = {
  method: (req) => req.method,
  url: (req) => req.url ?? '',
  userAgent: (req) => req.headers['user-agent'],
  clientAddress: (req) => (req as { ip?: string }).ip ?? req.socket?.remoteAddress,
};
