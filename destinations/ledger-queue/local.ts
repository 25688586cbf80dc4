import { CreateQueueCommand, DeleteQueueCommand } from '@aws-sdk/client-sqs';
import type { LocalPlugin } from '../../local/plugins/local-plugin';
import { faultProfile, injectedOf } from '../../local/standins/fault-spec';
import { SQS_SEND_FAULTS, startSqsFaultProxy } from '../../local/standins/sqs-fault-proxy';
import { QueueReader } from '../../local/standins/queue-reader';
import type { LedgerQueueMessage } from './runtime';

/**
 * The ledger queue on fauxqs (FIFO, deduplication by id, as the stack creates it), read back by receiving it. The
 * function reaches SQS through the kit's SQS fault proxy: `--fail ledger-queue:<rate>` fails that fraction of its
 * SendMessageBatch calls as SQS fails them, and `--destination-faults` takes SQS's faults (`SQS_SEND_FAULTS`).
 */
export const ledgerQueueLocal: LocalPlugin = {
  faults: SQS_SEND_FAULTS,
  async start({ sqs, endpoints, suffix }) {
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({
        QueueName: `ordered-fanout-ledger-queue${suffix}.fifo`,
        Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'false' },
      }),
    );
    const queueUrl = QueueUrl as string;
    const reader = new QueueReader<LedgerQueueMessage>(sqs, queueUrl);
    const proxy = await startSqsFaultProxy(endpoints.fauxqs, queueUrl);
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
      failCalls: (rate, seed) => proxy.setFaults({ callFailureRate: rate, seed }),
      injectFaults: (rules, seed) => proxy.setFaults(faultProfile(SQS_SEND_FAULTS.kinds, rules, seed)),
      injectedCounts: () => injectedOf(proxy.stats, ['failedCalls', 'throttledCalls', 'failedEntries', 'heldCalls', 'abandonedCalls']),
      stop: async () => {
        await proxy.stop();
        await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl })).catch(() => undefined);
      },
    };
  },
};
