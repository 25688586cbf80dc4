import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, type SQSClient } from '@aws-sdk/client-sqs';
import { mapLimited } from '../../shared/async/limited';
import { chunkBySize } from '../../shared/async/chunk-by-size';
import { describeRecord } from '../../shared/change-record/change-record';
import { deliverInAccountWaves } from '../../shared/destination-plugin/account-waves';
import type { DeliverOptions, Delivery, DeliveryResult, Destination } from '../../shared/ordering/ports';
import { classifyError, describeError } from '../../shared/retry/classify-error';
import { NOT_SENT_DEADLINE } from '../../shared/retry/deadline';
import type { ItemAnswer, Retrier } from '../../shared/retry/retrier';
import { deduplicationId, toLedgerQueueMessage } from './message';

/** SendMessageBatch limits: 10 entries, and 256 KiB of message bodies per call (and per message). */
export const MAX_BATCH_ENTRIES = 10;
export const MAX_BATCH_BYTES = 256 * 1024;

/** Entry error codes a later attempt can get past; any other code with `SenderFault` is a refusal of the message. */
const RETRYABLE_ENTRY_ERRORS = new Set(['ThrottlingException', 'RequestThrottled', 'KmsThrottled', 'KMS.ThrottlingException', 'InternalError', 'ServiceUnavailable']);

export interface SqsFifoQueueOptions {
  readonly client: SQSClient;
  readonly queueUrl: string;
  readonly retrier: Retrier;
  /** @default 'ledger-queue' */
  readonly name?: string;
  /** SendMessageBatch calls in flight at once (each for different accounts). @default 4 */
  readonly concurrency?: number;
  /** The queue's MaximumMessageSize: a bigger body is rejected before it is sent. @default 262144 */
  readonly maxMessageBytes?: number;
}

/**
 * `in-order` into an SQS FIFO queue: MessageGroupId = account id (SQS keeps a group's order and hands it to one
 * receiver at a time), MessageDeduplicationId = `<account>#<version>` (SQS drops a repeat within its 5-minute window;
 * a repeat after it is for the receiver to drop by `eventId`). A partly failed batch could reorder an account, so
 * calls go in account waves (`deliverInAccountWaves`).
 */
export class SqsFifoQueue implements Destination {
  readonly name: string;
  readonly mode = 'in-order' as const;
  readonly #options: SqsFifoQueueOptions;

  constructor(options: SqsFifoQueueOptions) {
    this.name = options.name ?? 'ledger-queue';
    this.#options = options;
  }

  deliver(deliveries: readonly Delivery[], options: DeliverOptions = {}): Promise<readonly DeliveryResult[]> {
    return deliverInAccountWaves(deliveries, this.#options.retrier, (wave, signal) => this.#sendWave(wave, signal), options);
  }

  async #sendWave(wave: readonly Delivery[], signal: AbortSignal | undefined): Promise<ItemAnswer<DeliveryResult>[]> {
    const answers = new Array<ItemAnswer<DeliveryResult>>(wave.length);
    const maxBytes = Math.min(this.#options.maxMessageBytes ?? MAX_BATCH_BYTES, MAX_BATCH_BYTES);
    const entries: { index: number; bytes: number; entry: SendMessageBatchRequestEntry }[] = [];
    wave.forEach((delivery, index) => {
      const { accountId, version } = delivery.record;
      const body = JSON.stringify(toLedgerQueueMessage(delivery));
      const bytes = Buffer.byteLength(body);
      if (bytes > maxBytes) {
        answers[index] = { kind: 'reject', detail: `${describeRecord(delivery.record)}: message of ${bytes} bytes exceeds ${maxBytes}` };
        return;
      }
      const entry = { Id: String(index), MessageBody: body, MessageGroupId: accountId, MessageDeduplicationId: deduplicationId(accountId, version) };
      entries.push({ index, bytes, entry });
    });
    await mapLimited(chunkBySize(entries, MAX_BATCH_ENTRIES, maxBytes), this.#options.concurrency ?? 4, async (call) => {
      const callAnswers = await this.#sendBatch(call.map(({ entry }) => entry), wave, signal);
      call.forEach(({ index }, position) => (answers[index] = callAnswers[position] as ItemAnswer<DeliveryResult>));
    });
    return answers;
  }

  async #sendBatch(entries: SendMessageBatchRequestEntry[], wave: readonly Delivery[], signal: AbortSignal | undefined): Promise<ItemAnswer<DeliveryResult>[]> {
    // A call queued behind the concurrency limit may reach its turn after the deadline: send nothing then.
    if (signal?.aborted) return entries.map(() => ({ kind: 'retry', detail: NOT_SENT_DEADLINE }));
    try {
      const response = await this.#options.client.send(new SendMessageBatchCommand({ QueueUrl: this.#options.queueUrl, Entries: entries }), { abortSignal: signal });
      const sent = new Set((response.Successful ?? []).map((ok) => ok.Id));
      const failed = new Map((response.Failed ?? []).map((failure) => [failure.Id, failure]));
      return entries.map((entry) => {
        if (sent.has(entry.Id)) return { kind: 'done', result: { status: 'delivered' } };
        const where = describeRecord((wave[Number(entry.Id)] as Delivery).record);
        const failure = failed.get(entry.Id);
        // No answer for an entry: the call's outcome for it is unknown, and a resend is harmless (deduplication id).
        if (failure === undefined) return { kind: 'retry', detail: `${where}: no result for entry ${entry.Id}` };
        const detail = `${where}: ${failure.Code}: ${failure.Message ?? ''}`;
        return { kind: failure.SenderFault && !RETRYABLE_ENTRY_ERRORS.has(failure.Code ?? '') ? 'reject' : 'retry', detail };
      });
    } catch (error) {
      const kind = classifyError(error);
      if (kind === 'unexpected') throw error;
      return entries.map(() => ({ kind, detail: describeError(error) }));
    }
  }
}
