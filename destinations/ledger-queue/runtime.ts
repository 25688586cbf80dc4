import { SendMessageBatchCommand, SQSClient, type SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import { integer, requiredString } from '../../shared/config/env';
import { deliverInAccountWaves } from '../../shared/destination-plugin/account-waves';
import { sendInBatches, type EntryAnswer } from '../../shared/destination-plugin/batch-calls';
import type { RuntimePlugin } from '../../shared/destination-plugin/runtime-plugin';
import type { DeliverOptions, Delivery, Destination } from '../../shared/ordering/ports';
import type { Retrier } from '../../shared/retry/retrier';

/** SendMessageBatch limits: 10 entries, and 1 MiB of message bodies per call and per message (256 KiB until 2025). */
export const MAX_BATCH_ENTRIES = 10;
export const MAX_BATCH_BYTES = 1024 * 1024;
/** Entry error codes a later attempt can get past; any other code with `SenderFault` is a refusal of the message. */
const RETRYABLE_ENTRY_ERRORS = new Set(['ThrottlingException', 'RequestThrottled', 'KmsThrottled', 'KMS.ThrottlingException', 'InternalError', 'ServiceUnavailable']);
/** Marks the body format, so the ledger service can tell versions of it apart. */
export const LEDGER_QUEUE_FORMAT = 'ordered-fanout.ledger-queue/1' as const;

/**
 * A message's body: one account version (`newImage` null for a deletion; `healed`: rebuilt from its neighbours, its own
 * record never came; `replay`: sent by a replay). `eventId` is also the MessageDeduplicationId, so at most 128 characters
 * (a long account id keeps its tail): SQS drops a repeat within 5 minutes, a receiver drops a later one by it.
 */
export function toLedgerQueueMessage({ record, healed, replay, epoch }: Delivery) {
  const { accountId, version, previousVersion, kind, createdAtMicros } = record;
  const eventId = `${accountId}#${version}`.slice(-128);
  const newImage = record.newImage ?? null;
  return { format: LEDGER_QUEUE_FORMAT, eventId, accountId, version, previousVersion, kind, newImage, createdAtMicros, healed, replay, epoch };
}
export type LedgerQueueMessage = ReturnType<typeof toLedgerQueueMessage>;

/**
 * `in-order` into an SQS FIFO queue: MessageGroupId = account id, so SQS keeps each account's order and hands it to one
 * receiver at a time. A partly failed call could still reorder an account, so calls go in account waves.
 */
export class SqsFifoQueue implements Destination {
  readonly name = 'ledger-queue';
  readonly mode = 'in-order';
  /** `maxMessageBytes`: the queue's MaximumMessageSize; a bigger body is refused unsent. @default 1048576 */
  constructor(private readonly options: { client: SQSClient; queueUrl: string; retrier: Retrier; maxMessageBytes?: number }) {}

  deliver(deliveries: readonly Delivery[], options: DeliverOptions = {}) {
    const { client, queueUrl, retrier, maxMessageBytes = MAX_BATCH_BYTES } = this.options;
    const limits = { maxEntries: MAX_BATCH_ENTRIES, maxBytes: Math.min(maxMessageBytes, MAX_BATCH_BYTES) };
    const toEntry = (delivery: Delivery, index: number) => {
      const message = toLedgerQueueMessage(delivery);
      const entry = { Id: String(index), MessageBody: JSON.stringify(message), MessageGroupId: message.accountId, MessageDeduplicationId: message.eventId };
      return { entry, bytes: Buffer.byteLength(entry.MessageBody) };
    };
    const send = async (Entries: SendMessageBatchRequestEntry[], abortSignal?: AbortSignal): Promise<EntryAnswer[]> => {
      const { Successful = [], Failed = [] } = await client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries }), { abortSignal });
      return Entries.map(({ Id }) => {
        if (Successful.some((ok) => ok.Id === Id)) return 'accepted';
        const failure = Failed.find((failed) => failed.Id === Id);
        if (failure === undefined) return undefined; // in neither: its outcome is unknown, so retried (a resend is harmless)
        const retryable = !failure.SenderFault || RETRYABLE_ENTRY_ERRORS.has(failure.Code ?? '');
        return { retryable, detail: `${failure.Code}: ${failure.Message ?? ''}` };
      });
    };
    return deliverInAccountWaves(deliveries, retrier, (wave, signal) => sendInBatches(wave, signal, limits, toEntry, send), options);
  }
}

export type LedgerQueueSettings = { readonly queueUrl: string; readonly maxMessageBytes: number };

/** The runtime half of the ledger-queue plug-in: SQS FIFO, `in-order`. */
export const ledgerQueueRuntime: RuntimePlugin<LedgerQueueSettings> = {
  name: 'ledger-queue',
  mode: 'in-order',
  readSettings: (env) => ({
    queueUrl: requiredString(env, 'LEDGER_QUEUE_URL'),
    maxMessageBytes: integer(env, 'LEDGER_QUEUE_MAX_MESSAGE_BYTES', MAX_BATCH_BYTES, { min: 1_024, max: MAX_BATCH_BYTES }),
  }),
  createDestination({ queueUrl, maxMessageBytes }, { retrier, clientConfig }) {
    const client = new SQSClient(clientConfig('AWS_ENDPOINT_URL_SQS'));
    return { destination: new SqsFifoQueue({ client, queueUrl, retrier, maxMessageBytes }), close: () => client.destroy() };
  },
};
