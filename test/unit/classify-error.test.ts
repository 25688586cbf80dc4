import { EventBridgeServiceException, InternalException, ThrottlingException } from '@aws-sdk/client-eventbridge';
import { createServer, type Server } from 'node:http';
import { PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { QueueDoesNotExist, SQSServiceException } from '@aws-sdk/client-sqs';
import { errors } from '@opensearch-project/opensearch';
import { describe, expect, it } from 'vitest';
import {
  classifyError, describeError, errorNameOf, httpStatusOf, isTransientOpenSearchType, openSearchErrorTypeOf,
} from '../../shared/retry/classify-error';
import { DeadlineExceeded } from '../../shared/retry/deadline';
import { S3AuditLog } from '../../consumers/audit/s3-audit-log';
import type { ChangeRecord } from '../../shared/change-record/change-record';
import { Retrier } from '../../shared/retry/retrier';
import { accountHistory } from '../support/histories';

/** What an AWS SDK v3 client throws for a service's error answer: a ServiceException with `$metadata` filled in. */
const metadata = (httpStatusCode: number) => ({ httpStatusCode, requestId: 'req-1', attempts: 3, totalRetryDelay: 250 });

function eventBridgeError(name: string, status: number, message: string): EventBridgeServiceException {
  return new EventBridgeServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: metadata(status), message });
}

function s3Error(name: string, status: number, message: string): S3ServiceException {
  return new S3ServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: metadata(status), message });
}

/** An OpenSearch client error answer, as the client builds it from the HTTP response. */
function openSearchResponseError(statusCode: number, type: string): Error {
  const meta = {
    body: { error: { type, reason: `${type} happened`, root_cause: [{ type, reason: `${type} happened` }] }, status: statusCode },
    statusCode,
    headers: {},
    meta: {},
    warnings: null,
  };
  return new errors.ResponseError(meta as unknown as ConstructorParameters<typeof errors.ResponseError>[0]);
}

describe('classifyError', () => {
  it.each([
    ['EventBridge ThrottlingException (400)', new ThrottlingException({ message: 'Rate exceeded', $metadata: metadata(400) })],
    ['EventBridge InternalException (500)', new InternalException({ message: 'Internal error', $metadata: metadata(500) })],
    ['InternalFailure (500)', eventBridgeError('InternalFailure', 500, 'The request processing has failed')],
    ['S3 SlowDown (503)', s3Error('SlowDown', 503, 'Please reduce your request rate.')],
    ['S3 InternalError (500)', s3Error('InternalError', 500, 'We encountered an internal error.')],
    ['an unmodelled 502 from a proxy', s3Error('Unknown', 502, 'Bad Gateway')],
    ['SQS RequestThrottled (400)', new SQSServiceException({ name: 'RequestThrottled', $fault: 'client', $metadata: metadata(400), message: 'throttled' })],
    ['a 429 with an unknown name', eventBridgeError('SomethingNew', 429, 'Too Many Requests')],
    ['a 408 request time-out', s3Error('RequestTimeoutOfSomeKind', 408, 'timed out')],
    ['S3 ConditionalRequestConflict (409)', s3Error('ConditionalRequestConflict', 409, 'A conflicting operation occurred.')],
    ['S3 OperationAborted (409)', s3Error('OperationAborted', 409, 'A conflicting conditional operation is currently in progress against this resource. Please try again.')],
  ])('retries %s', (_, error) => {
    expect(classifyError(error)).toBe('retry');
  });

  it('retries an error the SDK marks $retryable, even with a client status', () => {
    const error = eventBridgeError('ConcurrentModificationException', 409, 'busy');
    (error as { $retryable?: unknown }).$retryable = { throttling: false };
    expect(classifyError(error)).toBe('retry');
    expect(classifyError(eventBridgeError('ConcurrentModificationException', 409, 'busy'))).toBe('reject');
  });

  it.each([
    ['AccessDeniedException (403)', eventBridgeError('AccessDeniedException', 403, 'User is not authorized to perform: events:PutEvents')],
    ['ValidationException (400)', eventBridgeError('ValidationException', 400, 'Detail is malformed')],
    // The S3 adapter turns a 412 on a create-only PutObject into a duplicate before it classifies anything else.
    ['S3 PreconditionFailed (412)', s3Error('PreconditionFailed', 412, 'At least one of the pre-conditions you specified did not hold')],
    ['S3 NoSuchBucket (404)', s3Error('NoSuchBucket', 404, 'The specified bucket does not exist')],
    ['SQS QueueDoesNotExist (400)', new QueueDoesNotExist({ message: 'The specified queue does not exist.', $metadata: metadata(400) })],
  ])('rejects %s', (_, error) => {
    expect(classifyError(error)).toBe('reject');
  });

  it.each(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN'])('retries a Node network error %s', (code) => {
    const error = Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code, errno: -111, syscall: 'connect' });
    expect(errorNameOf(error)).toBe(code);
    expect(classifyError(error)).toBe('retry');
  });

  it('retries the SDK http handler time-outs and aborts', () => {
    expect(classifyError(Object.assign(new Error('socket timed out'), { name: 'TimeoutError' }))).toBe('retry');
    expect(classifyError(Object.assign(new Error('Request aborted'), { name: 'AbortError' }))).toBe('retry');
  });

  it('classifies OpenSearch client errors by their status', () => {
    const tooMany = openSearchResponseError(429, 'es_rejected_execution_exception');
    expect(httpStatusOf(tooMany)).toBe(429);
    expect(classifyError(tooMany)).toBe('retry');
    expect(classifyError(openSearchResponseError(503, 'cluster_block_exception'))).toBe('retry');
    const mapping = openSearchResponseError(400, 'mapper_parsing_exception');
    expect(httpStatusOf(mapping)).toBe(400);
    expect(classifyError(mapping)).toBe('reject');
    expect(classifyError(openSearchResponseError(403, 'security_exception'))).toBe('reject');
  });

  // A write block lifts when the cluster recovers (disk freed, JVM pressure down, the operator's block removed).
  it('retries OpenSearch write blocks: 403 and 429 cluster_block_exception, 403 index_create_block_exception', () => {
    expect(classifyError(openSearchResponseError(403, 'cluster_block_exception'))).toBe('retry');
    expect(classifyError(openSearchResponseError(429, 'cluster_block_exception'))).toBe('retry');
    expect(classifyError(openSearchResponseError(403, 'index_create_block_exception'))).toBe('retry');
    expect(openSearchErrorTypeOf(openSearchResponseError(403, 'cluster_block_exception'))).toBe('cluster_block_exception');
    expect(isTransientOpenSearchType('cluster_block_exception')).toBe(true);
    expect(isTransientOpenSearchType('security_exception')).toBe(false);
    expect(isTransientOpenSearchType(undefined)).toBe(false);
  });

  it('retries a request aborted at its deadline, whichever client aborted it', () => {
    type Meta = NonNullable<ConstructorParameters<typeof errors.RequestAbortedError>[1]>;
    const meta = { body: null, statusCode: null, headers: null, meta: {}, warnings: null } as unknown as Meta;
    expect(classifyError(new errors.RequestAbortedError('Request aborted', meta))).toBe('retry');
    expect(classifyError(new DeadlineExceeded(Date.now()))).toBe('retry');
  });

  it('retries an OpenSearch answer that is not the JSON it says it is (cut off, a proxy\'s page): thrown, it failed the whole batch', () => {
    expect(classifyError(new errors.DeserializationError('Unexpected end of JSON input', '{"took":3,"errors":fal'))).toBe('retry');
  });

  it('retries OpenSearch connection, time-out and no-living-connection errors', () => {
    // What the client attaches when no response came back.
    type Meta = NonNullable<ConstructorParameters<typeof errors.ConnectionError>[1]>;
    const meta = { body: null, statusCode: null, headers: null, meta: {}, warnings: null } as unknown as Meta;
    expect(classifyError(new errors.ConnectionError('connect ECONNREFUSED', meta))).toBe('retry');
    expect(classifyError(new errors.TimeoutError('Request timed out', meta))).toBe('retry');
    expect(classifyError(new errors.NoLivingConnectionsError('There are no living connections', meta))).toBe('retry');
    expect(describeError(new errors.TimeoutError('Request timed out', meta))).toBe('TimeoutError: Request timed out');
  });

  it('calls anything else unexpected, so that it propagates', () => {
    expect(classifyError(new TypeError("Cannot read properties of undefined (reading 'version')"))).toBe('unexpected');
    expect(classifyError(new RangeError('Invalid array length'))).toBe('unexpected');
    expect(classifyError(new Error('plain'))).toBe('unexpected');
    expect(classifyError('ThrottlingException')).toBe('unexpected');
    expect(classifyError(undefined)).toBe('unexpected');
    expect(classifyError(null)).toBe('unexpected');
    expect(classifyError(429)).toBe('unexpected');
    // A code that is not a network error does not make a TypeError retryable.
    expect(classifyError(Object.assign(new TypeError('bad'), { code: 'ERR_INVALID_ARG_TYPE' }))).toBe('unexpected');
  });
});

describe('describeError', () => {
  it('names the error, its HTTP status and its message', () => {
    const error = eventBridgeError('AccessDeniedException', 403, 'User is not authorized');
    expect(describeError(error)).toBe('AccessDeniedException (HTTP 403): User is not authorized');
    expect(describeError(openSearchResponseError(429, 'es_rejected_execution_exception'))).toBe(
      'ResponseError (HTTP 429): es_rejected_execution_exception: [es_rejected_execution_exception] Reason: es_rejected_execution_exception happened',
    );
  });

  it('uses the network code as the name and leaves out a status it does not have', () => {
    const error = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    expect(describeError(error)).toBe('ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9');
    expect(describeError(new TypeError('x is not a function'))).toBe('TypeError: x is not a function');
  });

  it('describes a thrown non-error and bounds the length', () => {
    expect(describeError('just a string')).toBe('just a string: just a string');
    const long = describeError(new Error('x'.repeat(5_000)));
    expect(long).toHaveLength(1_000);
    expect(long.startsWith('Error: xxx')).toBe(true);
  });
});

/**
 * S3 20 minutes ahead of this machine: it refuses a request signed more than 15 minutes off (403
 * RequestTimeTooSkewed, with its own time in the answer), as S3 does, and takes any other PutObject.
 */
function s3AheadOfUs(): Promise<{ server: Server; endpoint: string; answers: number[] }> {
  const ahead = 20 * 60_000;
  const answers: number[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const now = Date.now() + ahead;
      const amzDate = String(req.headers['x-amz-date']);
      const signedAt = Date.parse(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
      const skewed = Math.abs(now - signedAt) > 15 * 60_000;
      answers.push(skewed ? 403 : 200);
      res.writeHead(skewed ? 403 : 200, { 'content-type': 'application/xml', date: new Date(now).toUTCString() });
      res.end(
        skewed
          ? `<?xml version="1.0" encoding="UTF-8"?><Error><Code>RequestTimeTooSkewed</Code><Message>The difference between the request time and the current time is too large.</Message><RequestTime>${amzDate}</RequestTime><ServerTime>${new Date(now).toISOString()}</ServerTime><MaxAllowedSkewMilliseconds>900000</MaxAllowedSkewMilliseconds></Error>`
          : '',
      );
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, endpoint: `http://127.0.0.1:${(server.address() as { port: number }).port}`, answers })));
}

describe('a refusal for clock skew that the SDK has corrected', () => {
  // The SDK takes the server's time from the answer and marks the error `clockSkewCorrected`; its own retry would then
  // succeed, but destination clients make one attempt (maxAttempts: 1), so the adapter's retry must be the one.
  it('is retried, not REJECTED: the audit adapter delivers every concurrent PutObject at its second attempt', async () => {
    const s3 = await s3AheadOfUs();
    const client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, maxAttempts: 1, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    try {
      const skewed = await client.send(new PutObjectCommand({ Bucket: 'audit', Key: 'probe', Body: '{}' })).catch((error: unknown) => error);
      expect(skewed).toMatchObject({ name: 'RequestTimeTooSkewed', $metadata: { httpStatusCode: 403, clockSkewCorrected: true } });
      expect(classifyError(skewed)).toBe('retry');

      const skewedAgain = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, maxAttempts: 1, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
      const audit = new S3AuditLog({ client: skewedAgain, bucket: 'audit', retrier: new Retrier({ policy: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1 } }) });
      const deliveries = ['A', 'B', 'C'].map((id) => ({ record: accountHistory(id, 1)[0] as ChangeRecord, healed: false, replay: false, epoch: 'live' }));
      const results = await audit.deliver(deliveries);
      skewedAgain.destroy();

      expect(s3.answers.filter((status) => status === 403)).toHaveLength(1 + 3);
      expect(results).toEqual([{ status: 'delivered' }, { status: 'delivered' }, { status: 'delivered' }]);
    } finally {
      client.destroy();
      s3.server.close();
    }
  });

  it('stays a refusal when the SDK could not correct the clock (no server time in the answer)', () => {
    expect(classifyError(s3Error('RequestTimeTooSkewed', 403, 'The difference between the request time and the current time is too large.'))).toBe('reject');
  });
});
