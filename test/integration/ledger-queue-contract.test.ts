import type { LedgerQueueMessage } from '../../destinations/ledger-queue/runtime';
import { QueueReader } from '../../local/standins/queue-reader';
import { ledgerQueueRuntime, MAX_BATCH_BYTES, MAX_BATCH_ENTRIES, SqsFifoQueue } from '../../destinations/ledger-queue/runtime';
import { describeDestinationContract } from '../support/destination-contract';
import { clientFaultState, contractFaults } from '../support/faulty-client';
import { faultySqs } from '../support/faulty-sqs';
import { useFauxqsFifo } from '../support/fauxqs-fifo';

const fifo = useFauxqsFifo('contract');

describeDestinationContract(
  ledgerQueueRuntime,
  async ({ retrier }) => {
    const sqs = fifo.sqs();
    const queueUrl = await fifo.createQueue();
    const state = clientFaultState();
    const reader = new QueueReader<LedgerQueueMessage>(sqs, queueUrl);
    return {
      destination: new SqsFifoQueue({ client: faultySqs(sqs, state), queueUrl, retrier }),
      faults: contractFaults(state),
      readBack: async () => (await reader.drain()).map(({ body }) => ({ accountId: body.accountId, version: body.version })),
      entriesPerCall: () => state.entriesPerCall,
      close: async () => undefined,
    };
  },
  { maxEntriesPerCall: MAX_BATCH_ENTRIES, maxRecordBytes: MAX_BATCH_BYTES },
);
