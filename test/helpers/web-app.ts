/**
 * One app on the Web-standard core (`dynamodb-session-manager/web`), served
 * over real HTTP by @hono/node-server's generic fetch-handler server (no Hono
 * app): the routes of test/fixtures/framework-server.ts.
 *
 * GET  /count   views + 1 → {views}       GET /peek → {session}
 * POST /key/:k  keys[k] = 1               POST /incr → n + 1
 * POST /login?user=  regenerate, set user  POST /logout  destroy
 * GET  /touch/:k    a safe request that writes keys[k] = 1 (merged, no lease)
 * POST /app/append?n=  list.push(n)        POST /app/incr → n + 1
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { webSessions, type WebSessionOptions, type WebSessions } from '../../src/adapters/web.js';

export const SECRET = 'a test secret that is at least thirty-two characters long';

export interface WebApp {
  readonly url: string;
  readonly web: WebSessions;
  close(): Promise<void>;
}

export function route(web: WebSessions) {
  return (request: Request) =>
    web.handle(request, async (session) => {
      const url = new URL(request.url);
      const key = /^\/(key|touch)\/(.+)$/.exec(url.pathname);
      if (url.pathname === '/count') {
        session.set('views', (session.get<number>('views') ?? 0) + 1);
        return Response.json({ views: session.get('views') });
      }
      if (url.pathname === '/peek') return Response.json({ session: session.data });
      if (key) {
        session.set('keys', { ...(session.get<Record<string, number>>('keys') ?? {}), [key[2]!]: 1 });
        return Response.json({ ok: true });
      }
      if (url.pathname === '/app/append') {
        session.set('list', [...(session.get<number[]>('list') ?? []), Number(url.searchParams.get('n'))]);
        return Response.json({ list: session.get('list') });
      }
      if (url.pathname === '/incr' || url.pathname === '/app/incr') {
        session.set('n', (session.get<number>('n') ?? 0) + 1);
        return Response.json({ n: session.get('n') });
      }
      if (url.pathname === '/login') {
        await session.regenerate();
        session.set('user', url.searchParams.get('user'));
        return Response.json({ user: session.get('user') });
      }
      if (url.pathname === '/logout') {
        await session.destroy();
        return Response.json({ ok: true });
      }
      return new Response('not found', { status: 404 });
    });
}

export async function startWebApp(options: WebSessionOptions): Promise<WebApp> {
  const web = webSessions(options);
  await web.sessions.store.ready();
  const server = serve({ fetch: route(web), port: 0, hostname: '127.0.0.1' });
  await new Promise((r) => server.once('listening', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    web,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
