/**
 * Hono middleware: `app.use(dynamoSession({ secret, table, … }))`, then
 * `c.get('session')` in handlers. Hono's own session packages keep the data
 * in the cookie; this keeps it in DynamoDB and only a signed id in the cookie.
 * Runs wherever Hono runs on Node.js (the AWS SDK needs Node).
 */
import type { Context, MiddlewareHandler } from 'hono';
import { ServerSessions, RequestSession, type ServerSessionOptions } from './server-session.js';
import { UNAVAILABLE_BODY, unavailableHeaders } from './unavailable.js';
import { survivingHeaders } from './replace-response.js';
import type { LockRule } from './lock-rule.js';
import { RequestPipeline, type Responder, type SessionRequestReader } from './request-pipeline.js';
import { pathOf } from './web.js';

export interface HonoSessionOptions extends ServerSessionOptions {
  /** Which requests take a pessimistic lease: a predicate of the Context, a RegExp on the path, or a path prefix. */
  lock?: LockRule<Context>;
  /**
   * Which requests extend the session (its stored expiry and its cookie's), in the form of `lock`;
   * others (a background poll) read and write it under the expiry it has. Default: every request.
   */
  keepAlive?: LockRule<Context>;
}

/** Declare it on your app (`new Hono<SessionEnv>()`) so `c.get('session')` is typed. */
export type SessionEnv = { Variables: { session: RequestSession } };

const reader: SessionRequestReader<Context> = {
  method: (c) => c.req.method,
  url: (c) => pathOf(c.req.raw),
  userAgent: (c) => c.req.header('user-agent'),
  // @hono/node-server keeps the Node request in c.env.incoming; other runtimes give no address.
  clientAddress: (c) => (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming?.socket?.remoteAddress,
  header: (c, name) => c.req.header(name),
  // @hono/node-server builds the URL's protocol from the connection; Hono has no proxy setting of its own (see trustProxy).
  https: (c) => c.req.url.startsWith('https:'),
};

/** Hono's response is the context's: `serve` sets it. */
const responder = (c: Context): Responder<void> => ({
  unavailable: (retryAfterSeconds) => {
    // c.text() starts from the headers of the response it replaces: those that survived `discard`.
    c.res = c.text(UNAVAILABLE_BODY, 503, unavailableHeaders(retryAfterSeconds));
  },
  send: (_, headers) => {
    for (const [name, value] of headers) c.header(name, value, { append: true });
  },
  discard: () => {
    // Hono's `c.res =` copies the headers of the response it replaces into the new one: the handler's
    // response goes first, and what follows (the 503, or app.onError's answer) starts from those that survive.
    const kept = survivingHeaders(c.res.headers);
    // Its body is never read: a streaming one is told so, rather than left waiting on a reader.
    c.res.body?.cancel().catch(() => undefined);
    c.res = undefined;
    c.res = new Response(null, { headers: kept });
    return kept;
  },
  failed: () => c.error !== undefined,
});

/**
 * Loads the session before the handler and saves it after, before the
 * response leaves: a save that fails turns the response into a 503, so the
 * client never believes a change was kept when it was not.
 */
export function dynamoSession(options: HonoSessionOptions): MiddlewareHandler<SessionEnv> & { sessions: ServerSessions } {
  const pipeline = new RequestPipeline(options, reader);
  const middleware: MiddlewareHandler<SessionEnv> = async (c, next) => {
    await pipeline.serve(c, (session) => {
      c.set('session', session);
      return next();
    }, responder(c));
  };
  return Object.assign(middleware, { sessions: pipeline.sessions });
}

export { RequestSession, ServerSessions };
export type { ServerSessionOptions };
export type { HeaderLookup } from './server-session.js';
export type { SessionCookieOptions } from './signed-cookie.js';
export type { SessionIdHeader, SessionIdHeaderOptions } from './id-header.js';
