/**
 * Drives one app with autocannon: signs in a pool of clients (each keeps its
 * own session cookie, as browsers do), then rotates requests through them.
 */
import autocannon from 'autocannon';
import { SESSION_COOKIE } from './stores.js';

export interface Workload {
  name: string;
  description: string;
  /** Session JSON bytes at login. */
  size: number;
  /** Path of the n-th request of the run. */
  path(n: number): string;
  /** All requests on one session, a fixed number of them (a burst), instead of a timed run over the pool. */
  burst?: { requests: number };
}

export const WORKLOADS: readonly Workload[] = [
  { name: 'read-only', description: 'every request reads its session, 2 KB', size: 2048, path: () => '/read' },
  { name: 'read-heavy', description: '95 % reads, 5 % change a field, 2 KB', size: 2048, path: (n) => (n % 20 === 19 ? '/write' : '/read') },
  { name: 'write-heavy', description: 'every request changes its session, 2 KB', size: 2048, path: () => '/write' },
  { name: 'large', description: '95 % reads, 5 % changes, 50 KB sessions', size: 50 * 1024, path: (n) => (n % 20 === 19 ? '/write' : '/read') },
  { name: 'burst', description: 'concurrent increments of one counter in ONE session', size: 2048, path: () => '/incr', burst: { requests: 300 } },
];

export interface LoadResult {
  /** Requests answered (any status). */
  requests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  durationSeconds: number;
}

/** Signs in `count` clients, `parallel` at a time; returns their cookies (`name=value`). */
export async function signIn(baseUrl: string, count: number, parallel = 10): Promise<string[]> {
  const cookies: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next += 1;
      const res = await fetch(`${baseUrl}/login`, { method: 'POST', signal: AbortSignal.timeout(30_000) });
      await res.arrayBuffer();
      // Every cookie the login hands out, by name, as a browser keeps them: the session's, and
      // with consistentRead: false the version cookie (whichever of them comes first).
      const jar = new Map<string, string>();
      const keep = (response: Response) => {
        for (const line of response.headers.getSetCookie()) {
          const pair = line.split(';')[0]!;
          jar.set(pair.slice(0, pair.indexOf('=')), pair);
        }
      };
      keep(res);
      if (!res.ok || !jar.has(SESSION_COOKIE)) throw new Error(`bench: POST /login answered ${res.status} without a session cookie (${SESSION_COOKIE})`);
      const cookieHeader = () => [...jar.values()].join('; ');
      // One read as a browser would make next: it may hand out more cookies, which the client then keeps sending.
      const read = await fetch(`${baseUrl}/read`, { headers: { cookie: cookieHeader() }, signal: AbortSignal.timeout(30_000) });
      await read.arrayBuffer();
      keep(read);
      cookies.push(cookieHeader());
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return cookies;
}

export async function drive(baseUrl: string, workload: Workload, cookies: string[], options: { durationSeconds: number; connections: number }): Promise<LoadResult> {
  let n = 0;
  const started = Date.now();
  const result = await autocannon({
    url: baseUrl,
    connections: options.connections,
    ...(workload.burst ? { amount: workload.burst.requests } : { duration: options.durationSeconds }),
    timeout: 20,
    requests: [
      {
        method: 'GET',
        setupRequest: (req) => {
          const i = n++;
          const path = workload.path(i);
          // Reads are GETs; changes POSTs, as an app's forms and AJAX calls send them.
          return { ...req, method: path === '/read' ? 'GET' : 'POST', path, headers: { ...req.headers, cookie: cookies[i % cookies.length]! } };
        },
      },
    ],
  });
  const seconds = workload.burst ? (Date.now() - started) / 1000 : options.durationSeconds;
  return {
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    requestsPerSecond: result.requests.total / Math.max(seconds, 0.001),
    p50: result.latency.p50,
    p99: result.latency.p99,
    durationSeconds: seconds,
  };
}
