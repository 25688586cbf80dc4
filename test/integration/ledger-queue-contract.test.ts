import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { startFauxqs } from 'fauxqs';
import { afterAll, beforeAll } from 'vitest';
import { FifoReader } from '../../destinations/ledger-queue/fifo-reader';
import { ledgerQueueRuntime } from '../../destinations/ledger-queue/runtime';
import { MAX_BATCH_BYTES, MAX_BATCH_ENTRIES, SqsFifoQueue } from '../../destinations/ledger-queue/sqs-fifo-queue';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/emulators/dynamodb-local';
import { describeDestinationContract } from '../support/destination-contract';
import { clientFaultState, contractFaults } from '../support/faulty-client';
import { faultySqs } from '../support/faulty-sqs';

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

describeDestinationContract(
  ledgerQueueRuntime,
  async ({ retrier }) => {
    queues += 1;
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({ QueueName: `contract-${queues}.fifo`, Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'false' } }),
    );
    const state = clientFaultState();
    const reader = new FifoReader(sqs, QueueUrl as string);
    return {
      destination: new SqsFifoQueue({ client: faultySqs(sqs, state), queueUrl: QueueUrl as string, retrier }),
      faults: contractFaults(state),
      readBack: async () => (await reader.drain()).map(({ body }) => ({ accountId: body.accountId, version: body.version })),
      entriesPerCall: () => state.entriesPerCall,
      close: async () => undefined,
    };
  },
  { maxEntriesPerCall: MAX_BATCH_ENTRIES, maxRecordBytes: MAX_BATCH_BYTES },
);
