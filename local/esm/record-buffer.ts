import type { KinesisRecordInput } from '../../shared/change-record/kinesis-input';
import { Notifier } from './wait';

interface Buffered {
  readonly record: KinesisRecordInput;
  /** When the reader handed it over (ms). */
  readonly at: number;
}

/**
 * The records a shard's reader received and its processor has not taken yet, in sequence order, and the batching
 * rule: a batch is cut at `batchSize` records, or when the batching window has passed since it started gathering,
 * which is when its first record was there and the previous invocation was done (Lambda: "the next window begins as
 * soon as the previous function invocation completes"). A window of 0 takes what is there at once.
 *
 * Unbounded: the reader never waits for the processor (a local stream holds thousands of records, not millions).
 */
export class RecordBuffer {
  #records: Buffered[] = [];
  #head = 0;
  readonly #changed = new Notifier();

  get size(): number {
    return this.#records.length - this.#head;
  }

  push(records: readonly KinesisRecordInput[]): void {
    const at = Date.now();
    for (const record of records) this.#records.push({ record, at });
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
    while (this.size < batchSize && !signal.aborted) {
      const left = windowStart + windowMs - Date.now();
      if (left <= 0) break;
      await this.#changed.wait(left, signal);
    }
    if (signal.aborted) return undefined;
    return this.#take(batchSize);
  }

  #take(count: number): KinesisRecordInput[] {
    const end = Math.min(this.#records.length, this.#head + count);
    const batch = this.#records.slice(this.#head, end).map((buffered) => buffered.record);
    this.#head = end;
    if (this.#head > 4096 && this.#head * 2 > this.#records.length) {
      this.#records = this.#records.slice(this.#head);
      this.#head = 0;
    }
    return batch;
  }
}
