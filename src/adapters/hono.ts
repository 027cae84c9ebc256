/**
 * Hono middleware: `app.use(dynamoSession({ secret, table, … }))`, then
 * `c.get('session')` in handlers. Hono's own session packages keep the data
 * in the cookie; this keeps it in DynamoDB and only a signed id in the cookie.
 * Runs wherever Hono runs on Node.js (the AWS SDK needs Node).
 */
import type { Context, MiddlewareHandler } from 'hono';
import { ServerSessions, RequestSession, type ServerSessionOptions } from './server-session.js';
import { lockRule, type LockRule } from './lock-rule.js';
import { UNAVAILABLE_BODY, unavailableHeaders, unavailableStatus } from './unavailable.js';
import { survivingHeaders } from './replace-response.js';
import { deviceOf } from './device.js';

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

function unavailable(c: Context, retryAfterSeconds: number): Response {
  return c.text(UNAVAILABLE_BODY, 503, unavailableHeaders(retryAfterSeconds));
}

/**
 * Loads the session before the handler and saves it after, before the
 * response leaves: a save that fails turns the response into a 503, so the
 * client never believes a change was kept when it was not.
 */
export function dynamoSession(options: HonoSessionOptions): MiddlewareHandler<SessionEnv> & { sessions: ServerSessions } {
  const { lock, keepAlive, ...rest } = options;
  const sessions = new ServerSessions(rest);
  const pathOf = (c: Context) => {
    const url = new URL(c.req.url);
    return url.pathname + url.search;
  };
  const lockFor = lockRule<Context>(lock, pathOf);
  const keepAliveFor = lockRule<Context>(keepAlive, pathOf);
  const middleware: MiddlewareHandler<SessionEnv> = async (c, next) => {
    let session: RequestSession;
    try {
      const locked = lockFor(c);
      // @hono/node-server keeps the Node request in c.env.incoming; other runtimes give no address.
      const ip = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming?.socket?.remoteAddress;
      session = await sessions.open((name) => c.req.header(name), {
        ...(locked === undefined ? {} : { lock: locked }),
        method: c.req.method,
        device: deviceOf(c.req.header('user-agent'), ip),
        // @hono/node-server builds the URL's protocol from the connection; Hono has no proxy setting of its own (see trustProxy).
        https: new URL(c.req.url).protocol === 'https:',
      });
    } catch (err) {
      const status = unavailableStatus(err);
      if (status) return unavailable(c, status.retryAfterSeconds);
      throw err;
    }
    session.keepAlive = keepAliveFor(c) !== false;
    c.set('session', session);
    try {
      await next();
    } catch (err) {
      await sessions.abandon(session).catch(() => undefined);
      throw err;
    }
    if (c.error) {
      await sessions.abandon(session).catch(() => undefined);
      return;
    }
    try {
      for (const [name, value] of await sessions.finish(session)) c.header(name, value, { append: true });
    } catch (err) {
      // A save a retry may fix leaves the lease with the request: give it back.
      await sessions.abandon(session).catch(() => undefined);
      // The handler's response is replaced whole (replace-response.ts). Hono's `c.res =` copies the
      // headers of the response it replaces into the new one, and c.text() starts from them: the
      // handler's response goes first, and what follows (our 503, or app.onError's answer to
      // the error rethrown) starts from the headers that survive.
      const kept = survivingHeaders(c.res.headers);
      // Its body is never read: a streaming one is told so, rather than left waiting on a reader.
      c.res.body?.cancel().catch(() => undefined);
      c.res = undefined;
      c.res = new Response(null, { headers: kept });
      const status = unavailableStatus(err);
      if (!status) throw err;
      c.res = unavailable(c, status.retryAfterSeconds);
    }
  };
  return Object.assign(middleware, { sessions });
}

export { RequestSession, ServerSessions };
export type { ServerSessionOptions };
export type { HeaderLookup } from './server-session.js';
export type { SessionCookieOptions } from './signed-cookie.js';
export type { SessionIdHeader, SessionIdHeaderOptions } from './id-header.js';
