import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { startFauxqs } from 'fauxqs';
import { afterAll, beforeAll } from 'vitest';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/emulators/dynamodb-local';

/**
 * fauxqs for one test file (started before its tests, stopped after), and FIFO queues on it as the ledger-queue
 * destination expects them: content-based deduplication off, so only the message's own deduplication id counts.
 */
export function useFauxqsFifo(prefix: string): { sqs: () => SQSClient; createQueue: () => Promise<string> } {
  let fauxqs: Awaited<ReturnType<typeof startFauxqs>>;
  let sqs: SQSClient;
  let queues = 0;
  beforeAll(async () => {
    fauxqs = await startFauxqs({ port: 0, logger: false });
    sqs = new SQSClient({ endpoint: `http://127.0.0.1:${fauxqs.port}`, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  });
  afterAll(async () => {
    sqs.destroy();
    await fauxqs.stop();
  });
  return {
    sqs: () => sqs,
    async createQueue() {
      queues += 1;
      const { QueueUrl } = await sqs.send(
        new CreateQueueCommand({ QueueName: `${prefix}-${queues}.fifo`, Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'false' } }),
      );
      return QueueUrl as string;
    },
  };
}
