/**
 * Sessions for plain node:http servers, no framework:
 *
 *   const withSession = sessionHandler({ secret, table });
 *   createServer((req, res) => withSession(req, res, (session) => { … res.end() }));
 *
 * The session is saved when the handler calls `res.end()`, before the
 * response leaves, so a save that fails replaces the response (a 503 for an
 * outage, else a 500, logged) rather than a 200 for a change that was not kept
 * (unless the handler flushed its headers early).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ServerSessions, RequestSession, type ServerSessionOptions } from './server-session.js';
import { sendUnavailable, unavailableStatus } from './unavailable.js';
import { logFailedSave, replaceFailedSave } from './replace-response.js';
import { nodeRequestReader } from './request-rules.js';
import type { LockRule } from './lock-rule.js';
import { RequestPipeline, type SessionRequestReader } from './request-pipeline.js';

export interface HttpSessionOptions extends ServerSessionOptions {
  /** Which requests take a pessimistic lease: a predicate, a RegExp on the URL, or a path prefix. */
  lock?: LockRule;
  /**
   * Which requests extend the session (its stored expiry and its cookie's), in the form of `lock`;
   * others (a background poll) read and write it under the expiry it has. Default: every request.
   */
  keepAlive?: LockRule;
}

export type SessionRequestHandler = (session: RequestSession, req: IncomingMessage, res: ServerResponse) => unknown;

export type WithSession = ((req: IncomingMessage, res: ServerResponse, handler: SessionRequestHandler) => Promise<void>) & {
  sessions: ServerSessions;
};

type End = ServerResponse['end'];

/** A node:http request as the pipeline reads it. */
const incomingReader: SessionRequestReader<IncomingMessage> = {
  ...nodeRequestReader,
  header: (req, name) => req.headers[name],
  // A TLS connection (node:https); behind a proxy, `trustProxy` lets X-Forwarded-Proto say.
  https: (req) => (req.socket as { encrypted?: boolean } | undefined)?.encrypted === true,
};

export function sessionHandler(options: HttpSessionOptions): WithSession {
  const pipeline = new RequestPipeline(options, incomingReader);
  const sessions = pipeline.sessions;

  async function withSession(req: IncomingMessage, res: ServerResponse, handler: SessionRequestHandler): Promise<void> {
    let session: RequestSession;
    try {
      session = await pipeline.open(req);
    } catch (err) {
      const status = unavailableStatus(err);
      if (!status) throw err;
      sendUnavailable(res, status.retryAfterSeconds);
      return;
    }

    const originalEnd = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
    const originalWriteHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse;
    let saved: Promise<void> | undefined;
    const restore = () => {
      res.end = originalEnd as End;
      res.writeHead = originalWriteHead as ServerResponse['writeHead'];
    };
    // Headers flushed before the save: send the cookie the save will most likely need.
    res.writeHead = ((...args: unknown[]) => {
      if (!saved && !res.headersSent) for (const [name, value] of sessions.previewHeaders(session)) res.appendHeader(name, value);
      return originalWriteHead(...args);
    }) as ServerResponse['writeHead'];
    res.end = ((...args: unknown[]) => {
      if (saved) return originalEnd(...args);
      restore();
      const previewed = res.headersSent;
      saved = pipeline.commit(session).then(
        (headers) => {
          if (!previewed && !res.headersSent) for (const [name, value] of headers) res.appendHeader(name, value);
          originalEnd(...args);
        },
        (err: unknown) => {
          if (!res.headersSent) return replaceFailedSave(res, err, sessions.store.logger);
          // Headers flushed early cannot be taken back: the response goes as the handler wrote it.
          originalEnd(...args);
          if (!unavailableStatus(err)) logFailedSave(sessions.store.logger, err);
        },
      );
      return res;
    }) as End;

    try {
      await handler(session, req, res);
    } catch (err) {
      if (!saved) {
        restore();
        await pipeline.release(session).catch(() => undefined);
      }
      throw err;
    }
    if (!saved) {
      // The handler returned without ending the response: it will end it later, and the patched end saves then.
      return;
    }
    await saved;
  }

  return Object.assign(withSession, { sessions });
}

export { RequestSession, ServerSessions };
export type { ServerSessionOptions };
export type { HeaderLookup } from './server-session.js';
export type { SessionCookieOptions } from './signed-cookie.js';
export type { SessionIdHeader, SessionIdHeaderOptions } from './id-header.js';
