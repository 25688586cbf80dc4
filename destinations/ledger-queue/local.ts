import { CreateQueueCommand, DeleteQueueCommand } from '@aws-sdk/client-sqs';
import type { LocalPlugin } from '../../local/plugins/local-plugin';
import { FifoReader } from './fifo-reader';

/** The ledger queue on fauxqs (FIFO, deduplication by id, as the stack creates it), read back by receiving it. */
export const ledgerQueueLocal: LocalPlugin = {
  async start({ sqs, suffix }) {
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({
        QueueName: `ordered-fanout-ledger-queue${suffix}.fifo`,
        Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'false' },
      }),
    );
    const queueUrl = QueueUrl as string;
    const reader = new FifoReader(sqs, queueUrl);
    return {
      environment: { LEDGER_QUEUE_URL: queueUrl },
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
      stop: async () => {
        await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl })).catch(() => undefined);
      },
    };
  },
};
