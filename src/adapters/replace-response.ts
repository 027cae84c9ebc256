/**
 * A response whose session save failed is replaced whole, not patched: the
 * route's status, body and headers described a change that was not kept.
 * Its Content-Length framed the route's body, so left on an error of another
 * length it corrupts the next response on a keep-alive connection; its
 * Content-Type and ETag describe a representation that is not sent; its
 * cookies (the session's, for a session that was never stored, or the app's,
 * set beside the change that failed) must not reach the client.
 *
 * Kept: CORS (`Access-Control-*`) and `Vary`. Without the first a browser
 * hides the error from the page's script as a network failure, so the page
 * cannot read the 503 and retry after Retry-After; `Vary: Origin` goes with
 * an Access-Control-Allow-Origin that depends on the request's Origin, so that
 * no cache hands one origin's answer to another. They say who may read the
 * response, not what it holds.
 */
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Logger } from '../logger.js';
import { sendUnavailable, unavailableStatus } from './unavailable.js';

export function survivesReplacement(name: string): boolean {
  const lower = name.toLowerCase();
  return lower === 'vary' || lower.startsWith('access-control-');
}

/**
 * Takes every header but those that survive off a response not yet sent, and its status line's
 * reason. Node adds no Content-Length of its own to a response whose Content-Length was removed:
 * whatever is sent next states its length (Express's send, Koa and our answers do).
 */
export function clearForReplacement(res: ServerResponse): void {
  for (const name of res.getHeaderNames()) if (!survivesReplacement(name)) res.removeHeader(name);
  // A reason the route set ("OK") would otherwise stay on the replacing status line.
  res.statusMessage = '';
}

/** The headers of a fetch Response that survive, for a Response that replaces it. */
export function survivingHeaders(headers: Headers): Headers {
  const kept = new Headers();
  for (const [name, value] of headers) if (survivesReplacement(name)) kept.append(name, value);
  return kept;
}

const SERVER_ERROR = 'Internal Server Error\n';

/** Our own 500, where no error handler of the app is there to take the error. */
export function sendServerError(res: ServerResponse): void {
  res.statusCode = 500;
  res.statusMessage = STATUS_CODES[500]!;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Length', Buffer.byteLength(SERVER_ERROR));
  res.end(SERVER_ERROR);
}

/** A save that failed for a reason other than an outage (too large, not serializable, refused): the app must hear of it. */
export function logFailedSave(logger: Logger, err: unknown): void {
  logger.error({ err: (err as Error)?.message, code: (err as { code?: string })?.code }, 'session save failed: the stored session keeps its previous state');
}

/**
 * The save of a response the app has ended failed, its headers not yet sent: the response is replaced
 * whole. An outage or a lock time-out is ours to answer, 503 with Retry-After. Any other failure (a
 * session too large, a value JSON cannot carry) is the app's to learn of: through `next`, its error
 * handler, when it has one (starting from a 500, so that a handler that sets no status does not send
 * the route's 200); else logged, and a 500 of our own.
 */
export function replaceFailedSave(res: ServerResponse, err: unknown, logger: Logger, next?: (err: unknown) => void): void {
  clearForReplacement(res);
  const status = unavailableStatus(err);
  if (status) return sendUnavailable(res, status.retryAfterSeconds);
  res.statusCode = 500;
  if (next) return next(err);
  logFailedSave(logger, err);
  sendServerError(res);
}
