import {
  SendMessageBatchCommand,
  type MessageAttributeValue,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { DeadLetterQueueUnavailableError } from '../ordering/errors';
import type { DeadLetter, DeadLetterQueue } from '../ordering/ports';
import { classifyError, describeError } from '../retry/classify-error';
import { Retrier, type ItemAnswer } from '../retry/retrier';
import { encodeDeadLetter } from './dead-letter-message';
import { sqsAttributeText } from '../destination-plugin/sqs-text';
import { chunkBySize } from '../async/chunk-by-size';
import type { RequestDeadline } from '../async/request-deadline';

export interface SqsDeadLetterQueueOptions {
  readonly client: SQSClient;
  readonly queueUrl: string;
  /** Retries of unreachable or throttled sends; the SDK's own retries come first. */
  readonly retrier?: Retrier;
  /** When sends must have ended (the invocation's deadline less a reserve): no round starts after it, a send running then is aborted. */
  readonly requestDeadline?: RequestDeadline;
}

/** SQS's limit for one message and for one `SendMessageBatch` (1 MiB since August 2025). */
export const MAX_SQS_PAYLOAD_BYTES = 1_048_576;
const MAX_BATCH_ENTRIES = 10;

/**
 * A destination's dead-letter queue on SQS: one message per letter, the whole `DeadLetter` (change record included)
 * as its JSON body, reason, destination, account and version as message attributes for filtering.
 *
 * A letter SQS refuses for good (too large, invalid) answers `false` and its record is reported failed to Lambda,
 * whose own on-failure destination then keeps it. A queue that stays unreachable throws
 * `DeadLetterQueueUnavailableError`, which makes the engine report the affected records as failed.
 */
export class SqsDeadLetterQueue implements DeadLetterQueue {
  readonly #client: SQSClient;
  readonly #queueUrl: string;
  readonly #retrier: Retrier;
  readonly #requestDeadline: RequestDeadline | undefined;

  constructor(options: SqsDeadLetterQueueOptions) {
    this.#client = options.client;
    this.#queueUrl = options.queueUrl;
    this.#retrier = options.retrier ?? new Retrier();
    this.#requestDeadline = options.requestDeadline;
  }

  async send(letters: readonly DeadLetter[]): Promise<readonly boolean[]> {
    const entries = letters.map((letter, index) => toEntry(letter, index));
    const settled = await this.#retrier.settle(entries, (pending) => this.#sendRound(pending), { deadline: this.#requestDeadline?.at });
    return settled.map((outcome) => {
      if (outcome.kind === 'done') return outcome.result;
      throw new DeadLetterQueueUnavailableError(`dead-letter queue ${this.#queueUrl}: ${outcome.detail}`);
    });
  }

  async #sendRound(pending: readonly PreparedEntry[]): Promise<ItemAnswer<boolean>[]> {
    const answers = new Map<PreparedEntry, ItemAnswer<boolean>>();
    const sendable: PreparedEntry[] = [];
    for (const entry of pending) {
      if (entry.bytes > MAX_SQS_PAYLOAD_BYTES) {
        answers.set(entry, { kind: 'done', result: false });
      } else sendable.push(entry);
    }
    await Promise.all(
      packBatches(sendable).map(async (batch) => {
        try {
          const response = await this.#client.send(
            new SendMessageBatchCommand({ QueueUrl: this.#queueUrl, Entries: batch.map((entry) => entry.entry) }),
            this.#requestDeadline?.sendOptions() ?? {},
          );
          const byId = new Map(batch.map((entry) => [entry.entry.Id, entry]));
          for (const ok of response.Successful ?? []) {
            const entry = byId.get(ok.Id);
            if (entry) answers.set(entry, { kind: 'done', result: true });
          }
          for (const failed of response.Failed ?? []) {
            const entry = byId.get(failed.Id);
            if (!entry) continue;
            const detail = `${failed.Code ?? 'Failed'}: ${failed.Message ?? ''}`;
            // SenderFault: this message can never be stored; otherwise SQS had a problem worth another attempt.
            answers.set(entry, failed.SenderFault ? { kind: 'done', result: false } : { kind: 'retry', detail });
          }
          for (const entry of batch) {
            if (!answers.has(entry)) answers.set(entry, { kind: 'retry', detail: 'missing from the batch answer' });
          }
        } catch (error) {
          const kind = classifyError(error);
          if (kind === 'unexpected') throw error;
          // A refused call (access denied, no such queue) will not get better by retrying: the queue is unusable.
          const detail = describeError(error);
          for (const entry of batch) answers.set(entry, { kind: kind === 'retry' ? 'retry' : 'reject', detail });
        }
      }),
    );
    return pending.map((entry) => answers.get(entry) as ItemAnswer<boolean>);
  }
}

interface PreparedEntry {
  readonly entry: SendMessageBatchRequestEntry;
  readonly bytes: number;
}

function toEntry(letter: DeadLetter, index: number): PreparedEntry {
  const body = encodeDeadLetter(letter);
  const attributes: Record<string, MessageAttributeValue> = {
    reason: { DataType: 'String', StringValue: letter.reason },
    destination: { DataType: 'String', StringValue: letter.destination },
    epoch: { DataType: 'String', StringValue: letter.epoch },
  };
  if (letter.accountId !== undefined) attributes.accountId = { DataType: 'String', StringValue: sqsAttributeText(letter.accountId) };
  if (letter.version !== undefined) attributes.version = { DataType: 'Number', StringValue: String(letter.version) };
  let bytes = Buffer.byteLength(body);
  for (const [name, value] of Object.entries(attributes)) {
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value.DataType ?? '') + Buffer.byteLength(value.StringValue ?? '');
  }
  return { entry: { Id: String(index), MessageBody: body, MessageAttributes: attributes }, bytes };
}

/** Up to 10 entries and 1 MiB per batch, in order. */
function packBatches(entries: readonly PreparedEntry[]): PreparedEntry[][] {
  return chunkBySize(entries, MAX_BATCH_ENTRIES, MAX_SQS_PAYLOAD_BYTES);
}
