import { SendMessageBatchCommand, SQSClient, type SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import { digestedKeyPart } from '../../shared/accounts/account-key';
import { readableImageValue } from '../../shared/accounts/image-json';
import { integer, requiredString } from '../../shared/config/env';
import { deliverInAccountWaves } from '../../shared/destination-plugin/account-waves';
import { sendInBatches, type EntryAnswer } from '../../shared/destination-plugin/batch-calls';
import { sqsJson } from '../../shared/destination-plugin/sqs-text';
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

/** SQS's message group and deduplication ids: 1-128 characters of printable ASCII. */
const MAX_QUEUE_ID_CHARS = 128;
const PLAIN_QUEUE_ID = /^[\x21-\x7e]+$/;

/**
 * An account id as (part of) a message group or deduplication id of at most `room` characters: the id itself when SQS
 * takes it as it is; otherwise its URL-encoded start and a digest of the whole id (`digestedKeyPart`), which no other
 * id's part equals. Cutting a long id to its tail, as releases before did, gave two ids with the same tail one
 * deduplication id, and SQS dropped the second message as a repeat.
 */
export function queueIdPart(accountId: string, room: number): string {
  return PLAIN_QUEUE_ID.test(accountId) && accountId.length <= room ? accountId : digestedKeyPart(encodeURIComponent(accountId), room);
}

/** The account's message group: SQS keeps a group's order and hands it to one receiver at a time. */
export function messageGroupId(accountId: string): string {
  return queueIdPart(accountId, MAX_QUEUE_ID_CHARS);
}

/**
 * A message's body: one account version (`newImage` null for a deletion; `healed`: rebuilt from its neighbours, its own
 * record never came; `replay`: sent by a replay). `eventId` is also the MessageDeduplicationId: `<account>#<version>`,
 * the account as `queueIdPart` gives it in what the version leaves of 128 characters. SQS drops a repeat within
 * 5 minutes, a receiver drops a later one by it.
 */
export function toLedgerQueueMessage({ record, healed, replay, epoch }: Delivery) {
  const { accountId, version, previousVersion, kind, createdAtMicros } = record;
  const suffix = `#${version}`;
  const eventId = `${queueIdPart(accountId, MAX_QUEUE_ID_CHARS - suffix.length)}${suffix}`;
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
      const entry = { Id: String(index), MessageBody: sqsJson(message, readableImageValue), MessageGroupId: messageGroupId(message.accountId), MessageDeduplicationId: message.eventId };
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
