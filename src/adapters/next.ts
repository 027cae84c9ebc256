/**
 * Next.js App Router: `getSession()` in Server Actions, Route Handlers and
 * Server Components, on `cookies()` and `headers()` from `next/headers`:
 *
 *   // lib/session.ts
 *   export const { getSession } = nextSessions({ secret, table });
 *   // a Server Action
 *   const session = await getSession();
 *   session.set('cart', [...]);
 *   await session.save();
 *
 * The session is the Web entries' RequestSession (get/set/delete, flash,
 * takeFlash) with a `save()`. Changes are stored by `save()` (as iron-session's), which sets the cookie
 * through `cookies()`: Next lets only Server Actions and Route Handlers set
 * cookies, so a save in a Server Component is a ReadOnlySessionError, thrown
 * before anything is written. A Server Action (a POST) takes a lease on its
 * session under `locking: 'auto'`; a Route Handler that passes its Request
 * (`getSession(request)`) locks by its method; the lease is given back by
 * `save()`/`destroy()`, else when the response is done (`after()`).
 *
 * Proxy (middleware) runs on Node.js from Next 15.5 on: there, use `web`
 * (`dynamodb-session-manager/web`'s API) with the NextRequest.
 */
import { parseSetCookie } from 'cookie';
import { ReadOnlySessionError } from '../errors.js';
import type { LockRule } from './lock-rule.js';
import { RequestPipeline, type SessionRequestReader } from './request-pipeline.js';
import { optionalPeer } from './optional-peer.js';
import { ServerSessions, RequestSession, refuseIdHeader, type ServerSessionOptions } from './server-session.js';
import { pathOf, webSessions, type WebSessions } from './web.js';

export interface NextSessionOptions extends Omit<ServerSessionOptions, 'header'> {
  /** Which requests take a pessimistic lease: a predicate of the Request, a RegExp on its path and query, or a path prefix (needs `getSession(request)`). */
  lock?: LockRule<Request>;
  /**
   * Which requests extend the session (its stored expiry and its cookie's), in the form of `lock`
   * (needs `getSession(request)`); others (a background poll) keep the expiry they loaded. Default: every request.
   */
  keepAlive?: LockRule<Request>;
}

/** What `cookies()` gives: Next's RequestCookies, read-write in Server Actions and Route Handlers. */
interface CookieJar {
  set(cookie: { name: string; value: string } & Record<string, unknown>): unknown;
}

interface NextHeaders {
  cookies(): Promise<CookieJar>;
  headers(): Promise<{ get(name: string): string | null }>;
}

/**
 * The session of one Server Action, Route Handler or Server Component render: the Web entries' session
 * (data, get/set/delete, flash, takeFlash), stored by `save()`, which sets its cookie through `cookies()`.
 */
export class NextSession extends RequestSession {
  #jar!: CookieJar;
  #sessions!: ServerSessions;

  /** @internal The sessions that opened it, and the request's `cookies()`, through which its cookies are set. */
  savesThrough(sessions: ServerSessions, jar: CookieJar): this {
    this.#sessions = sessions;
    this.#jar = jar;
    return this;
  }

  /**
   * Stores what changed (one conditional write; nothing when nothing did) and
   * sets the session cookie. In a Server Component: ReadOnlySessionError.
   */
  async save(): Promise<void> {
    // Tried first, with the cookie the save will most likely set: where Next refuses cookies, nothing is written.
    const expected = this.destroyed
      ? this.#sessions.clearCookie(this)
      : (this.#sessions.previewHeaders(this).find(([name]) => name === 'Set-Cookie')?.[1] ??
        // None expected: a new session with nothing in it is not stored; a loaded one keeps its browser-session cookie.
        (this.isNew ? undefined : this.#sessions.currentCookie(this)));
    if (expected !== undefined) this.#setCookie(expected, true);
    const headers = await this.#sessions.finish(this).catch(async (err: unknown) => {
      await this.#sessions.abandon(this).catch(() => undefined);
      throw err;
    });
    for (const [name, value] of headers) if (name === 'Set-Cookie') this.#setCookie(value, false);
  }

  /** Deletes the session now and clears its cookie; another request holding it cannot bring it back. */
  override async destroy(): Promise<void> {
    this.#setCookie(this.#sessions.clearCookie(this), true);
    await super.destroy();
    await this.#sessions.finish(this);
  }

  /** A new id for the same data (call it on login, against session fixation); `save()` stores it. */
  override async regenerate(options?: { freshStart?: boolean }): Promise<void> {
    this.#setCookie(this.#sessions.currentCookie(this), true);
    await super.regenerate(options);
  }

  #setCookie(setCookie: string, probe: boolean): void {
    const parsed = parseSetCookie(setCookie);
    try {
      this.#jar.set({ ...parsed, value: parsed.value ?? '' } as { name: string; value: string });
    } catch (err) {
      if (!probe) throw err;
      throw new ReadOnlySessionError(
        'the session cannot be saved here: Next.js lets only Server Actions and Route Handlers set cookies, ' +
          'and this is a Server Component (or another read-only place). Read the session here; change it in a Server Action or a Route Handler',
        { cause: err },
      );
    }
  }
}

export interface NextSessions {
  /**
   * The session of this request. Give the Request in a Route Handler so that
   * its method decides the lease; without it, a request with a body (a Server
   * Action, with or without JavaScript) counts as a POST and anything else as a
   * GET (no lease, a merge if it writes).
   */
  getSession(request?: Request): Promise<NextSession>;
  /** The Web-standard API on the same sessions, for proxy (middleware) and Route Handlers that build their Response. */
  readonly web: WebSessions;
  readonly sessions: ServerSessions;
}

const hasBody = (headers: { get(name: string): string | null }): boolean =>
  headers.get('next-action') !== null ||
  headers.get('content-type') !== null ||
  headers.get('transfer-encoding') !== null ||
  Number(headers.get('content-length') ?? 0) > 0;

/** A Route Handler's Request, or none (a Server Action, a render): then what next/headers gives. */
interface NextRequest {
  request: Request | undefined;
  incoming: { get(name: string): string | null };
}

const nextReader: SessionRequestReader<NextRequest> = {
  // next/headers gives no method. A Server Action is a POST: with the Next-Action header from Next's client script, or
  // without it as a plain form post from a browser without JavaScript; both carry a body, which a render or a GET never does.
  method: ({ request, incoming }) => request?.method ?? (hasBody(incoming) ? 'POST' : 'GET'),
  url: ({ request }) => (request ? pathOf(request) : ''),
  judged: ({ request }) => request !== undefined,
  userAgent: (next) => nextReader.header(next, 'user-agent'),
  clientAddress: () => undefined,
  header: ({ request, incoming }, name) => (request ? request.headers.get(name) : incoming.get(name)),
  // HTTPS as Next.js sees it: a Route Handler's URL, or the X-Forwarded-Proto Next.js sets on every request it serves.
  https: ({ request, incoming }) => (request ? request.url.startsWith('https:') : incoming.get('x-forwarded-proto')?.split(',')[0]?.trim() === 'https'),
};

export function nextSessions(options: NextSessionOptions): NextSessions {
  refuseIdHeader(options, 'getSession(), which reads and sets cookies through next/headers', 'in a Route Handler');
  const { lock, keepAlive, ...rest } = options;
  const web = webSessions({ ...rest, ...(lock !== undefined ? { lock } : {}), ...(keepAlive !== undefined ? { keepAlive } : {}) });
  const sessions = web.sessions;
  // The rules judge a Route Handler's Request; a Server Action or a render has none: the store's locking mode decides by its method.
  const onRequest = (rule: LockRule<Request> | undefined): LockRule<NextRequest> | undefined =>
    typeof rule === 'function' ? (next) => rule(next.request!) : rule;
  const pipeline = new RequestPipeline<NextRequest>({ secret: undefined, lock: onRequest(lock), keepAlive: onRequest(keepAlive) }, nextReader, sessions);

  async function getSession(request?: Request): Promise<NextSession> {
    const next = (await optionalPeer('next', 'getSession', () => import('next/headers.js'))) as unknown as NextHeaders;
    const [jar, incoming] = await Promise.all([next.cookies(), next.headers()]);
    const session = ((await pipeline.open({ request, incoming }, {}, NextSession)) as NextSession).savesThrough(sessions, jar);
    if (session.handle?.lease) {
      // No save, no destroy: the lease goes back once the response is done.
      const { after } = (await import('next/server.js')) as unknown as { after(task: () => unknown): void };
      try {
        after(() => sessions.abandon(session).catch(() => undefined));
      } catch {
        // Nowhere to wait for the end: no lease at all, then; a save merges instead.
        await sessions.abandon(session);
      }
    }
    return session;
  }

  return { getSession, web, sessions };
}

export { ReadOnlySessionError };
export { unavailableResponse } from './web.js';
export type { HeaderLookup } from './server-session.js';
export type { SessionCookieOptions } from './signed-cookie.js';
export type { SessionIdHeader, SessionIdHeaderOptions } from './id-header.js';
