import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { ConsumerConfig } from '../config/consumer-config';
import { DynamoDBLedger } from '../ledger/dynamodb-ledger';
import { SqsDeadLetterQueue } from '../dead-letter/sqs-dead-letter-queue';
import { Retrier } from '../retry/retrier';

/**
 * Clients of a destination's own service are built with `maxAttempts: 1`: its adapter retries with the invocation's
 * remaining time in view, and counts every retry. The ledger and the queue keep the SDK's standard retries.
 */
export const DESTINATION_CLIENT_DEFAULTS = { maxAttempts: 1 } as const;

export function endpointOptions(endpoint: string | undefined): { endpoint?: string } {
  return endpoint === undefined ? {} : { endpoint };
}

/** The ledger and dead-letter queue of one consumer, shared by all three destinations. */
export function ledgerAndQueue(config: ConsumerConfig) {
  const dynamodb = new DynamoDBClient({ region: config.region, ...endpointOptions(config.endpoints.dynamodb) });
  const sqs = new SQSClient({ region: config.region, ...endpointOptions(config.endpoints.sqs) });
  const ledger = new DynamoDBLedger({
    client: dynamodb,
    tableName: config.ledgerTable,
    destination: config.destination,
    epoch: config.epoch.id,
  });
  const deadLetters = new SqsDeadLetterQueue({ client: sqs, queueUrl: config.deadLetterQueueUrl });
  const retrier = new Retrier({ policy: config.retry });
  return { ledger, deadLetters, retrier, clients: [dynamodb, sqs] };
}
