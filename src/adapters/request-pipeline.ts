/**
 * One request's life on the entries without a session middleware of their
 * own (Web, Hono, node:http, Next.js, SvelteKit, React Router): the rules
 * (request-rules.ts) and the id from the cookie or header applied on `open`,
 * the save or the release at the end, the 503 with Retry-After when DynamoDB
 * is away or a lease times out, and a response replaced whole when its save
 * fails. An entry gives a RequestReader of its framework's request and, for
 * `serve`, a Responder that speaks its framework's response; nothing more.
 */
import { ServerSessions, type RequestSession, type ResponseHeaders, type ServerSessionOptions } from './server-session.js';
import { RequestRules, type RequestReader } from './request-rules.js';
import { unavailableStatus } from './unavailable.js';
import type { LockRule } from './lock-rule.js';

/** A reader that also gives the headers (the id's cookie or header, the version cookie) and the protocol. */
export interface SessionRequestReader<R> extends RequestReader<R> {
  /** A request header by its lower-case name. */
  header(req: R, name: string): string | string[] | null | undefined;
  /** The request came over HTTPS as the entry sees it (with `trustProxy`, X-Forwarded-Proto has the last word). */
  https(req: R): boolean;
}

/** What a framework knows of a request beyond its request object (SvelteKit's `getClientAddress()`), for `trackDevices`. */
export interface RequestFacts {
  clientAddress?: string | undefined;
}

export interface PipelineOptions<R> extends ServerSessionOptions {
  /** Which requests take a pessimistic lease: a predicate of the request, a RegExp on its path and query, or a path prefix. */
  lock?: LockRule<R>;
  /**
   * Which requests extend the session (its stored expiry and its cookie's), in the form of `lock`;
   * others (a background poll) read and write it under the expiry it has. Default: every request.
   */
  keepAlive?: LockRule<R>;
}

/** How `serve` speaks an entry's response, of type T. */
export interface Responder<T> {
  /** The 503 answer; `kept`: the headers that survive from a response it replaces. */
  unavailable(retryAfterSeconds: number, kept: Headers | undefined): T;
  /** The handler's result with the session's headers added. */
  send(result: T, headers: ResponseHeaders): T;
  /** A result whose save failed is dropped (a streaming body told so); the headers of it that survive. */
  discard(result: T): Headers;
  /** The handler's result is already an error (Hono's `c.error`): nothing is saved, the lease is given back. */
  failed?(result: T): boolean;
}

export class RequestPipeline<R> {
  readonly sessions: ServerSessions;
  readonly rules: RequestRules<R>;
  readonly #reader: SessionRequestReader<R>;

  /** `sessions`: another pipeline's, to read a second kind of request into the same sessions (then `options` gives only the rules). */
  constructor(options: PipelineOptions<R>, reader: SessionRequestReader<R>, sessions?: ServerSessions) {
    const { lock, keepAlive, ...rest } = options ?? ({} as PipelineOptions<R>);
    this.sessions = sessions ?? new ServerSessions(rest);
    this.rules = new RequestRules(reader, lock, keepAlive);
    this.#reader = reader;
  }

  /**
   * The request's session: loaded when its cookie (or id header) is validly signed and live, else a new empty one.
   * Throws StoreUnavailableError or LockTimeoutError (a 503). `facts`: what the framework gives beside the request (SvelteKit's `getClientAddress()`).
   * `as`: the entry's own subclass of RequestSession to make (Next.js's NextSession).
   */
  async open(req: R, facts: RequestFacts = {}, as?: typeof RequestSession): Promise<RequestSession> {
    const lock = this.rules.lock(req);
    const method = this.rules.method(req);
    const session = await this.sessions.open((name) => this.#reader.header(req, name), {
      ...(lock === undefined ? {} : { lock }),
      ...(method ? { method } : {}),
      https: this.#reader.https(req),
      device: this.rules.device(req, facts.clientAddress),
      ...(as ? { as } : {}),
    });
    session.keepAlive = this.rules.keepAlive(req);
    return session;
  }

  /** Saves what the request changed; the headers to send. A save that fails gives the lease back (a retry may fix it) and throws. */
  async commit(session: RequestSession): Promise<ResponseHeaders> {
    try {
      return await this.sessions.finish(session);
    } catch (err) {
      await this.sessions.abandon(session).catch(() => undefined);
      throw err;
    }
  }

  /** Ends a request that saves nothing (it failed, or it only read): gives back its lease. Safe to call twice. */
  release(session: RequestSession): Promise<void> {
    return this.sessions.abandon(session);
  }

  /** The whole request: open, run `handler`, save before the response leaves; 503 on outages and lock time-outs. */
  async serve<T>(req: R, handler: (session: RequestSession) => T | Promise<T>, out: Responder<T>, facts?: RequestFacts): Promise<T> {
    let session: RequestSession;
    try {
      session = await this.open(req, facts);
    } catch (err) {
      const status = unavailableStatus(err);
      if (!status) throw err;
      return out.unavailable(status.retryAfterSeconds, undefined);
    }
    let result: T;
    try {
      result = await handler(session);
    } catch (err) {
      await this.release(session).catch(() => undefined);
      throw err;
    }
    if (out.failed?.(result)) {
      await this.release(session).catch(() => undefined);
      return result;
    }
    let headers: ResponseHeaders;
    try {
      headers = await this.commit(session);
    } catch (err) {
      // The response described a change that was not kept: it is replaced whole (replace-response.ts).
      const kept = out.discard(result);
      const status = unavailableStatus(err);
      if (!status) throw err;
      return out.unavailable(status.retryAfterSeconds, kept);
    }
    return out.send(result, headers);
  }
}
