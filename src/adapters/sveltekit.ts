/**
 * SvelteKit: a `handle` hook that puts the request's session on
 * `event.locals.session`, for every hook, load, action and endpoint after it:
 *
 *   // src/hooks.server.ts
 *   export const handle = dynamoSessionHandle({ secret, table });   // or sequence(dynamoSessionHandle(…), yours)
 *
 * It is `webSessions().handle` around SvelteKit's `resolve`: the request's
 * method decides the lease under `locking: 'auto'` (a form action is a POST),
 * saves merge, the session is saved after `resolve` and before the response
 * leaves (a save that fails replaces the response with the 503), and an
 * outage or a lock time-out is a 503 with Retry-After.
 *
 * A load's `fetch` of the app's own endpoints is answered in-process, inside
 * the request that made it (a sub-request): it gets that request's session,
 * not one loaded again, which would miss the changes not saved yet (an action
 * runs before the page's loads) and, under a lease, wait for it to be given back.
 *
 * SvelteKit's types are matched by shape, not imported: the entry needs no
 * SvelteKit at run time nor in its declarations, and the hook is still a
 * `Handle` for `sequence()` and `export const handle: Handle`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { webSessions, type WebSessionOptions, type WebSessions } from './web.js';
import { RequestSession, ServerSessions } from './server-session.js';

export type SvelteKitSessionOptions = WebSessionOptions;

/** What the hook sets on `event.locals`; declare `session: RequestSession` in `App.Locals` (src/app.d.ts) to have it typed. */
interface SessionLocals {
  session: RequestSession;
}

/** What the hook reads of SvelteKit's RequestEvent. */
interface SessionEvent {
  request: Request;
  locals: object;
  /** True for a request SvelteKit makes of its own endpoints in-process (a load's `fetch`). */
  isSubRequest?: boolean;
  /** The client's address as the adapter sees it (for `trackDevices`); it may throw where the adapter knows none. */
  getClientAddress?: () => string;
}

/** SvelteKit's `Handle`, for any event of that shape; `sessions` is the core (its store is `sessions.store`), `web` the same sessions' Web-standard API. */
export type DynamoSessionHandle = (<Event extends SessionEvent>(input: {
  event: Event;
  resolve: (event: Event) => Response | Promise<Response>;
}) => Promise<Response>) & {
  readonly sessions: ServerSessions;
  readonly web: WebSessions;
};

function clientAddress(event: SessionEvent): string | undefined {
  try {
    return event.getClientAddress?.();
  } catch {
    return undefined;
  }
}

export function dynamoSessionHandle(options: SvelteKitSessionOptions): DynamoSessionHandle {
  const web = webSessions(options);
  // The session of the request being resolved in this async context, while it is not yet saved.
  const resolving = new AsyncLocalStorage<{ session: RequestSession; open: boolean }>();
  const handle = async <Event extends SessionEvent>({ event, resolve }: { event: Event; resolve: (event: Event) => Response | Promise<Response> }) => {
    const outer = event.isSubRequest ? resolving.getStore() : undefined;
    if (outer?.open) {
      (event.locals as SessionLocals).session = outer.session;
      return resolve(event);
    }
    return web.handle(event.request, async (session) => {
      (event.locals as SessionLocals).session = session;
      const scope = { session, open: true };
      try {
        return await resolving.run(scope, () => resolve(event));
      } finally {
        // A streamed promise may fetch later, after the save: its sub-request then loads a session of its own.
        scope.open = false;
      }
    }, { clientAddress: clientAddress(event) });
  };
  return Object.assign(handle, { sessions: web.sessions, web });
}

export { RequestSession, ServerSessions };
export type { HeaderLookup } from './server-session.js';
export type { SessionCookieOptions } from './signed-cookie.js';
export type { SessionIdHeader, SessionIdHeaderOptions } from './id-header.js';
export type { SessionEvent };
