/**
 * A loopback HTTP proxy in front of DynamoDB Local that plays a replica
 * behind by `lagMs`: an eventually consistent GetItem (ConsistentRead absent
 * or false) is answered with the item as it was `lagMs` earlier. Strong reads
 * and every other call pass unchanged, so a test can tell which reads a store
 * makes eventually and whether it acts on a stale answer.
 *
 * How it knows the past: before it forwards a write (PutItem, UpdateItem,
 * DeleteItem, TransactWriteItems, BatchWriteItem) it reads each item the
 * write touches, strongly, and keeps that as the item "before", stamped with
 * the time the write's answer came back. A key's writes pass one at a time, so
 * each "before" is the item the write replaced. An eventual read at time t is
 * answered with the "before" of the first write that landed after t - lagMs
 * (or is still under way), else with what DynamoDB returned.
 */
import { createServer, request as httpRequest, Agent, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';

type AttributeValue = Record<string, unknown>;
type Item = Record<string, AttributeValue>;

interface Past {
  /** When the write's answer came back; Infinity while it is under way. */
  at: number;
  before: Item | undefined;
}

export interface StaleReadCounts {
  /** Eventual GetItems seen. */
  eventualReads: number;
  /** Of those, answered with an older item (or none) than DynamoDB holds. */
  staleAnswers: number;
  /** Strong GetItems seen. */
  strongReads: number;
}

export interface StaleReadProxy {
  readonly endpoint: string;
  readonly counts: StaleReadCounts;
  /** How far behind the replica is, ms (0: eventual reads are answered as they are). */
  lag(ms: number): void;
  close(): Promise<void>;
}

const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'TransactWriteItems', 'BatchWriteItem']);

function readBody(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    stream.on('data', (c: Buffer) => parts.push(c));
    stream.on('end', () => resolve(Buffer.concat(parts)));
    stream.on('error', reject);
  });
}

/** The (table, key) pairs a write touches; keys as DynamoDB JSON of the hash key `sessionId`. */
function touched(operation: string, body: Record<string, any>): Array<{ table: string; key: Item }> {
  const keyOf = (item: Item | undefined): Item | undefined => (item?.sessionId ? { sessionId: item.sessionId } : undefined);
  const out: Array<{ table: string; key: Item | undefined }> = [];
  if (operation === 'PutItem') out.push({ table: body.TableName, key: keyOf(body.Item) });
  if (operation === 'UpdateItem' || operation === 'DeleteItem') out.push({ table: body.TableName, key: keyOf(body.Key) });
  if (operation === 'TransactWriteItems') {
    for (const t of body.TransactItems ?? []) {
      if (t.Put) out.push({ table: t.Put.TableName, key: keyOf(t.Put.Item) });
      if (t.Update) out.push({ table: t.Update.TableName, key: keyOf(t.Update.Key) });
      if (t.Delete) out.push({ table: t.Delete.TableName, key: keyOf(t.Delete.Key) });
    }
  }
  if (operation === 'BatchWriteItem') {
    for (const [table, requests] of Object.entries(body.RequestItems ?? {}) as Array<[string, any[]]>) {
      for (const r of requests) out.push({ table, key: keyOf(r.PutRequest?.Item ?? r.DeleteRequest?.Key) });
    }
  }
  return out.filter((t): t is { table: string; key: Item } => t.key !== undefined);
}

const slot = (table: string, key: Item) => `${table}\u0000${JSON.stringify(key)}`;

export async function startStaleReadProxy(targetEndpoint: string, lagMs = 400): Promise<StaleReadProxy> {
  const target = new URL(targetEndpoint);
  const agent = new Agent({ keepAlive: true });
  const history = new Map<string, Past[]>();
  /** Writes of one key go one at a time, so the "before" each reads is the item it replaces. */
  const queues = new Map<string, Promise<unknown>>();
  const counts: StaleReadCounts = { eventualReads: 0, staleAnswers: 0, strongReads: 0 };
  let lag = lagMs;

  const send = (headers: IncomingHttpHeaders, body: Buffer): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const req = httpRequest(
        { host: target.hostname, port: target.port, method: 'POST', path: '/', agent, headers: { ...headers, host: target.host, 'content-length': String(body.length) } },
        (res) => void readBody(res).then((b) => resolve({ status: res.statusCode ?? 500, headers: res.headers, body: b }), reject),
      );
      req.on('error', reject);
      req.end(body);
    });

  const strongGet = async (headers: IncomingHttpHeaders, table: string, key: Item): Promise<Item | undefined> => {
    const body = Buffer.from(JSON.stringify({ TableName: table, Key: key, ConsistentRead: true }));
    const out = await send({ ...headers, 'x-amz-target': 'DynamoDB_20120810.GetItem' }, body);
    if (out.status !== 200) return undefined;
    return (JSON.parse(out.body.toString('utf8')) as { Item?: Item }).Item;
  };

  const forget = (now: number) => {
    for (const [k, list] of history) {
      const kept = list.filter((p) => p.at > now - lag - 1000);
      if (kept.length === 0) history.delete(k);
      else history.set(k, kept);
    }
  };

  const write = async (headers: IncomingHttpHeaders, body: Buffer, parsed: Record<string, any>, operation: string) => {
    const keys = touched(operation, parsed).map((t) => ({ ...t, slot: slot(t.table, t.key) }));
    const previous = Promise.all(keys.map((k) => queues.get(k.slot)));
    let done!: () => void;
    const mine = new Promise<void>((r) => (done = r));
    for (const k of keys) queues.set(k.slot, mine);
    try {
      await previous.catch(() => undefined);
      const pasts: Past[] = [];
      for (const k of keys) {
        const past: Past = { at: Infinity, before: await strongGet(headers, k.table, k.key) };
        pasts.push(past);
        history.set(k.slot, [...(history.get(k.slot) ?? []), past]);
      }
      const out = await send(headers, body);
      const at = Date.now();
      for (const p of pasts) p.at = at;
      return out;
    } finally {
      done();
      for (const k of keys) if (queues.get(k.slot) === mine) queues.delete(k.slot);
    }
  };

  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.slice(target.lastIndexOf('.') + 1);
      const parsed = JSON.parse(body.toString('utf8') || '{}') as Record<string, any>;
      const headers = { ...req.headers };
      let out;
      if (WRITES.has(operation)) out = await write(headers, body, parsed, operation);
      else out = await send(headers, body);
      if (operation === 'GetItem' && out.status === 200) {
        if (parsed.ConsistentRead === true) counts.strongReads += 1;
        else {
          counts.eventualReads += 1;
          const now = Date.now();
          forget(now);
          const past = history.get(slot(parsed.TableName, parsed.Key))?.find((p) => p.at > now - lag);
          if (past && lag > 0) {
            const answer = JSON.parse(out.body.toString('utf8')) as { Item?: Item };
            if (JSON.stringify(answer.Item) !== JSON.stringify(past.before)) counts.staleAnswers += 1;
            if (past.before) answer.Item = past.before;
            else delete answer.Item;
            out = { ...out, body: Buffer.from(JSON.stringify(answer)) };
          }
        }
      }
      const { 'content-length': _length, 'x-amz-crc32': _crc, connection: _connection, ...rest } = out.headers;
      res.writeHead(out.status, { ...rest, 'content-length': String(out.body.length) });
      res.end(out.body);
    })().catch((err: unknown) => {
      res.statusCode = 500;
      res.end(JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: `stale-read proxy: ${String(err)}` }));
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    counts,
    lag(ms) {
      lag = ms;
    },
    close() {
      agent.destroy();
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
