/**
 * What an error of the AWS SDK (or of the HTTP handler beneath it) means to
 * the store, in one place: an outage or a throttle (answer 503 and retry), a
 * failed condition or a cancelled transaction (another writer came first), a
 * write that met another (retried), a table, index or stream that is not
 * there, an operation the engine lacks, something other than DynamoDB
 * answering, and how many times the SDK sent the request that failed. An
 * error the store made of the SDK's (the gateway's) is judged by its cause.
 */
// Network failures carry no HTTP status; these service errors mean "try later".
const RETRYABLE_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'AbortError',
]);

export interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  Item?: Record<string, unknown>;
}

/** How many times the SDK sent the request that ended in `err` (1 when it says nothing): above 1, an earlier attempt may have landed. */
export function sdkAttempts(err: unknown): number {
  const metadata = (err as SdkError & { $metadata?: { attempts?: number } } | null)?.$metadata;
  return metadata?.attempts ?? 1;
}

export function isConditionalFailure(err: unknown): err is SdkError {
  return (err as SdkError | null)?.name === 'ConditionalCheckFailedException';
}

/** A transaction one of whose conditions failed (or that met another transaction): CancellationReasons say which. */
export function isTransactionCanceled(err: unknown): err is SdkError & { CancellationReasons?: Array<{ Code?: string; Item?: Record<string, unknown> }> } {
  return (err as SdkError | null)?.name === 'TransactionCanceledException';
}

/** The SDK's error: `err` itself, or the one a store error was made of (its cause). */
function sdkError(err: unknown): SdkError | null {
  const e = err as (SdkError & { cause?: unknown }) | null;
  return e && typeof e === 'object' && e.cause && typeof e.cause === 'object' && !('$metadata' in e) ? (e.cause as SdkError) : e;
}

const named = (err: unknown, ...names: string[]): boolean => names.includes(sdkError(err)?.name ?? '');

/**
 * The write met another for the few ms the item is in a transaction (a large session's save, a login under
 * maxSessionsPerUser), or another Region's write to it (MRSC): nothing was done, and it may be sent again.
 */
export const isWriteConflict = (err: unknown): boolean => named(err, 'TransactionConflictException', 'ReplicatedWriteConflictException');

/** No such table, or (streams) no such stream or shard any more. */
export const isNotFound = (err: unknown): boolean => named(err, 'ResourceNotFoundException');

/** A CreateTable of a table that is there already (another process made it first). */
export const isAlreadyThere = (err: unknown): boolean => named(err, 'ResourceInUseException');

/** IAM refused the call (the policy lacks the action): not an outage. */
export const isDenied = (err: unknown): boolean => /AccessDenied|UnauthorizedOperation|NotAuthorized/i.test(sdkError(err)?.name ?? '');

/** A Query on an index the table lacks. */
export const isMissingIndex = (err: unknown): boolean => named(err, 'ValidationException') && /index/i.test(sdkError(err)?.message ?? '');

/** How a read of a table's stream failed: its records were trimmed (24 hours), its iterator expired (15 minutes), or something else. */
export function streamFailure(err: unknown): 'trimmed' | 'expired-iterator' | 'not-found' | 'other' {
  if (named(err, 'TrimmedDataAccessException')) return 'trimmed';
  if (named(err, 'ExpiredIteratorException')) return 'expired-iterator';
  return isNotFound(err) ? 'not-found' : 'other';
}

/** DynamoDB answered, asking the caller to slow down: busy, not unreachable. */
const THROTTLES = new Set(['ProvisionedThroughputExceededException', 'ThrottlingException', 'RequestLimitExceeded']);

export const isThrottle = (err: unknown): boolean => THROTTLES.has(sdkError(err)?.name ?? '');

/** True when DynamoDB could not be reached or asked us to back off: an outage, not a bug. */
export function isOutage(err: unknown): boolean {
  const e = err as SdkError | null;
  if (!e || typeof e !== 'object') return false;
  if (e.name && RETRYABLE_NAMES.has(e.name)) return true;
  const status = e.$metadata?.httpStatusCode;
  if (status === undefined) return true;
  return status >= 500;
}

/**
 * What answered instead of DynamoDB, when the answer was not DynamoDB's JSON
 * (an HTML 404 page, a proxy's text): `HTTP 404 (text/html)`. DynamoDB, Local
 * or not, answers every call with JSON, and every error with a `__type` the
 * SDK names it by; anything else is some other server at the endpoint.
 */
export function foreignAnswer(err: unknown): string | undefined {
  const e = err as (SdkError & { $response?: { headers?: Record<string, string> } }) | null;
  const status = e?.$metadata?.httpStatusCode;
  if (!e || typeof e !== 'object' || status === undefined) return undefined;
  // The SDK's JSON parse of the body failed, or the body named no error type.
  if (e.name !== 'SyntaxError' && e.name !== 'Unknown') return undefined;
  const type = e.$response?.headers?.['content-type'];
  return `HTTP ${status}${type ? ` (${type.split(';')[0]})` : ''}`;
}

/** The engine answered that it has no such operation: not a permission problem. */
export function isUnsupportedOperation(err: unknown): boolean {
  const cause = sdkError(err);
  return cause?.name === 'UnknownOperationException' || /unknown operation|not (yet )?(supported|implemented)/i.test(cause?.message ?? '');
}

/** A failure that shows the call never reached DynamoDB: nothing answered at the address (a refused connection, a name that does not resolve). */
export function neverSent(err: unknown): boolean {
  for (let e = err as { code?: string; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (e.code === 'ECONNREFUSED' || e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN' || e.code === 'UND_ERR_CONNECT_TIMEOUT') return true;
  }
  return false;
}
