import type { KinesisRecordInput } from '../../shared/change-record/kinesis-input';
import type { ShardCheckpoint } from './esm-checkpoint';
import { RecordBuffer } from './record-buffer';

/**
 * The lane of a partition key among `factor` lanes (FNV-1a of the key's UTF-8 bytes). Stable for a key, so a key's
 * records always share a lane and keep their order, as Lambda keeps order per partition key within a shard.
 */
export function laneOf(partitionKey: string, factor: number): number {
  if (factor <= 1) return 0;
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(partitionKey, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % factor;
}

/**
 * Splits one shard's records over its lanes, one buffer each, and registers every record with the shard's checkpoint
 * first (in read order). With one lane every record goes to the one buffer, as before lanes existed.
 */
export class ShardLanes {
  readonly buffers: readonly RecordBuffer[];
  readonly #checkpoint: ShardCheckpoint;

  constructor(factor: number, checkpoint: ShardCheckpoint) {
    this.buffers = Array.from({ length: factor }, () => new RecordBuffer());
    this.#checkpoint = checkpoint;
  }

  push(records: readonly KinesisRecordInput[]): void {
    this.#checkpoint.register(records);
    const factor = this.buffers.length;
    if (factor === 1) {
      this.buffers[0]?.push(records);
      return;
    }
    const perLane: KinesisRecordInput[][] = this.buffers.map(() => []);
    for (const record of records) perLane[laneOf(record.partitionKey ?? '', factor)]?.push(record);
    perLane.forEach((laneRecords, lane) => {
      if (laneRecords.length > 0) this.buffers[lane]?.push(laneRecords);
    });
  }
}
