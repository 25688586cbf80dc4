import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { ConsumerConfig } from '../config/consumer-config';
import { DynamoDBLedger } from '../ledger/dynamodb-ledger';
import { SqsDeadLetterQueue } from '../dead-letter/sqs-dead-letter-queue';
import { Retrier } from '../retry/retrier';
import { RequestDeadline } from '../async/request-deadline';

/**
 * Clients of a destination's own service are built with `maxAttempts: 1`: its adapter retries with the invocation's
 * remaining time in view, and counts every retry. The ledger and the queue keep the SDK's standard retries, within the
 * invocation's time (`RequestDeadline`).
 */
export const DESTINATION_CLIENT_DEFAULTS = { maxAttempts: 1 } as const;

/**
 * Time limits of every request a consumer sends (SDK clients and the OpenSearch client). Lambda kills an invocation at
 * its timeout, 10 s at the least the configuration allows; a service that stops answering must cost a request well
 * before that, as a retryable `TimeoutError`, so the consumer can still retry, dead-letter and answer. The request
 * limit plus the consumer's retry reserve (3 s) stays under the shortest function timeout. Deadlines the adapters pass
 * as abort signals still apply on top: whichever comes first ends the request.
 */
export const REQUEST_TIMEOUTS = { connectionTimeoutMs: 2_000, requestTimeoutMs: 6_000 } as const;

/**
 * A fresh HTTP handler (one per client: `destroy()` closes its sockets) enforcing `REQUEST_TIMEOUTS`. Without
 * `throwOnRequestTimeout` the SDK's `requestTimeout` only logs a warning and the request waits on.
 */
export function timeBoundRequestHandler(): NodeHttpHandler {
  return new NodeHttpHandler({
    connectionTimeout: REQUEST_TIMEOUTS.connectionTimeoutMs,
    requestTimeout: REQUEST_TIMEOUTS.requestTimeoutMs,
    throwOnRequestTimeout: true,
  });
}

export function endpointOptions(endpoint: string | undefined): { endpoint?: string } {
  return endpoint === undefined ? {} : { endpoint };
}

/** The ledger and dead-letter queue of one consumer, shared by all three destinations. */
export function ledgerAndQueue(config: ConsumerConfig) {
  const dynamodb = new DynamoDBClient({
    region: config.region,
    requestHandler: timeBoundRequestHandler(),
    ...endpointOptions(config.endpoints.dynamodb),
  });
  const sqs = new SQSClient({ region: config.region, requestHandler: timeBoundRequestHandler(), ...endpointOptions(config.endpoints.sqs) });
  // Moved by the consumer per batch: the SDK's retries of these two clients alone would outlast the invocation.
  const requestDeadline = new RequestDeadline();
  const ledger = new DynamoDBLedger({
    client: dynamodb,
    tableName: config.ledgerTable,
    destination: config.destination,
    epoch: config.epoch.id,
    requestDeadline,
  });
  const deadLetters = new SqsDeadLetterQueue({ client: sqs, queueUrl: config.deadLetterQueueUrl, requestDeadline });
  const retrier = new Retrier({ policy: config.retry });
  return { ledger, deadLetters, retrier, requestDeadline, clients: [dynamodb, sqs] };
}
