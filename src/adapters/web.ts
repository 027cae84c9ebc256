/**
 * Sessions on Web standards (`Request`, `Response`, `Headers`), for any
 * framework built on them (React Router, Next.js, SvelteKit, Astro, Nitro…)
 * or none:
 *
 *   const sessions = webSessions({ secret, table });
 *   export const handler = (request: Request) =>
 *     sessions.handle(request, (session) => Response.json({ views: ... }));
 *
 * `handle` loads the session, runs the handler, saves before the response
 * leaves and answers 503 with Retry-After when DynamoDB is away. The parts
 * are there for frameworks that call them at their own points: every
 * `getSession` is ended by `commitSession`, `destroySession` or
 * `releaseSession` (a request with an unsafe method holds a lease on its
 * session until then).
 */
import { ServerSessions, RequestSession, type ServerSessionOptions, type ResponseHeaders } from './server-session.js';
import { UNAVAILABLE_BODY, unavailableHeaders, unavailableStatus } from './unavailable.js';
import { survivingHeaders } from './replace-response.js';
import type { LockRule } from './lock-rule.js';
import { RequestPipeline, type RequestFacts, type Responder, type SessionRequestReader } from './request-pipeline.js';

export interface WebSessionOptions extends ServerSessionOptions {
  /** Which requests take a pessimistic lease: a predicate of the Request, a RegExp on its path and query, or a path prefix. */
  lock?: LockRule<Request>;
  /**
   * Which requests extend the session (its stored expiry and its cookie's), in the form of `lock`;
   * others (a background poll) read and write it under the expiry it has. Default: every request.
   */
  keepAlive?: LockRule<Request>;
}
export type { RequestFacts };

export interface WebSessions {
  /** The core of the adapter: its store is `sessions.store`. */
  readonly sessions: ServerSessions;
  /**
   * The request's session: loaded when its cookie (or id header) is validly
   * signed and live, else a new empty one. Throws StoreUnavailableError or
   * LockTimeoutError (`unavailableResponse` turns them into a 503).
   */
  getSession(request: Request, facts?: RequestFacts): Promise<RequestSession>;
  /** Saves what the request changed; the headers to add to the response (Set-Cookie, or the id header). */
  commitSession(session: RequestSession): Promise<Headers>;
  /** Deletes the session now; the headers that tell the client (an expired cookie, or an empty id header). */
  destroySession(session: RequestSession): Promise<Headers>;
  /** Ends a request that saves nothing (it failed, or it only read): gives back its lease. Safe to call twice. */
  releaseSession(session: RequestSession): Promise<void>;
  /** The whole request: load, run `handler`, save before the response leaves; 503 on outages. */
  handle(request: Request, handler: (session: RequestSession) => Response | Promise<Response>, facts?: RequestFacts): Promise<Response>;
}

/**
 * The 503 with Retry-After an outage or a lock time-out calls for, or
 * undefined for any other error (rethrow it): `catch (err) { return unavailableResponse(err) ?? Promise.reject(err) }`.
 */
export function unavailableResponse(err: unknown, init: { headers?: ConstructorParameters<typeof Headers>[0] } = {}): Response | undefined {
  const status = unavailableStatus(err);
  return status ? responder.unavailable(status.retryAfterSeconds, new Headers(init.headers)) : undefined;
}

/** Headers to send, as a Headers object (Set-Cookie kept apart, one per cookie). */
export function toHeaders(pairs: ResponseHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of pairs) headers.append(name, value);
  return headers;
}

/** `response` with `extra` added (Set-Cookie appended, others set); a response's own headers may be immutable, so it is copied. */
export function withHeaders(response: Response, extra: Headers): Response {
  let names = 0;
  extra.forEach(() => names++);
  if (names === 0) return response;
  const out = new Response(response.body, response);
  for (const cookie of extra.getSetCookie()) out.headers.append('Set-Cookie', cookie);
  extra.forEach((value, name) => {
    if (name !== 'set-cookie') out.headers.set(name, value);
  });
  return out;
}

/** A Request's path and query, what a RegExp or prefix `lock` / `keepAlive` rule matches. */
export function pathOf(request: Request): string {
  const url = new URL(request.url);
  return url.pathname + url.search;
}

/**
 * A Request as the pipeline reads it: the URL's protocol is the runtime's or framework's view
 * (SvelteKit's ORIGIN / PROTOCOL_HEADER, Next.js's X-Forwarded-Proto).
 */
const requestReader: SessionRequestReader<Request> = {
  method: (request) => request.method,
  url: pathOf,
  userAgent: (request) => request.headers.get('user-agent'),
  clientAddress: () => undefined,
  header: (request, name) => request.headers.get(name),
  https: (request) => request.url.startsWith('https:'),
};

/** A Response as `serve` speaks it. */
const responder: Responder<Response> = {
  unavailable: (retryAfterSeconds, kept) => {
    const headers = new Headers(kept);
    for (const [name, value] of Object.entries(unavailableHeaders(retryAfterSeconds))) headers.set(name, value);
    return new Response(UNAVAILABLE_BODY, { status: 503, headers });
  },
  send: (response, headers) => withHeaders(response, toHeaders(headers)),
  discard: (response) => {
    // Its body is never read: a streaming one is told so.
    response.body?.cancel().catch(() => undefined);
    return survivingHeaders(response.headers);
  },
};

export function webSessions(options: WebSessionOptions): WebSessions {
  const pipeline = new RequestPipeline(options, requestReader);
  const commitSession = async (session: RequestSession): Promise<Headers> => toHeaders(await pipeline.commit(session));
  return {
    sessions: pipeline.sessions,
    getSession: (request, facts) => pipeline.open(request, facts),
    commitSession,
    destroySession: async (session) => {
      await session.destroy();
      return commitSession(session);
    },
    releaseSession: (session) => pipeline.release(session),
    handle: (request, handler, facts) => pipeline.serve(request, handler, responder, facts),
  };
}

export { RequestSession, ServerSessions };
export type { ServerSessionOptions, ResponseHeaders };
export type { HeaderLookup } from './server-session.js';
export type { SessionCookieOptions } from './signed-cookie.js';
export type { SessionIdHeader, SessionIdHeaderOptions } from './id-header.js';
