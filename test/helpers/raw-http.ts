/**
 * HTTP/1.1 responses read as the bytes a keep-alive client gets, framed
 * strictly by Content-Length or chunked encoding, the way a client decides
 * where one response ends and the next begins. fetch would hide the very
 * faults this is for: a declared length that is not the body's, bytes left
 * over on the connection, a second response that does not start where the
 * first one ends.
 */
import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  reason: string;
  /** Lower-case names; a header sent more than once has every value. */
  headers: Map<string, string[]>;
  body: Buffer;
  /** How the body was delimited. */
  framing: 'content-length' | 'chunked' | 'none';
  /** The response's bytes as they came, for assertion messages. */
  raw: string;
}

export function header(res: RawResponse, name: string): string | undefined {
  const values = res.headers.get(name.toLowerCase());
  return values === undefined ? undefined : values.join(', ');
}

export class FramingError extends Error {}

const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');

/**
 * Parses one response at the start of `bytes`. Returns undefined when the
 * bytes end before the response does; throws FramingError when they cannot
 * be a response at all.
 */
function parseOne(bytes: Buffer): { response: RawResponse; used: number } | undefined {
  const headEnd = bytes.indexOf(HEAD_END);
  if (headEnd < 0) {
    const start = bytes.subarray(0, 9).toString('latin1');
    if (!'HTTP/1.1 '.startsWith(start)) {
      throw new FramingError(`bytes that are not the start of a response: ${JSON.stringify(bytes.subarray(0, 120).toString('latin1'))}`);
    }
    return undefined;
  }
  const head = bytes.subarray(0, headEnd).toString('latin1');
  const [statusLine, ...lines] = head.split('\r\n');
  const status = /^HTTP\/1\.1 (\d{3}) ?(.*)$/.exec(statusLine!);
  if (!status) throw new FramingError(`not a status line: ${JSON.stringify(statusLine!.slice(0, 120))}`);
  const headers = new Map<string, string[]>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0 || /[\s]/.test(line.slice(0, colon))) throw new FramingError(`not a header line: ${JSON.stringify(line.slice(0, 120))}`);
    const name = line.slice(0, colon).toLowerCase();
    headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()]);
  }
  const code = Number(status[1]);
  const lengths = headers.get('content-length');
  const encoding = headers.get('transfer-encoding');
  const start = headEnd + HEAD_END.length;
  const done = (body: Buffer, used: number, framing: RawResponse['framing']) => ({
    response: { status: code, reason: status[2]!, headers, body, framing, raw: bytes.subarray(0, used).toString('latin1') },
    used,
  });
  if (lengths && encoding) throw new FramingError(`both Content-Length and Transfer-Encoding in ${JSON.stringify(head)}`);
  if ((code >= 100 && code < 200) || code === 204 || code === 304) {
    if (lengths || encoding) throw new FramingError(`a ${code} with a body length: ${JSON.stringify(head)}`);
    return done(Buffer.alloc(0), start, 'none');
  }
  if (encoding) {
    if (encoding.join(',').trim().toLowerCase() !== 'chunked') throw new FramingError(`unexpected Transfer-Encoding ${encoding.join(',')}`);
    const chunks: Buffer[] = [];
    let at = start;
    for (;;) {
      const lineEnd = bytes.indexOf(CRLF, at);
      if (lineEnd < 0) return undefined;
      const sizeText = bytes.subarray(at, lineEnd).toString('latin1');
      if (!/^[0-9a-fA-F]+$/.test(sizeText)) throw new FramingError(`not a chunk size: ${JSON.stringify(sizeText.slice(0, 40))}`);
      const size = parseInt(sizeText, 16);
      const dataStart = lineEnd + CRLF.length;
      if (size === 0) {
        // No trailers expected: the last chunk is followed by an empty line.
        if (bytes.length < dataStart + CRLF.length) return undefined;
        if (!bytes.subarray(dataStart, dataStart + CRLF.length).equals(CRLF)) throw new FramingError('trailers or garbage after the last chunk');
        return done(Buffer.concat(chunks), dataStart + CRLF.length, 'chunked');
      }
      if (bytes.length < dataStart + size + CRLF.length) return undefined;
      chunks.push(bytes.subarray(dataStart, dataStart + size));
      if (!bytes.subarray(dataStart + size, dataStart + size + CRLF.length).equals(CRLF)) throw new FramingError('a chunk longer than its declared size');
      at = dataStart + size + CRLF.length;
    }
  }
  if (lengths) {
    if (lengths.length !== 1 || !/^\d+$/.test(lengths[0]!)) throw new FramingError(`Content-Length ${JSON.stringify(lengths)}`);
    const length = Number(lengths[0]);
    if (bytes.length < start + length) return undefined;
    return done(bytes.subarray(start, start + length), start + length, 'content-length');
  }
  // Neither: the body runs to the end of the connection, which a keep-alive response must not do.
  throw new FramingError(`a response with neither Content-Length nor chunked encoding on a keep-alive connection: ${JSON.stringify(head)}`);
}

/**
 * Opens one connection, writes `requests` in a single write (pipelined), and
 * reads until `requests.length` responses have arrived; then waits
 * `settleMs` for anything more. Throws FramingError with the bytes received
 * when they do not parse as exactly that many responses.
 */
export async function pipelined(port: number, requests: string[], options: { settleMs?: number; timeoutMs?: number } = {}): Promise<{ responses: RawResponse[]; leftover: Buffer }> {
  const settleMs = options.settleMs ?? 300;
  const timeoutMs = options.timeoutMs ?? 15_000;
  const socket = connect(port, '127.0.0.1');
  let received = Buffer.alloc(0);
  let closed = false;
  socket.on('data', (chunk: Buffer) => {
    received = Buffer.concat([received, chunk]);
  });
  socket.on('close', () => {
    closed = true;
  });
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(requests.join(''));
  const deadline = Date.now() + timeoutMs;
  const responses: RawResponse[] = [];
  let offset = 0;
  try {
    while (responses.length < requests.length) {
      let parsed;
      try {
        parsed = parseOne(received.subarray(offset));
      } catch (err) {
        throw new FramingError(`response ${responses.length + 1}: ${(err as Error).message}\nreceived:\n${received.toString('latin1').slice(0, 2000)}`);
      }
      if (parsed) {
        responses.push(parsed.response);
        offset += parsed.used;
        continue;
      }
      if (closed) throw new FramingError(`the connection closed after ${responses.length} of ${requests.length} responses\nreceived:\n${received.toString('latin1').slice(0, 2000)}`);
      if (Date.now() > deadline) throw new FramingError(`no complete response ${responses.length + 1} within ${timeoutMs} ms\nreceived:\n${received.toString('latin1').slice(0, 2000)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    await new Promise((r) => setTimeout(r, settleMs));
    return { responses, leftover: received.subarray(offset) };
  } finally {
    socket.destroy();
  }
}

/** A GET request line and headers, keep-alive. */
export function get(path: string, headers: Record<string, string> = {}): string {
  const lines = [`GET ${path} HTTP/1.1`, 'Host: 127.0.0.1', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  return `${lines.join('\r\n')}\r\n\r\n`;
}
