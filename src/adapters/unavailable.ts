import type { ServerResponse } from 'node:http';
import { EncryptionKeyError, LockTimeoutError, StoreUnavailableError } from '../errors.js';
import { noteUnavailable } from '../core/telemetry.js';

/** Outages, lock time-outs and sessions sealed with a key this server lacks are the client's to retry: 503 with Retry-After. */
export function unavailableStatus(err: unknown): { retryAfterSeconds: number } | undefined {
  if (err instanceof LockTimeoutError || err instanceof StoreUnavailableError || err instanceof EncryptionKeyError) {
    noteUnavailable(err);
    return { retryAfterSeconds: err.retryAfterSeconds };
  }
  return undefined;
}

const UNAVAILABLE = 'Session store temporarily unavailable: please retry shortly.\n';

export function sendUnavailable(res: ServerResponse, retryAfterSeconds: number): void {
  res.statusCode = 503;
  res.setHeader('Retry-After', String(Math.max(1, Math.ceil(retryAfterSeconds))));
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  // Stated, not left to Node: once a route's Content-Length has been removed from a response, Node adds none of its own.
  res.setHeader('Content-Length', Buffer.byteLength(UNAVAILABLE));
  res.end(UNAVAILABLE);
}
