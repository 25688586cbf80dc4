import { CreateQueueCommand, DeleteQueueCommand } from '@aws-sdk/client-sqs';
import type { LocalPlugin } from '../../local/plugins/local-plugin';
import { startFaultProxy } from '../../local/standins/fault-proxy';
import { sqsInternalError } from '../../local/standins/sqs-faults';
import { QueueReader } from '../../local/standins/queue-reader';
import type { LedgerQueueMessage } from './runtime';

/**
 * The ledger queue on fauxqs (FIFO, deduplication by id, as the stack creates it), read back by receiving it. The
 * function reaches SQS through a fault proxy, so `--fail ledger-queue:<rate>` fails that fraction of its
 * SendMessageBatch calls as SQS fails them.
 */
export const ledgerQueueLocal: LocalPlugin = {
  async start({ sqs, endpoints, suffix }) {
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({
        QueueName: `ordered-fanout-ledger-queue${suffix}.fifo`,
        Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'false' },
      }),
    );
    const queueUrl = QueueUrl as string;
    const reader = new QueueReader<LedgerQueueMessage>(sqs, queueUrl);
    const proxy = await startFaultProxy(endpoints.fauxqs, sqsInternalError('SendMessageBatch', queueUrl));
    return {
      environment: { LEDGER_QUEUE_URL: queueUrl, AWS_ENDPOINT_URL_SQS: proxy.endpoint },
      async readBack() {
        const received = await reader.drain();
        return received.map(({ body, sentAt }) => ({
          accountId: body.accountId,
          version: body.version,
          healed: body.healed,
          ...(body.newImage === null ? {} : { balance: body.newImage.balance }),
          at: sentAt,
        }));
      },
      failCalls: (rate, seed) => proxy.setFailureRate(rate, seed),
      stop: async () => {
        await proxy.stop();
        await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl })).catch(() => undefined);
      },
    };
  },
};
