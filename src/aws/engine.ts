/**
 * Which DynamoDB engine answers, and what it was seen to do. Engines differ
 * where a session store cares: whether a failed conditional write returns the
 * item it found (ReturnValuesOnConditionCheckFailure), and whether TTL exists.
 * Nothing here is guessed from an engine's name: a trait is recorded only once
 * an answer has shown it; the name is for messages.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

export interface EngineTraits {
  /** Who answers, as far as its responses tell; undefined until a response with headers was seen. */
  name?: string;
  /**
   * Whether a failed conditional write carries the item it found. undefined:
   * not seen yet (the store reads the item whenever one is missing).
   */
  returnsItemOnConditionFailure?: boolean;
  /** A global table in multi-Region strong consistency (DescribeTable): no transactions, no TTL (regions/multi-region.ts). */
  multiRegionStrong?: boolean;
}

/** One record per client: every store sharing a client shares what was learned. */
const traitsByClient = new WeakMap<DynamoDBClient, EngineTraits>();

export function engineTraits(client: DynamoDBClient): EngineTraits {
  let traits = traitsByClient.get(client);
  if (!traits) traitsByClient.set(client, (traits = {}));
  return traits;
}

type Headers = Record<string, string | undefined>;

/**
 * The engine's name from a response's headers: each engine's HTTP server
 * says who it is, except dynalite, which copies DynamoDB's headers but not its
 * `Server: Server`.
 */
export function engineFromHeaders(headers: Headers | undefined, hasEndpoint: boolean): string | undefined {
  if (!headers) return undefined;
  const server = headers.server ?? headers.Server ?? '';
  if (/jetty/i.test(server)) return 'DynamoDB Local';
  if (/seastar|scylla/i.test(server)) return 'ScyllaDB Alternator';
  if (/hypercorn|localstack|twisted|werkzeug/i.test(server) || Object.keys(headers).some((h) => h.toLowerCase().startsWith('x-localstack'))) {
    return 'LocalStack';
  }
  if (server === 'Server') return hasEndpoint ? 'a DynamoDB-compatible engine' : 'Amazon DynamoDB';
  if (server === '' && headers['x-amz-crc32'] !== undefined) return 'dynalite';
  return server ? `an engine answering as "${server.slice(0, 40)}"` : undefined;
}

/** The headers of the HTTP answer behind an SDK error, when the SDK kept them. */
export function headersOf(err: unknown): Headers | undefined {
  return (err as { $response?: { headers?: Headers } } | null)?.$response?.headers;
}

/** Records the engine's name from an answer, once. */
export function noteEngine(traits: EngineTraits, err: unknown, hasEndpoint: boolean): void {
  traits.name ??= engineFromHeaders(headersOf(err), hasEndpoint);
}
