/**
 * Koa adapter. `KoaSessionStore` is a koa-session external store;
 * `dynamoSession(app, options)` is koa-session with it, plus per-route
 * locking, expiry refresh and leases released on requests that save nothing,
 * and 503 answers (koa-session saves before Koa responds, so a failed save
 * really becomes a 503).
 */
import type { FlashMethods } from './flash-methods.js';
import type Koa from 'koa';
import createSession from 'koa-session';
import { SessionStore, type SessionData } from '../store/session-store.js';
import { SessionStoreError } from '../errors.js';
import { putFlash } from '../core/flash.js';
import { checkSecretLength, readCookie, secretList, signSessionId, unsignSessionId } from './signed-cookie.js';
import { UNAVAILABLE_BODY, unavailableHeaders, unavailableStatus } from './unavailable.js';
import { clearForReplacement } from './replace-response.js';
import { bridgeIdHeader, resolveIdHeader, type SessionIdHeader } from './id-header.js';
import { ConfigError } from '../errors.js';
import { KoaSessionStore, type KoaStoreOptions } from './koa-store.js';
import { passThrough } from './shared-store.js';

type KoaSessionOptions = NonNullable<Parameters<typeof createSession>[1]>;

/** koa-session's options this entry passes on as they are given. */
const KOA_SESSION_OPTIONS = ['rolling', 'renew', 'overwrite', 'autoCommit', 'valid', 'beforeSave', 'genid', 'prefix'] as const;

export { KoaSessionStore, type KoaStoreOptions } from './koa-store.js';

export interface DynamoKoaSessionOptions extends KoaStoreOptions, Omit<KoaSessionOptions, 'store' | 'externalKey' | 'ContextStore' | 'encode' | 'decode'> {
  /**
   * Sign the cookie with this secret in express-session's format (`s:<id>.<HMAC>`)
   * instead of koa's two-cookie keygrip signature: with the same `key`
   * (e.g. `connect.sid`) and secret, Express and Koa apps share sessions.
   */
  secret?: string | string[];
  /**
   * Carry the signed id in a request header instead of the cookie, for API and
   * mobile clients: `'X-Session-Id'`, or `{ name: 'Authorization', scheme: 'Bearer' }`
   * (see id-header.ts). Needs `secret`: the header carries the id signed as that cookie is.
   */
  header?: SessionIdHeader;
}

/**
 * koa-session on DynamoDB: `app.use(dynamoSession(app, { table, … }))`.
 * Without `secret`, cookies are signed with `app.keys` as koa-session does.
 */
export function dynamoSession(app: Koa, options: DynamoKoaSessionOptions = {}): Koa.Middleware & { store: KoaSessionStore } {
  const { header, secret, key, maxAge, secure, sameSite, httpOnly, signed, ...rest } = options;
  const [koaOptions, storeOptions] = passThrough(rest, KOA_SESSION_OPTIONS);
  const secrets = secret === undefined ? undefined : secretList(secret);
  const idHeader = resolveIdHeader(header);
  if (idHeader && !secrets) {
    throw new ConfigError(
      'option "header" of dynamoSession() needs "secret": the header carries the id signed as the cookie of `secret` is ' +
        '(app.keys sign koa\'s own two-cookie format, which no header holds)',
    );
  }
  // Without `secret`, koa-session signs with app.keys: held to the same length, now if they are set, else at the first request.
  let keysChecked = secrets !== undefined || signed === false;
  const checkKeys = () => {
    if (keysChecked || !Array.isArray(app.keys)) return;
    checkSecretLength(app.keys, 'app.keys');
    keysChecked = true;
  };
  checkKeys();
  const cookieName = key ?? 'koa.sess';
  const cookieOptions = {
    httpOnly: httpOnly ?? true,
    ...(secure !== undefined ? { secure } : {}),
    sameSite: (sameSite ?? 'lax') as 'lax' | 'strict' | 'none',
    path: '/',
  };
  const external = new KoaSessionStore({ ...storeOptions, sessionCookie: { name: cookieName, ...cookieOptions } });
  const sessionOptions: KoaSessionOptions = {
    key: cookieName,
    store: external as unknown as KoaSessionOptions['store'],
    ...(maxAge !== undefined ? { maxAge } : { maxAge: external.store.config.ttl * 1000 }),
    ...koaOptions,
    ...(signed !== undefined ? { signed } : {}),
    ...(httpOnly !== undefined ? { httpOnly } : {}),
    // Unset `secure` is Koa's default: the request's protocol (ctx.secure, following app.proxy). koa-session sets no SameSite: Lax.
    ...(secure !== undefined ? { secure } : {}),
    sameSite: sameSite ?? 'lax',
    ...(secrets
      ? {
          externalKey: {
            get: (ctx: Koa.Context) => unsignSessionId(readCookie(ctx.get('Cookie'), cookieName), secrets) as string,
            set: (ctx: Koa.Context, id: string) => {
              const held = external.heldExpiry(ctx, id);
              const lifetime =
                held !== undefined
                  ? held - Date.now()
                  : typeof maxAge === 'number'
                    ? maxAge
                    : maxAge === 'session'
                      ? undefined
                      : external.store.config.ttl * 1000;
              ctx.cookies.set(cookieName, encodeURIComponent(signSessionId(id, secrets)), {
                ...cookieOptions,
                signed: false,
                overwrite: true,
                ...(lifetime !== undefined ? { expires: new Date(Date.now() + lifetime) } : {}),
              });
            },
          },
        }
      : {}),
  };
  const inner = createSession(app, sessionOptions);
  const middleware: Koa.Middleware = async (ctx, next) => {
    checkKeys();
    // koa-session reads the session cookie through externalKey.get and sets it (or clears it) through Koa's cookies.
    if (idHeader) bridgeIdHeader(ctx.req, ctx.res, idHeader, cookieName);
    ctx.flash = (name: string, value: unknown) => {
      if (ctx.session) putFlash(ctx.session as unknown as SessionData, name, value);
    };
    ctx.takeFlash = <T>(name: string) => external.takeFlash(ctx, name) as Promise<T | undefined>;
    try {
      await inner(ctx, next);
      await external.finish(ctx);
    } catch (err) {
      await external.abandon(ctx);
      // A session that could not be loaded or saved: the response the app built is not the one
      // to send (replace-response.ts). Koa's own onerror clears every header; an error middleware
      // of the app would keep the route's, and Koa's body setter keeps a Content-Type it finds.
      if (err instanceof SessionStoreError) clearForReplacement(ctx.res);
      const status = unavailableStatus(err);
      if (!status) throw err;
      ctx.status = 503;
      ctx.set(unavailableHeaders(status.retryAfterSeconds));
      ctx.body = UNAVAILABLE_BODY;
    }
  };
  return Object.assign(middleware, { store: external });
}

declare module 'koa' {
  // `ctx.flash(name, value)` and `ctx.takeFlash(name)`.
  interface DefaultContext extends FlashMethods {}
}

export { SessionStore };
export type { SessionIdHeader, SessionIdHeaderOptions } from './id-header.js';
export type { SessionCookieOptions } from './signed-cookie.js';
