import { randomUUID } from 'node:crypto';
import type { CallFault } from './fault-proxy';

/**
 * SQS failing `action` calls on one queue as it does on an internal error, in the AWS JSON 1.0 protocol SDK v3 speaks
 * to SQS: HTTP 500, `__type` InternalFailure, and `x-amzn-query-error: InternalError;Receiver`, the code the Query API
 * has always given it. SQS still sends that header because the SDK is query-compatible (SQS moved from the Query
 * protocol): the SDK names the error after the header's code, so a client sees `InternalError` (`$fault: 'server'`),
 * as it did before the move. Calls on other queues (the dead-letter queue on the same emulator) are never hit.
 */
export function sqsInternalError(action: string, queueUrl: string): CallFault {
  return {
    matches(headers, body) {
      if (headers['x-amz-target'] !== `AmazonSQS.${action}`) return false;
      try {
        return (JSON.parse(body.toString('utf8')) as { QueueUrl?: unknown }).QueueUrl === queueUrl;
      } catch {
        return false;
      }
    },
    answer: () => ({
      status: 500,
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amzn-requestid': randomUUID(),
        'x-amzn-query-error': 'InternalError;Receiver',
      },
      body: JSON.stringify({ __type: 'com.amazon.coral.service#InternalFailure', message: 'We encountered an internal error. Please try again.' }),
    }),
  };
}
