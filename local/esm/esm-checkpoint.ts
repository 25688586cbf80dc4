import type { KinesisRecordInput } from '../../shared/change-record/kinesis-input';

interface Entry {
  readonly sequenceNumber: string;
  done: boolean;
}

/**
 * A shard's checkpoint with several lanes in flight: records are registered in sequence order as they are read, and
 * completed in any order (each lane finishes its own records in order, lanes finish at their own pace). The
 * checkpoint is the last record of the longest completed prefix, so it never moves past a record that a lane still
 * has: a mapping restarted from it would read that record again, and nothing is skipped.
 */
export class ShardCheckpoint {
  #entries: Entry[] = [];
  #head = 0;
  readonly #bySequence = new Map<string, Entry>();
  #value: bigint | undefined;
  readonly #onMove: (sequenceNumber: string) => void;

  constructor(onMove: (sequenceNumber: string) => void) {
    this.#onMove = onMove;
  }

  /** The sequence number every record up to which is done with, if any. */
  get value(): string | undefined {
    return this.#value?.toString();
  }

  /** Records not done with yet, in flight or waiting in a lane. */
  get pending(): number {
    return this.#entries.length - this.#head;
  }

  /** Records read from the shard, in sequence order. */
  register(records: readonly KinesisRecordInput[]): void {
    for (const record of records) {
      const entry: Entry = { sequenceNumber: record.sequenceNumber, done: false };
      this.#entries.push(entry);
      this.#bySequence.set(record.sequenceNumber, entry);
    }
  }

  /** Records done with (delivered, or sent to, or dropped by, on-failure); moves the checkpoint as far as it can. */
  complete(records: readonly KinesisRecordInput[]): void {
    for (const record of records) {
      const entry = this.#bySequence.get(record.sequenceNumber);
      if (entry === undefined) throw new Error(`record ${record.sequenceNumber} was never registered with the checkpoint`);
      entry.done = true;
      this.#bySequence.delete(record.sequenceNumber);
    }
    let moved: Entry | undefined;
    while (this.#head < this.#entries.length && this.#entries[this.#head]?.done) {
      moved = this.#entries[this.#head];
      this.#head += 1;
    }
    if (this.#head > 4096 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
    if (moved !== undefined) {
      this.#value = BigInt(moved.sequenceNumber);
      this.#onMove(moved.sequenceNumber);
    }
  }

  /** True when every record up to `sequenceNumber` is done with. */
  reached(sequenceNumber: string): boolean {
    return this.#value !== undefined && this.#value >= BigInt(sequenceNumber);
  }
}
