import { SQSClient } from '@aws-sdk/client-sqs';
import { integer, requiredString, type Env } from '../../shared/config/env';
import type { RuntimePlugin } from '../../shared/destination-plugin/runtime-plugin';
import { MAX_BATCH_BYTES, SqsFifoQueue } from './sqs-fifo-queue';

export interface LedgerQueueSettings {
  readonly queueUrl: string;
  readonly maxMessageBytes: number;
}

/** The runtime half of the ledger-queue plug-in: SQS FIFO, `in-order`. */
export const ledgerQueueRuntime: RuntimePlugin<LedgerQueueSettings> = {
  name: 'ledger-queue',
  mode: 'in-order',
  readSettings: (env: Env) => ({
    queueUrl: requiredString(env, 'LEDGER_QUEUE_URL'),
    maxMessageBytes: integer(env, 'LEDGER_QUEUE_MAX_MESSAGE_BYTES', MAX_BATCH_BYTES, { min: 1_024, max: MAX_BATCH_BYTES }),
  }),
  createDestination(settings, { retrier, clientConfig }) {
    const client = new SQSClient(clientConfig('AWS_ENDPOINT_URL_SQS'));
    const destination = new SqsFifoQueue({ client, queueUrl: settings.queueUrl, retrier, maxMessageBytes: settings.maxMessageBytes });
    return { destination, close: () => client.destroy() };
  },
};
