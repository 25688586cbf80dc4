import { chunkBySize } from '../async/chunk-by-size';
import { mapLimited } from '../async/limited';
import { describeRecord } from '../change-record/change-record';
import type { Delivery, DeliveryResult } from '../ordering/ports';
import { classifyError, describeError } from '../retry/classify-error';
import { NOT_SENT_DEADLINE } from '../retry/deadline';
import type { ItemAnswer } from '../retry/retrier';

/** A batch API's limits per call: 10 entries, and 1 MiB for SQS `SendMessageBatch`, 256 KB for EventBridge `PutEvents`. */
export interface BatchLimits {
  readonly maxEntries: number;
  /** Bytes per call, so also per entry: a bigger entry is refused (`reject`) without a request. */
  readonly maxBytes: number;
  /** Calls in flight at once. @default 4 */
  readonly concurrency?: number;
}

/**
 * What the service answered for one entry of a call: accepted; failed, and whether a later attempt can get past it
 * (throttled, an internal error) or not (a refusal of the entry itself); or `undefined` when the answer leaves the entry
 * out. Its fate is then unknown and it is retried: only for a service where a resend is harmless (a deduplication id).
 */
export type EntryAnswer = 'accepted' | { readonly retryable: boolean; readonly detail: string } | undefined;

/**
 * Sends one entry per delivery through a batch API, in calls within `limits`, and answers per delivery, in order, as
 * the `Retrier` takes it (a `SendWave` of `deliverInAccountWaves`, or a round of `retrier.settle`):
 * - accepted: delivered;
 * - a retryable or missing entry answer, or a retryable error of the call (`classifyError`: throttling, 5xx, time-out,
 *   the deadline's abort): retried, and `DELIVERY_FAILED` once the budget or the time runs out;
 * - a refused entry, an entry over `maxBytes` (never sent), or a call refused as a whole: `REJECTED`.
 * An unexpected error (a bug) is thrown: the batch fails and Lambda bisects it. `toEntry` gets each delivery's index in
 * `deliveries`, unique in the call: an entry id, say. `send` answers per entry, in the order given.
 */
export async function sendInBatches<Entry>(
  deliveries: readonly Delivery[],
  signal: AbortSignal | undefined,
  limits: BatchLimits,
  toEntry: (delivery: Delivery, index: number) => { readonly entry: Entry; readonly bytes: number },
  send: (entries: Entry[], signal: AbortSignal | undefined) => Promise<readonly EntryAnswer[]>,
): Promise<ItemAnswer<DeliveryResult>[]> {
  const answers = new Array<ItemAnswer<DeliveryResult>>(deliveries.length);
  const answerAll = (call: readonly { index: number }[], answer: ItemAnswer<DeliveryResult>) => call.forEach(({ index }) => (answers[index] = answer));
  const where = (index: number) => describeRecord((deliveries[index] as Delivery).record);
  const sendable: { index: number; bytes: number; entry: Entry }[] = [];
  deliveries.forEach((delivery, index) => {
    const { entry, bytes } = toEntry(delivery, index);
    if (bytes <= limits.maxBytes) sendable.push({ index, bytes, entry });
    else answers[index] = { kind: 'reject', detail: `${where(index)}: ${bytes} bytes exceeds the ${limits.maxBytes}-byte limit` };
  });
  await mapLimited(chunkBySize(sendable, limits.maxEntries, limits.maxBytes), limits.concurrency ?? 4, async (call) => {
    // A call queued behind the concurrency limit may reach its turn after the deadline: send nothing then.
    if (signal?.aborted) return answerAll(call, { kind: 'retry', detail: NOT_SENT_DEADLINE });
    let entryAnswers: readonly EntryAnswer[];
    try {
      entryAnswers = await send(call.map(({ entry }) => entry), signal);
    } catch (error) {
      const kind = classifyError(error);
      if (kind === 'unexpected') throw error;
      return answerAll(call, { kind, detail: describeError(error) });
    }
    call.forEach(({ index }, position) => {
      const answer = entryAnswers[position];
      if (answer === 'accepted') answers[index] = { kind: 'done', result: { status: 'delivered' } };
      else if (answer === undefined) answers[index] = { kind: 'retry', detail: `${where(index)}: no answer for this entry` };
      else answers[index] = { kind: answer.retryable ? 'retry' : 'reject', detail: `${where(index)}: ${answer.detail}` };
    });
  });
  return answers;
}
