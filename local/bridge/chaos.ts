import { createHash } from 'node:crypto';
import type { KinesisRecordInput } from '../../shared/change-record/kinesis-input';
import { prng } from '../prng';

/**
 * A seeded stand-in for what Kinesis Data Streams for DynamoDB may do to a change stream: AWS documents that records
 * can be duplicated and can arrive out of order, and that one item's duplicates may land on another shard. Pure and
 * deterministic for a seed, so a failing run can be replayed exactly.
 */
export interface ChaosOptions {
  readonly seed: number;
  /** Chance, 0..1, that a record is sent a second time. */
  readonly duplicateRate: number;
  /** Chance, 0..1, that a record (original or copy) is held back behind later ones on its shard. */
  readonly reorderRate: number;
  /** At most this many positions a held-back record moves; also how far behind its original a copy trails. */
  readonly reorderWindow: number;
  readonly shardCount: number;
}

/** One item as the simulated stream holds it. */
export interface Placed<T> {
  readonly item: T;
  /** Position of the item in the input, i.e. in the order the changes were captured. */
  readonly index: number;
  readonly shard: number;
  /** A duplicate sent in addition to the original. */
  readonly copy: boolean;
  /** Held back behind later records of its shard. */
  readonly displaced: boolean;
}

export interface ChaosStats {
  readonly originals: number;
  readonly duplicates: number;
  /** Duplicates that landed on another shard than their original. */
  readonly crossShardDuplicates: number;
  readonly displaced: number;
}

export interface ChaosResult<T> {
  /** The records of each shard, in the order the shard delivers them. */
  readonly shards: Placed<T>[][];
  readonly stats: ChaosStats;
}

/** Like Kinesis: the MD5 of the partition key, read as a number, picks the shard. */
export function shardOfKey(key: string, shardCount: number): number {
  const digest = createHash('md5').update(key, 'utf8').digest();
  return digest.readUInt32BE(0) % shardCount;
}

export function applyChaos<T>(items: readonly T[], keyOf: (item: T) => string, options: ChaosOptions): ChaosResult<T> {
  assertOptions(options);
  const random = prng(options.seed);
  const chance = (rate: number): boolean => rate > 0 && random() < rate;
  const upTo = (limit: number): number => 1 + Math.floor(random() * Math.max(1, limit));
  const { shardCount, reorderWindow } = options;

  // First place originals and copies in capture order; a copy is a producer retry, so it trails its original.
  const pending: { placed: Placed<T>; at: number }[] = [];
  let duplicates = 0;
  let crossShardDuplicates = 0;
  items.forEach((item, index) => {
    const home = shardOfKey(keyOf(item), shardCount);
    pending.push({ placed: { item, index, shard: home, copy: false, displaced: false }, at: index });
    if (!chance(options.duplicateRate)) return;
    const shard = shardCount > 1 && random() < 0.5 ? (home + upTo(shardCount - 1)) % shardCount : home;
    duplicates += 1;
    if (shard !== home) crossShardDuplicates += 1;
    pending.push({ placed: { item, index, shard, copy: true, displaced: false }, at: index + upTo(reorderWindow) - 0.5 });
  });
  pending.sort((a, b) => a.at - b.at);

  // Then, per shard, hold some records back by up to `reorderWindow` positions.
  let displaced = 0;
  const shards: Placed<T>[][] = [];
  for (let shard = 0; shard < shardCount; shard += 1) {
    const keyed = pending
      .filter((entry) => entry.placed.shard === shard)
      .map(({ placed }, rank) => {
        if (reorderWindow < 1 || !chance(options.reorderRate)) return { placed, key: rank, rank };
        displaced += 1;
        return { placed: { ...placed, displaced: true }, key: rank + upTo(reorderWindow) + 0.5, rank };
      });
    keyed.sort((a, b) => a.key - b.key || a.rank - b.rank);
    shards.push(keyed.map(({ placed }) => placed));
  }
  return { shards, stats: { originals: items.length, duplicates, crossShardDuplicates, displaced } };
}

function assertOptions(options: ChaosOptions): void {
  const rate = (name: string, value: number) => {
    if (!(value >= 0 && value <= 1)) throw new RangeError(`${name} ${value} must be between 0 and 1`);
  };
  rate('duplicateRate', options.duplicateRate);
  rate('reorderRate', options.reorderRate);
  if (!Number.isSafeInteger(options.reorderWindow) || options.reorderWindow < 0) {
    throw new RangeError(`reorderWindow ${options.reorderWindow} must be a non-negative integer`);
  }
  if (!Number.isSafeInteger(options.shardCount) || options.shardCount < 1) {
    throw new RangeError(`shardCount ${options.shardCount} must be a positive integer`);
  }
}

/** What the bridge hands to the simulated stream: the base64 payload and the key it shards by. */
export interface StreamPayload {
  readonly data: string;
  readonly partitionKey: string;
}

/** One shard's records cut into the batches a Lambda event source mapping would hand a consumer. */
export interface ShardFeed {
  readonly shardId: string;
  readonly batches: readonly (readonly KinesisRecordInput[])[];
}

export function shardId(shard: number): string {
  return `shardId-${shard.toString().padStart(12, '0')}`;
}

/**
 * A synthetic Kinesis sequence number: 56 decimal digits like the real ones, increasing within a shard in delivery
 * order and equal in length, so it compares correctly both as a string and as a BigInt.
 */
export function sequenceNumber(shard: number, position: number): string {
  return `49${shard.toString().padStart(4, '0')}${position.toString().padStart(50, '0')}`;
}

/**
 * Turns the disturbed shards into Kinesis records and batches. The partition key is an MD5 hex like the one
 * DynamoDB chooses: opaque, so nobody is tempted to read an account id out of it.
 */
export function toShardFeeds(result: ChaosResult<StreamPayload>, batchSize: number): ShardFeed[] {
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize ${batchSize} must be >= 1`);
  return result.shards.map((placed, shard) => {
    const records: KinesisRecordInput[] = placed.map(({ item }, position) => ({
      data: item.data,
      sequenceNumber: sequenceNumber(shard, position + 1),
      shardId: shardId(shard),
      partitionKey: createHash('md5').update(item.partitionKey, 'utf8').digest('hex'),
    }));
    const batches: KinesisRecordInput[][] = [];
    for (let start = 0; start < records.length; start += batchSize) batches.push(records.slice(start, start + batchSize));
    return { shardId: shardId(shard), batches };
  });
}
