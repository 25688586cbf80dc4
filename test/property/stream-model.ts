import type { ChangeRecord } from '../../shared/change-record/change-record';
import { accountHistory } from '../support/histories';
import { prng, shuffle } from '../../local/prng';

export interface StreamShape {
  /** History length per account (1-100); account i is `ACC-i`. */
  readonly lengths: readonly number[];
  readonly seed: number;
  /** Chance that a record is delivered twice (or more). */
  readonly duplicateRate: number;
  /** Concurrent engines (shards), each consuming its batches one after another. */
  readonly shards: number;
  readonly maxBatchSize: number;
}

export interface Stream {
  readonly histories: ReadonlyMap<string, readonly ChangeRecord[]>;
  /** shard → batches → records, every copy with its own sequence number. */
  readonly shards: readonly (readonly ChangeRecord[][])[];
  readonly copies: number;
}

/**
 * What AWS documents for Kinesis Data Streams for DynamoDB, at its worst: every change of every account, some more
 * than once, in any order, cut into batches of any size and spread over shards regardless of account.
 */
export function buildStream(shape: StreamShape): Stream {
  const random = prng(shape.seed);
  const histories = new Map<string, ChangeRecord[]>();
  shape.lengths.forEach((length, index) => {
    const accountId = `ACC-${index}`;
    histories.set(accountId, accountHistory(accountId, length, { endsWithRemove: random() < 0.2 }));
  });
  const shards = shipWith([...histories.values()].flat(), shape, random);
  return { histories, shards, copies: shards.flat(2).length };
}

/**
 * Every record, some more than once (each copy its own sequence number), in any order, cut into batches of any size
 * and spread over shards regardless of account: shard → batches → records.
 */
export function shipWith(
  records: readonly ChangeRecord[],
  shape: Pick<StreamShape, 'duplicateRate' | 'shards' | 'maxBatchSize'>,
  random: () => number,
): ChangeRecord[][][] {
  const copies: ChangeRecord[] = [];
  for (const record of records) {
    let copy = 0;
    do {
      copies.push({ ...record, sequenceNumber: `${record.sequenceNumber}/${copy}` });
      copy += 1;
    } while (random() < shape.duplicateRate && copy < 4);
  }
  shuffle(copies, random);
  const shards: ChangeRecord[][][] = Array.from({ length: shape.shards }, () => []);
  for (let start = 0; start < copies.length; ) {
    const size = 1 + Math.floor(random() * shape.maxBatchSize);
    (shards[Math.floor(random() * shape.shards)] as ChangeRecord[][]).push(copies.slice(start, start + size));
    start += size;
  }
  return shards;
}
