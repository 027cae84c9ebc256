/**
 * The request node:http is serving, for code its handler calls that is not
 * given the request: express-session calls Store#get(id, callback) and nothing
 * more, yet a lease must know the method and must end with the response.
 *
 * node:http publishes every request on the `http.server.request.start`
 * diagnostics channel, synchronously, just before it emits 'request'. The
 * subscriber thus runs in the request's own async context (plain-store.test.ts
 * checks it, awaits and keep-alive included), and a store entered there is
 * what the handler and all it awaits see.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface ServedRequest {
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
}

const CHANNEL = 'http.server.request.start';
const served = new AsyncLocalStorage<ServedRequest>();
let watchers = 0;

function onRequestStart(message: unknown): void {
  const { request, response } = message as ServedRequest;
  served.enterWith({ request, response });
}

/**
 * Starts following requests; the function returned stops (once), and the last
 * watcher to stop unsubscribes, so a process whose stores all have their own
 * middleware pays for no AsyncLocalStorage.
 */
export function watchServedRequests(): () => void {
  if (watchers++ === 0) subscribe(CHANNEL, onRequestStart);
  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    if (--watchers > 0) return;
    unsubscribe(CHANNEL, onRequestStart);
    served.disable();
  };
}

/** The request whose handler (or anything it awaits) is running now, if node:http announced one. */
export function servedRequest(): ServedRequest | undefined {
  return watchers > 0 ? served.getStore() : undefined;
}
