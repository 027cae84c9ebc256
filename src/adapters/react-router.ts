/**
 * React Router 7 (and Remix): a `SessionStorage` for the places an app uses
 * `createCookieSessionStorage`, with React Router's `Session` API (`get`,
 * `set`, `has`, `unset`, `flash`, `data`, `id`):
 *
 *   export const { getSession, commitSession, destroySession } = createDynamoSessionStorage({ secret, table });
 *
 * Only a signed id is in the cookie; the data is in DynamoDB. React Router
 * runs a request's loaders in parallel, each with its own getSession and
 * commitSession: a commit stores only what its loader changed, merged
 * three-way with what the others stored meanwhile, so a flash one loader read
 * (a removal) is not brought back by another that commits the session it
 * loaded with the flash still in it (remix-run/remix#5647).
 *
 * React Router hands a storage only the Cookie header, and nothing tells it
 * when a request ends: so loads take no lease (a lease nobody gives back
 * would hold the session), and concurrent changes of one value are a merge
 * conflict (`onConflict`, else the later commit wins).
 */
import type { SessionStorage, Session as RouterSession, SessionData as RouterSessionData } from 'react-router';
import { ConfigError } from '../errors.js';
import { ServerSessions, RequestSession, refuseIdHeader, type ServerSessionOptions } from './server-session.js';
import { servedRequest, watchServedRequests } from './served-request.js';
import { nodeRequestReader, RequestRules } from './request-rules.js';
import { optionalPeer } from './optional-peer.js';

export interface ReactRouterSessionOptions extends Omit<ServerSessionOptions, 'header'> {
  /** Cookie name. Default `__session`, as React Router's own storages. */
  name?: string;
}

/** react-router, imported by the first getSession (not when this entry is), once for the process. */
let router: Promise<typeof import('react-router')> | undefined;

export type DynamoSessionStorage<Data = RouterSessionData, FlashData = Data> = SessionStorage<Data, FlashData> & {
  /** The core of the storage: its store is `sessions.store`. */
  readonly sessions: ServerSessions;
};

/**
 * A React Router `SessionStorage` on DynamoDB. `commitSession` stores the
 * session (a new one too, as React Router's storages do) and returns its
 * Set-Cookie value; `destroySession` deletes it and returns a cookie that
 * expires now. Failing to reach DynamoDB throws StoreUnavailableError:
 * `unavailableResponse(err)` from `dynamodb-session-manager/web` makes the 503.
 */
export function createDynamoSessionStorage<Data = RouterSessionData, FlashData = Data>(
  options: ReactRouterSessionOptions,
): DynamoSessionStorage<Data, FlashData> {
  refuseIdHeader(options, "React Router's SessionStorage, which speaks Cookie and Set-Cookie", 'in the loader or action');
  // saveUninitialized false, as in every other entry: a cookieless request (a bot, a health check) writes nothing.
  const sessions = new ServerSessions({ ...options, name: options.name ?? '__session', saveUninitialized: options.saveUninitialized ?? false });
  // getSession is given the Cookie header alone: with trackDevices, the device comes from the request node:http is serving.
  if (sessions.store.config.trackDevices) watchServedRequests();
  const rules = new RequestRules(nodeRequestReader, false, undefined);
  // React Router's own Session, made by this storage's getSession, and the request session it was made of.
  const requestOf = new WeakMap<object, RequestSession>();
  const own = (session: RouterSession<Data, FlashData>): RequestSession => {
    const request = requestOf.get(session);
    if (!request) {
      throw new ConfigError(
        'commitSession and destroySession take a session this storage\'s getSession returned (not one made by createSession or another storage)',
      );
    }
    return request;
  };

  return {
    sessions,
    async getSession(cookieHeader) {
      // No lease, whatever `locking` says: nothing would give it back (see above).
      // getSession gets the Cookie header alone, not the request: `secure: 'auto'` cannot see the protocol, and
      // follows React Router's own convention instead (Secure in production). Set cookie.secure to say otherwise.
      const served = servedRequest()?.request;
      const request = await sessions.open(cookieHeader ?? undefined, {
        lock: false,
        https: process.env.NODE_ENV === 'production',
        ...(served ? { device: rules.device(served) } : {}),
      });
      // React Router's own Session (get, set, has, unset, and a flash read once) over the data; its id is the
      // empty string for a session this request creates, as React Router's own storages say.
      const { createSession } = await (router ??= optionalPeer('react-router', 'getSession', () => import('react-router')));
      const session = createSession<Data, FlashData>(request.data as Data, request.isNew ? '' : request.id);
      requestOf.set(session, request);
      return session;
    },
    async commitSession(session) {
      const request = own(session);
      // What the app's Session holds is what is stored (a flash it read is gone from it).
      request.clear();
      for (const [key, value] of Object.entries(session.data)) request.set(key, value);
      const headers = await sessions.finish(request);
      const cleared = headers.find(([name, value]) => name === 'Set-Cookie' && value.startsWith(`${sessions.name}=;`));
      if (cleared) return cleared[1];
      // A new session with nothing in it was not stored (saveUninitialized false): no cookie to give out.
      if (request.state === 'new' && Object.keys(request.data).length === 0) return sessions.clearCookie(request);
      // React Router wants one Set-Cookie on every commit: the session cookie, its expiry refreshed.
      return sessions.currentCookie(request);
    },
    async destroySession(session) {
      const request = own(session);
      await request.destroy();
      await sessions.finish(request);
      return sessions.clearCookie(request);
    },
  } as DynamoSessionStorage<Data, FlashData>;
}

export type { ServerSessions };
export type { HeaderLookup } from './server-session.js';
export type { SessionCookieOptions } from './signed-cookie.js';
export type { SessionIdHeader, SessionIdHeaderOptions } from './id-header.js';
