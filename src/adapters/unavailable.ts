import type { ServerResponse } from 'node:http';
import { EncryptionKeyError, LockTimeoutError, StoreUnavailableError } from '../errors.js';
import { noteUnavailable } from '../core/telemetry-metrics.js';

/** Outages, lock time-outs and sessions sealed with a key this server lacks are the client's to retry: 503 with Retry-After. */
export function unavailableStatus(err: unknown): { retryAfterSeconds: number } | undefined {
  if (err instanceof LockTimeoutError || err instanceof StoreUnavailableError || err instanceof EncryptionKeyError) {
    noteUnavailable(err);
    return { retryAfterSeconds: err.retryAfterSeconds };
  }
  return undefined;
}

/** The 503's body, the same from every entry. */
export const UNAVAILABLE_BODY = 'Session store temporarily unavailable: please retry shortly.\n';

/** The 503's headers, the same from every entry: a whole second at least, and never cached. */
export function unavailableHeaders(retryAfterSeconds: number): { 'Retry-After': string; 'Content-Type': string; 'Cache-Control': string } {
  return { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))), 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' };
}

export function sendUnavailable(res: ServerResponse, retryAfterSeconds: number): void {
  res.statusCode = 503;
  for (const [name, value] of Object.entries(unavailableHeaders(retryAfterSeconds))) res.setHeader(name, value);
  // Stated, not left to Node: once a route's Content-Length has been removed from a response, Node adds none of its own.
  res.setHeader('Content-Length', Buffer.byteLength(UNAVAILABLE_BODY));
  res.end(UNAVAILABLE_BODY);
}
