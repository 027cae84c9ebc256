/**
 * Fastify adapter. `FastifySessionStore` is a @fastify/session store;
 * `fastifyDynamoSession` is a plugin that registers @fastify/cookie (when
 * absent) and @fastify/session with it, and adds what @fastify/session lacks:
 * it never calls a store's touch, so unchanged sessions get their throttled
 * expiry refresh here; per-route locking; leases given back by requests that
 * save nothing; and 503 + Retry-After on outages and lock time-outs.
 */
import type { FlashMethods } from './flash-methods.js';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { FastifySessionOptions } from '@fastify/session';
import { SessionStore, type SessionData } from '../store/session-store.js';
import { putFlash } from '../core/flash.js';
import { RequestLoads } from './request-loads.js';
import { unavailableStatus } from './unavailable.js';
import { clearForReplacement, survivesReplacement } from './replace-response.js';
import { cookieExpiry, toStored } from './cookie-shape.js';
import { checkSecretLength, type SessionCookieOptions } from './signed-cookie.js';
import { versionCookieAfter } from './version-cookie.js';
import { optionalPeer } from './optional-peer.js';
import { idHeaderFromSetCookies, idIntoCookieHeader, resolveIdHeader, setCookieList, type SessionIdHeader } from './id-header.js';
import { FastifySessionStore, type FastifyStoreOptions } from './fastify-store.js';
import type { Callback } from './callbacks.js';
import { passThrough } from './shared-store.js';

export { FastifySessionStore, type FastifyStoreOptions } from './fastify-store.js';
export { fallbackFrom, type OldSessionStore } from './migrate-from.js';

export interface FastifyDynamoSessionOptions extends FastifyStoreOptions, Omit<FastifySessionOptions, 'store'> {
  /**
   * Carry the signed id in a request header instead of the cookie, for API and
   * mobile clients: `'X-Session-Id'`, or `{ name: 'Authorization', scheme: 'Bearer' }`
   * (see id-header.ts). The header holds the cookie's value (`cookiePrefix` and
   * signature included); @fastify/session reads it where it reads its cookie,
   * and the cookie it sets leaves as the header.
   */
  header?: SessionIdHeader;
}

const plugin: FastifyPluginAsync<FastifyDynamoSessionOptions> = async (fastify, options) => {
  const { header, secret, cookieName, cookie, ...rest } = options;
  const [sessionOptions, storeOptions] = passThrough(rest, ['cookiePrefix', 'saveUninitialized', 'rolling', 'idGenerator'] as const);
  // @fastify/session refuses a short string, not a short entry of a rotation list; a signer object is the app's own.
  if (typeof secret === 'string' || Array.isArray(secret)) checkSecretLength(Array.isArray(secret) ? secret : [secret], 'secret');
  const idHeader = resolveIdHeader(header);
  const sessionCookieName = cookieName ?? 'sessionId';
  // @fastify/session sets neither flag by default: Secure when the request came over HTTPS (request.protocol,
  // which follows Fastify's trustProxy), SameSite=Lax.
  const cookieFlags = { ...(cookie as SessionCookieOptions | undefined) };
  cookieFlags.secure ??= 'auto';
  cookieFlags.sameSite ??= 'lax';
  // With `header`: each request's id as its header gave it, to tell a new id from the one the client has.
  const incomingIds = new WeakMap<object, string | undefined>();
  // Loaded here, not when the entry is imported: an app that registers @fastify/session itself with a
  // FastifySessionStore needs neither from us, and one that has its own cookie plugin needs no @fastify/cookie.
  const needsCookie = !fastify.hasDecorator('parseCookie');
  const fastifySession = (await optionalPeer('@fastify/session', 'fastifyDynamoSession', () => import('@fastify/session'))).default;
  const fastifyCookie = needsCookie ? (await optionalPeer('@fastify/cookie', 'fastifyDynamoSession', () => import('@fastify/cookie'))).default : undefined;
  const sessionStore = new FastifySessionStore({ ...storeOptions, sessionCookie: { name: cookieName ?? 'sessionId', ...cookieFlags } });
  fastify.decorate('dynamoSessionStore', sessionStore);
  fastify.decorateRequest('flash', function (this: FastifyRequest, name: string, value: unknown) {
    if (this.session) putFlash(this.session as unknown as SessionData, name, value);
  });
  fastify.decorateRequest('takeFlash', function (this: FastifyRequest, name: string) {
    return sessionStore.takeFlash(this, name);
  });

  // Before @fastify/session's own hook, so that its store calls run inside this request's context.
  fastify.addHook('onRequest', (request, _reply, done) => {
    if (idHeader) {
      // Before @fastify/cookie parses the Cookie header, in which @fastify/session then finds the id.
      incomingIds.set(request, idIntoCookieHeader(request.raw.headers, idHeader, sessionCookieName));
    }
    sessionStore.context.run({ request, loads: new RequestLoads() }, done);
  });
  if (fastifyCookie) await fastify.register(fastifyCookie);
  // Before @fastify/session's save. The error response of a failed save passes the onSend hooks
  // too: @fastify/session would try the save again and either fail again (the error then skips to
  // the next error handler, past the app's) or put the session's cookie on the error. It does not
  // see the session then; the onSend hook after it gives the session back.
  fastify.addHook('onSend', (_request, _reply, _payload, done) => {
    const ctx = sessionStore.context.getStore();
    if (ctx?.failedSave !== undefined && ctx.hiddenSession === undefined) {
      ctx.hiddenSession = ctx.request.session;
      (ctx.request as { session: unknown }).session = null;
    }
    done();
  });
  await fastify.register(fastifySession, {
    secret,
    store: sessionStore,
    ...(cookieName !== undefined ? { cookieName } : {}),
    cookie: { maxAge: sessionStore.store.config.ttl * 1000, ...cookie, secure: cookieFlags.secure, sameSite: cookieFlags.sameSite },
    ...sessionOptions,
  } as FastifySessionOptions);

  // keepAlive: a request its rule leaves out (a background poll) keeps the expiry its session was loaded
  // with. @fastify/session restarts a loaded cookie's max age; the stored expiry put back, its save
  // (rolling: on every request), the refresh after it and the cookie all carry that one.
  fastify.addHook('onRequest', (request, _reply, done) => {
    const session = request.session as FastifyRequest['session'] | undefined;
    const handle = session?.sessionId ? sessionStore.context.getStore()?.loads.get(session.sessionId)?.handle : undefined;
    const cookie = session?.cookie as { originalMaxAge?: number | null; expires?: Date | null } | undefined;
    if (handle && cookie && typeof cookie.originalMaxAge === 'number' && !sessionStore.rules.keepAlive(request)) {
      cookie.expires = new Date(handle.expiresAtMs);
    }
    done();
  });

  // After @fastify/session's save: a session it did not save still gets its expiry refresh (when due) and gives back its lease.
  fastify.addHook('onSend', async (request, reply) => {
    const ctx = sessionStore.context.getStore();
    if (!ctx) return;
    if (ctx.failedSave !== undefined) {
      if (ctx.hiddenSession !== undefined) request.session = ctx.hiddenSession;
      ctx.hiddenSession = undefined;
      return;
    }
    const expires = request.session && typeof request.session === 'object' ? cookieExpiry(request.session) : undefined;
    for (const [sid, { handle, minVersion }] of ctx.loads) {
      if (!handle.settled) {
        try {
          const data = request.session?.sessionId === sid ? toStored(request.session) : undefined;
          await sessionStore.store.touch(handle, sid, { ...(expires ? { expires } : {}), ...(data ? { data } : {}) });
        } catch (err) {
          throw sessionStore.saveFailed(err);
        }
      }
      // A write this request made: the client's next reads must not be older (unless consistentRead: true).
      if (request.session?.sessionId !== sid) continue;
      const flags = sessionStore.sessionCookie;
      const secure = (flags.secure as boolean | 'auto' | undefined) === 'auto' ? request.protocol === 'https' : flags.secure;
      const version = versionCookieAfter(sessionStore.store, flags.name, handle, minVersion, { ...flags, secure }, expires);
      if (version) reply.header('set-cookie', version);
    }
  });
  // With `header`: the session cookie @fastify/session set (it has by now) leaves as the id header.
  if (idHeader) {
    fastify.addHook('onSend', async (request, reply) => {
      const incoming = incomingIds.get(request);
      const { kept, value } = idHeaderFromSetCookies(
        setCookieList(reply.getHeader('set-cookie') as string | string[] | undefined),
        sessionCookieName,
        incoming,
      );
      reply.removeHeader('set-cookie');
      if (kept.length > 0) reply.header('set-cookie', kept);
      const id = value ?? (incoming !== undefined && reply.statusCode < 500 && !request.session ? '' : undefined);
      if (id !== undefined) reply.header(idHeader.response, id);
    });
  }
  // A save that failed after the handler: its response is replaced whole (replace-response.ts).
  // Fastify's error handling drops only the Content-Type and Content-Length: the handler's status,
  // its ETag and cookies would go out with the error handler's body. The status and Retry-After
  // set here are also what an error handler of the app that sets neither answers with.
  fastify.addHook('onError', (_request, reply, error, done) => {
    const ctx = sessionStore.context.getStore();
    if (ctx && sessionStore.saveFailures.has(error)) {
      ctx.failedSave = error;
      for (const name of Object.keys(reply.getHeaders())) if (!survivesReplacement(name)) reply.removeHeader(name);
      clearForReplacement(reply.raw);
      const status = unavailableStatus(error);
      reply.code(status ? 503 : 500);
      if (status) reply.headers((error as { headers?: Record<string, string> }).headers ?? {});
    }
    done();
  });
  fastify.addHook('onResponse', async () => {
    const ctx = sessionStore.context.getStore();
    if (!ctx) return;
    // The request is over: a destroy nothing replaced was a logout, and a lease still held goes back.
    await ctx.loads.end(sessionStore.store);
  });
  fastify.addHook('onClose', async () => {
    if (!options.store) await sessionStore.store.close();
  });
};

/**
 * `fastify.register(fastifyDynamoSession, { secret, table, … })`: @fastify/session
 * on DynamoDB. Give `cookieName: 'connect.sid', cookiePrefix: 's:'` and the
 * same secret to share sessions with an express-session app.
 */
export const fastifyDynamoSession = fp(plugin, { fastify: '5.x', name: 'dynamodb-session-manager' });

declare module 'fastify' {
  interface FastifyInstance {
    dynamoSessionStore: FastifySessionStore;
  }
  // `request.flash(name, value)` and `request.takeFlash(name)`.
  interface FastifyRequest extends FlashMethods {}
}

export { SessionStore };
export type { SessionIdHeader, SessionIdHeaderOptions } from './id-header.js';
export type { SessionCookieOptions } from './signed-cookie.js';
// What the Store's callback-style methods take.
export type { Callback as StoreCallback };
