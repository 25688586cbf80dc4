/**
 * Sorts an error thrown by an AWS SDK v3 client (or a plain HTTP client) into retry, reject or unexpected.
 *
 * Unexpected errors (a TypeError, a broken contract) are not the destination's answer: they propagate so that Lambda
 * bisects the batch instead of dead-lettering records for a bug of ours.
 */

export type ErrorClass = 'retry' | 'reject' | 'unexpected';

const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestThrottled',
  'RequestThrottledException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'SlowDown',
  'LimitExceededException',
  'KMSThrottlingException',
  'KmsThrottled',
  // The rest of the SDK's own throttling list (@smithy service-error-classification): 400s, so without them here a
  // plug-in's throttled call (a DynamoDB TransactionInProgressException, say) was REJECTED and dead-lettered at once.
  'BandwidthLimitExceeded',
  'EC2ThrottledException',
  'PriorRequestNotComplete',
  'TransactionInProgressException',
]);

/** Throttling under another name (`KMS.ThrottlingException`, `KMS.KMSThrottlingException` as S3 passes them on). */
const THROTTLING_NAME = /throttl/i;

const TRANSIENT = new Set([
  'InternalFailure',
  'InternalError',
  'InternalException',
  'InternalServerError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  // Our own aborts: a request still in flight at its round's deadline (SDK v3, OpenSearch client, shared/retry).
  'AbortError',
  'RequestAbortedError',
  'DeadlineExceeded',
  'ConditionalRequestConflict',
  // S3's 409 "A conflicting conditional operation is currently in progress against this resource. Please try again."
  'OperationAborted',
  'ConnectionError',
  'NoLivingConnectionsError',
  // An answer labelled JSON that is not (cut off, or a proxy's page): the request may well have been fine.
  'DeserializationError',
]);

/**
 * OpenSearch error types that are refusals for now, not for good. A cluster block stops writes while the cluster
 * protects itself (disk flood stage, JVM memory pressure, an operator's write block): 403 (or 429 at the flood stage),
 * yet the same write succeeds once the block is lifted, so the writer backs off and retries.
 */
const OPENSEARCH_TRANSIENT_TYPES = new Set(['cluster_block_exception', 'index_create_block_exception']);

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ERR_HTTP2_STREAM_ERROR',
  // Node's own: happy-eyeballs connection attempts all timed out; a response cut off mid-body.
  'ERR_SOCKET_CONNECTION_TIMEOUT',
  'ERR_STREAM_PREMATURE_CLOSE',
  // undici (Node's fetch): the network error is the `cause` of a `TypeError: fetch failed`.
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

interface ErrorShape {
  name?: unknown;
  code?: unknown;
  $fault?: unknown;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: unknown; clockSkewCorrected?: unknown };
  statusCode?: unknown;
  meta?: { statusCode?: unknown; body?: unknown };
}

export function httpStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const shape = error as ErrorShape;
  const status = shape.$metadata?.httpStatusCode ?? shape.statusCode ?? shape.meta?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

export function errorNameOf(error: unknown): string {
  if (typeof error !== 'object' || error === null) return String(error);
  const { name, code } = error as ErrorShape;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
  return typeof name === 'string' ? name : 'Error';
}

/** The `error.type` of an OpenSearch client's ResponseError body (`{ error: { type, reason }, status }`). */
export function openSearchErrorTypeOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const body = (error as ErrorShape).meta?.body;
  if (typeof body !== 'object' || body === null) return undefined;
  const type = (body as { error?: { type?: unknown } }).error?.type;
  return typeof type === 'string' ? type : undefined;
}

/** Whether an OpenSearch error type (of a response or of a `_bulk` item) is a temporary refusal. */
export function isTransientOpenSearchType(type: string | undefined): boolean {
  return type !== undefined && OPENSEARCH_TRANSIENT_TYPES.has(type);
}

/** A one-line description for dead letters and logs: name, status and message. */
export function describeError(error: unknown): string {
  const status = httpStatusOf(error);
  const message = error instanceof Error ? error.message : String(error);
  return `${errorNameOf(error)}${status !== undefined ? ` (HTTP ${status})` : ''}: ${message}`.slice(0, 1_000);
}

/**
 * Retry, reject or unexpected. An error that is no service's answer itself is judged by what it wraps: the `cause`
 * (Node's fetch throws `TypeError: fetch failed` with the socket's ECONNRESET as its cause) and an AggregateError's
 * `errors` (every one of them retryable): a network failure is retried however it is wrapped, and only that; a wrapped
 * refusal stays unexpected, since the wrapper may be our own bug.
 */
export function classifyError(error: unknown): ErrorClass {
  const own = classifyOwn(error);
  if (own !== 'unexpected') return own;
  return wrapsRetryable(error, 0) ? 'retry' : 'unexpected';
}

const MAX_CAUSE_DEPTH = 5;

function wrapsRetryable(error: unknown, depth: number): boolean {
  if (typeof error !== 'object' || error === null || depth >= MAX_CAUSE_DEPTH) return false;
  const { cause, errors } = error as { cause?: unknown; errors?: unknown };
  if (cause !== undefined && cause !== error && (classifyOwn(cause) === 'retry' || wrapsRetryable(cause, depth + 1))) return true;
  return (
    Array.isArray(errors) &&
    errors.length > 0 &&
    errors.every((inner) => inner !== error && (classifyOwn(inner) === 'retry' || wrapsRetryable(inner, depth + 1)))
  );
}

function classifyOwn(error: unknown): ErrorClass {
  if (typeof error !== 'object' || error === null) return 'unexpected';
  const shape = error as ErrorShape;
  const name = errorNameOf(error);
  const status = httpStatusOf(error);
  if (THROTTLING.has(name) || THROTTLING_NAME.test(name) || TRANSIENT.has(name) || NETWORK_CODES.has(name)) return 'retry';
  if (isTransientOpenSearchType(openSearchErrorTypeOf(error))) return 'retry';
  if (shape.$retryable !== undefined && shape.$retryable !== null) return 'retry';
  // Refused for a clock off by minutes (RequestTimeTooSkewed, Signature expired): the SDK has taken the server's time
  // from the answer, so the next attempt is signed right. Its own retry would make it, but ours is the only one.
  if (shape.$metadata?.clockSkewCorrected === true) return 'retry';
  if (status === 429 || status === 408 || (status !== undefined && status >= 500)) return 'retry';
  if (shape.$fault === 'server') return 'retry';
  // A service's answer (4xx): the request itself is wrong or not allowed, and sending it again will not help.
  if (shape.$fault === 'client' || (status !== undefined && status >= 400)) return 'reject';
  return 'unexpected';
}
