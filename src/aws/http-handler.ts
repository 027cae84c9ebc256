/**
 * The HTTP handler of the store's own DynamoDB client: the SDK's request sent
 * with undici's dispatcher, whose answer is collected into one buffer.
 *
 * Why not the SDK's NodeHttpHandler: a session request is one or two small
 * DynamoDB calls, and node:http's request and response objects, streams and
 * per-request timers cost the client about a third of its CPU per call on top
 * of signing and (de)serialization (`npm run bench:sdk`, "HTTP handler").
 * DynamoDB answers are small JSON documents, so a buffered body loses nothing.
 *
 * Network failures come out the way the SDK's retry strategy and the store's
 * error mapping read them: time-outs are named `TimeoutError`, a connection
 * closed under a request carries the code `ECONNRESET`, an abort is an
 * `AbortError`; connection errors of node:net (ECONNREFUSED, ENOTFOUND...)
 * pass through as they are.
 *
 * undici is loaded at the first request, not when the package is imported: it
 * takes longer to load than the SDK's DynamoDB client itself, a cost every
 * AWS Lambda cold start would pay even when the instance never calls DynamoDB
 * (`npm run bench:coldstart`). The first request waits for it once; the others
 * find the agent made.
 */
import type { Agent, Dispatcher } from 'undici';
import type { HeaderBag, HttpHandlerOptions, HttpRequest, HttpResponse, QueryParameterBag } from '@smithy/types';

export interface UndiciHandlerOptions {
  /** Longest wait for the answer's headers, and between two chunks of its body, in ms. */
  requestTimeoutMs: number;
  /** Longest wait for a TCP (and TLS) connection, in ms. */
  connectionTimeoutMs: number;
  /** Connections kept per endpoint at most; requests beyond them wait for one. The SDK's default is 50 too. */
  maxConnections?: number;
}

type AgentClass = typeof import('undici').Agent;
let undici: Promise<AgentClass> | undefined;
// A literal import(): bundlers (esbuild) still include undici, and evaluate it only when this runs.
const loadAgentClass = () => (undici ??= import('undici').then((module) => module.Agent));

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
// undici's names for a connection that went away under the request; the SDK retries ECONNRESET.
const RESET_CODES = new Set(['UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

export class UndiciHttpHandler {
  readonly metadata = { handlerProtocol: 'http/1.1' };
  private config: UndiciHandlerOptions;
  /** Made at the first request (see above). */
  private agent: Agent | undefined;
  private destroyed = false;

  constructor(options: UndiciHandlerOptions) {
    this.config = { maxConnections: 50, ...options };
  }

  handle(request: HttpRequest, options: HttpHandlerOptions = {}): Promise<{ response: HttpResponse }> {
    if (this.agent) return this.send(this.agent, request, options);
    return loadAgentClass().then((Agent) => {
      if (!this.agent) {
        this.agent = this.makeAgent(Agent);
        // Destroyed before its first request: the request fails as it would on a destroyed agent.
        if (this.destroyed) void this.agent.destroy().catch(() => {});
      }
      return this.send(this.agent, request, options);
    });
  }

  private send(agent: Agent, request: HttpRequest, { abortSignal, requestTimeout }: HttpHandlerOptions): Promise<{ response: HttpResponse }> {
    if (abortSignal?.aborted) return Promise.reject(abortError());
    const timeout = requestTimeout ?? this.config.requestTimeoutMs;
    return new Promise((resolve, reject) => {
      let statusCode = 0;
      let reason: string | undefined;
      let headers: HeaderBag = {};
      const chunks: Buffer[] = [];
      let controller: { abort(reason: Error): void } | undefined;
      let settled = false;
      const onAbort = () => controller?.abort(abortError());
      const signal = abortSignal as Partial<EventTarget> | undefined;
      const done = () => {
        settled = true;
        signal?.removeEventListener?.('abort', onAbort);
      };
      signal?.addEventListener?.('abort', onAbort, { once: true });
      const handler: Dispatcher.DispatchHandler = {
        onRequestStart(c) {
          controller = c;
          if (abortSignal?.aborted) c.abort(abortError());
        },
        onResponseStart(_c, status, responseHeaders, statusMessage) {
          if (status < 200) return; // 1xx: the real answer follows
          statusCode = status;
          reason = statusMessage;
          headers = flattenHeaders(responseHeaders);
        },
        onResponseData(_c, chunk) {
          chunks.push(chunk);
        },
        onResponseEnd() {
          if (settled) return;
          done();
          const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
          resolve({ response: { statusCode, reason, headers, body } });
        },
        onResponseError(_c, err) {
          if (settled) return;
          done();
          reject(asSdkNetworkError(err));
        },
      };
      try {
        agent.dispatch(
          {
            origin: originOf(request),
            path: pathOf(request),
            method: request.method,
            headers: request.headers,
            body: request.body ?? null,
            headersTimeout: timeout,
            bodyTimeout: timeout,
          },
          handler,
        );
      } catch (err) {
        done();
        reject(asSdkNetworkError(err as Error));
      }
    });
  }

  updateHttpClientConfig(key: keyof UndiciHandlerOptions, value: UndiciHandlerOptions[typeof key]): void {
    this.config = { ...this.config, [key]: value };
    const old = this.agent;
    if (!old) return; // the first request makes its agent with this config
    this.agent = this.makeAgent(old.constructor as AgentClass);
    void old.close().catch(() => {});
  }

  httpUndiciHandlerOptionss(): UndiciHandlerOptions {
    return this.config;
  }

  /** Closes every connection at once (the client's destroy()); a request still in flight fails. */
  destroy(): void {
    this.destroyed = true;
    void this.agent?.destroy().catch(() => {});
  }

  private makeAgent(Agent: AgentClass): Agent {
    return new Agent({ connections: this.config.maxConnections ?? null, connect: { timeout: this.config.connectionTimeoutMs } });
  }
}

function originOf(request: HttpRequest): string {
  // An IPv6 literal needs its brackets in a URL; the SDK may hand it over without them.
  const host = request.hostname.includes(':') && !request.hostname.startsWith('[') ? `[${request.hostname}]` : request.hostname;
  return `${request.protocol}//${host}${request.port ? `:${request.port}` : ''}`;
}

function pathOf(request: HttpRequest): string {
  let path = request.path;
  const query = queryString(request.query);
  if (query) path += `?${query}`;
  if (request.fragment) path += `#${request.fragment}`;
  return path;
}

/** RFC 3986 encoding, the form SigV4 signs. */
const encode = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

function queryString(query: QueryParameterBag | undefined): string {
  if (!query) return '';
  const parts: string[] = [];
  for (const key of Object.keys(query).sort()) {
    const value = query[key];
    if (value === null || value === undefined) parts.push(encode(key));
    else for (const v of Array.isArray(value) ? value : [value]) parts.push(`${encode(key)}=${encode(v)}`);
  }
  return parts.join('&');
}

function flattenHeaders(raw: Record<string, string | string[] | undefined>): HeaderBag {
  const out: HeaderBag = {};
  for (const name in raw) {
    const value = raw[name];
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function abortError(): Error {
  const err = new Error('the request was aborted');
  err.name = 'AbortError';
  return err;
}

function asSdkNetworkError(err: Error): Error {
  const code = (err as { code?: string }).code ?? '';
  if (err.name === 'AbortError') return err;
  if (TIMEOUT_CODES.has(code)) return Object.assign(new Error(err.message, { cause: err }), { name: 'TimeoutError', code });
  if (RESET_CODES.has(code)) return Object.assign(new Error(err.message, { cause: err }), { name: err.name, code: 'ECONNRESET' });
  return err;
}
