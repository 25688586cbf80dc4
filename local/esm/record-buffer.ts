import type { KinesisRecordInput } from '../../shared/change-record/kinesis-input';
import { kinesisEventRecordBytes, LAMBDA_PAYLOAD_LIMIT_BYTES } from '../lambda-event';
import { Notifier } from './wait';

interface Buffered {
  readonly record: KinesisRecordInput;
  /** When the reader handed it over (ms). */
  readonly at: number;
  /** What it adds to an event's JSON (`kinesisEventRecordBytes`). */
  readonly bytes: number;
}

/** Record JSON a batch may carry, with room for the event around it: Lambda cuts a batch at 6 MB of payload. */
const MAX_BATCH_BYTES = LAMBDA_PAYLOAD_LIMIT_BYTES - 64 * 1024;

/**
 * The records a shard's reader received and its processor has not taken yet, in sequence order, and the batching
 * rule: a batch is cut at `batchSize` records, or when the batching window has passed since it started gathering,
 * which is when its first record was there and the previous invocation was done (Lambda: "the next window begins as
 * soon as the previous function invocation completes"), or at Lambda's 6 MB of payload, whichever comes first. A
 * window of 0 takes what is there at once.
 *
 * Unbounded: the reader never waits for the processor (a local stream holds thousands of records, not millions).
 */
export class RecordBuffer {
  #records: Buffered[] = [];
  #head = 0;
  /** Bytes of the records not taken yet. */
  #bytes = 0;
  readonly #changed = new Notifier();

  get size(): number {
    return this.#records.length - this.#head;
  }

  push(records: readonly KinesisRecordInput[]): void {
    const at = Date.now();
    for (const record of records) {
      const bytes = kinesisEventRecordBytes(record);
      this.#records.push({ record, at, bytes });
      this.#bytes += bytes;
    }
    this.#changed.notify();
  }

  /** The next batch, or undefined once `signal` aborts. */
  async next(batchSize: number, windowMs: number, signal: AbortSignal): Promise<KinesisRecordInput[] | undefined> {
    const gatheringSince = Date.now();
    while (this.size === 0) {
      if (signal.aborted) return undefined;
      await this.#changed.wait(undefined, signal);
    }
    const first = this.#records[this.#head];
    const windowStart = Math.max(gatheringSince, first?.at ?? gatheringSince);
    while (this.size < batchSize && this.#bytes < MAX_BATCH_BYTES && !signal.aborted) {
      const left = windowStart + windowMs - Date.now();
      if (left <= 0) break;
      await this.#changed.wait(left, signal);
    }
    if (signal.aborted) return undefined;
    return this.#take(batchSize);
  }

  #take(count: number): KinesisRecordInput[] {
    let end = this.#head;
    let bytes = 0;
    // At least one record, as Lambda does (a record is at most 1 MiB).
    while (end < this.#records.length && end - this.#head < count) {
      const next = (this.#records[end] as Buffered).bytes;
      if (end > this.#head && bytes + next > MAX_BATCH_BYTES) break;
      bytes += next;
      end += 1;
    }
    this.#bytes -= bytes;
    const batch = this.#records.slice(this.#head, end).map((buffered) => buffered.record);
    this.#head = end;
    if (this.#head > 4096 && this.#head * 2 > this.#records.length) {
      this.#records = this.#records.slice(this.#head);
      this.#head = 0;
    }
    return batch;
  }
}
