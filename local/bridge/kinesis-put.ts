import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type KinesisClient,
  ListShardsCommand,
  PutRecordsCommand,
  type PutRecordsRequestEntry,
} from '@aws-sdk/client-kinesis';

/** One open shard of the Kinesis stream and the part of the 128-bit hash key space it owns. */
export interface ShardRange {
  readonly shardId: string;
  readonly startingHashKey: bigint;
  readonly endingHashKey: bigint;
}

/** PutRecords limits: 500 records and 5 MiB (data plus partition keys) per call. */
export const MAX_RECORDS_PER_PUT = 500;
export const MAX_BYTES_PER_PUT = 5 * 1024 * 1024;
/** One Kinesis record: its data blob (before base64) plus its partition key, at most 1 MiB. */
export const MAX_BYTES_PER_RECORD = 1024 * 1024;

export type KinesisSender = Pick<KinesisClient, 'send'>;

/** The stream's open shards, ordered by where their hash key range starts. */
export async function listOpenShards(
  client: KinesisSender,
  streamArn: string,
  signal?: AbortSignal,
): Promise<ShardRange[]> {
  const shards: ShardRange[] = [];
  let nextToken: string | undefined;
  do {
    // With a NextToken, ListShards refuses the stream name or ARN.
    const output = await client.send(
      new ListShardsCommand(nextToken ? { NextToken: nextToken } : { StreamARN: streamArn }),
      signal ? { abortSignal: signal } : {},
    );
    for (const shard of output.Shards ?? []) {
      const range = shard.HashKeyRange;
      // A shard with an ending sequence number is closed (resharded): nothing can be put on it any more.
      if (!shard.ShardId || !range || shard.SequenceNumberRange?.EndingSequenceNumber !== undefined) continue;
      shards.push({
        shardId: shard.ShardId,
        startingHashKey: BigInt(range.StartingHashKey ?? '0'),
        endingHashKey: BigInt(range.EndingHashKey ?? '0'),
      });
    }
    nextToken = output.NextToken;
  } while (nextToken);
  shards.sort((a, b) => (a.startingHashKey < b.startingHashKey ? -1 : a.startingHashKey > b.startingHashKey ? 1 : 0));
  if (shards.length === 0) throw new Error(`Kinesis stream ${streamArn} has no open shard`);
  return shards;
}

export function md5Hex(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}

/**
 * An explicit hash key inside `shard`'s range for a partition key: the key's own MD5 (what Kinesis would use) when it
 * already falls in the range, otherwise that MD5 folded into the range. Deterministic, so one account's records on one
 * shard always carry the same hash key.
 */
export function hashKeyIn(shard: ShardRange, partitionKey: string): string {
  const natural = BigInt(`0x${md5Hex(partitionKey)}`);
  const { startingHashKey: start, endingHashKey: end } = shard;
  if (natural >= start && natural <= end) return natural.toString();
  return (start + (natural % (end - start + 1n))).toString();
}

/** One record to put on one shard. `tag` comes back in the callbacks, to say which change it carried. */
export interface ShardEntry<T> {
  readonly data: Uint8Array;
  readonly partitionKey: string;
  readonly explicitHashKey: string;
  readonly tag: T;
}

export interface PutInOrderOptions<T> {
  readonly client: KinesisSender;
  readonly streamArn: string;
  /** Aborting stops retrying; what is not on the stream by then is returned as `abandoned`. */
  readonly signal?: AbortSignal;
  /** Called once per record Kinesis accepted (again for a record re-sent after a failure, see below). */
  readonly onPut: (entry: ShardEntry<T>, atMs: number) => void;
  /** `resent` records are sent again; `repeats` of them were already on the stream (they followed a failed one). */
  readonly onRetry: (resent: number, repeats: number, reason: string) => void;
  readonly backoffMs?: (attempt: number) => number;
}

/** Exponential backoff with jitter: 100 ms, 200 ms, … up to 5 s. */
export function defaultBackoffMs(attempt: number): number {
  const ceiling = Math.min(5_000, 100 * 2 ** Math.min(attempt, 16));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/**
 * Puts one shard's records in the given order, PutRecords by PutRecords, retrying until everything is on the stream
 * or `signal` aborts. When Kinesis refuses some entries of a call (FailedRecordCount), the first refused one and
 * every entry after it are sent again, in order, although some of those were accepted: otherwise an accepted later
 * record would stay ahead of a refused earlier one. The repeats are real duplicates on the stream, as a producer's
 * retries make them on AWS, and are reported through `onRetry`.
 *
 * Note that AWS documents that PutRecords does not guarantee ordering; the emulator (like the service in practice)
 * keeps request order per shard, which is what the bridge's placed order relies on.
 */
export async function putInOrder<T>(entries: readonly ShardEntry<T>[], options: PutInOrderOptions<T>): Promise<{ abandoned: number }> {
  const { client, streamArn, signal } = options;
  const backoff = options.backoffMs ?? defaultBackoffMs;
  let next = 0;
  let attempt = 0;
  while (next < entries.length) {
    if (signal?.aborted) return { abandoned: entries.length - next };
    const batch = takeBatch(entries, next);
    const request: PutRecordsRequestEntry[] = batch.map((entry) => ({
      Data: entry.data,
      PartitionKey: entry.partitionKey,
      ExplicitHashKey: entry.explicitHashKey,
    }));
    let failedAt: number | undefined;
    let acceptedAfterFailure = 0;
    let reason = '';
    try {
      const output = await client.send(
        new PutRecordsCommand({ StreamARN: streamArn, Records: request }),
        signal ? { abortSignal: signal } : {},
      );
      const at = Date.now();
      const results = output.Records ?? [];
      for (const [index, entry] of batch.entries()) {
        const result = results[index];
        if (result && !result.ErrorCode && result.SequenceNumber) {
          options.onPut(entry, at);
          if (failedAt !== undefined) acceptedAfterFailure += 1;
        } else if (failedAt === undefined) {
          failedAt = index;
          reason = result?.ErrorCode ? `${result.ErrorCode}: ${result.ErrorMessage ?? ''}` : 'no result for the entry';
        }
      }
    } catch (error) {
      if (signal?.aborted) return { abandoned: entries.length - next };
      // The call may or may not have put anything; the whole batch goes again (at worst as duplicates).
      failedAt = 0;
      reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    }
    if (failedAt === undefined) {
      next += batch.length;
      attempt = 0;
      continue;
    }
    // Entries after the first failure that Kinesis accepted are on the stream already; they are sent again anyway.
    options.onRetry(batch.length - failedAt, acceptedAfterFailure, reason);
    next += failedAt;
    // A call that put some of its records made progress (a shard's 1 MiB/s or 1,000 records/s refuses the rest of a
    // call, and frees up within the second): back off from the start again, or a steady backlog would be put at a
    // fraction of the shard's rate. Only calls that put nothing make the backoff grow.
    attempt = failedAt > 0 ? 1 : attempt + 1;
    try {
      await sleep(backoff(attempt), undefined, signal ? { signal } : {});
    } catch {
      return { abandoned: entries.length - next };
    }
  }
  return { abandoned: 0 };
}

/** The longest run from `start` that fits one PutRecords call (always at least one record). */
function takeBatch<T>(entries: readonly ShardEntry<T>[], start: number): ShardEntry<T>[] {
  const batch: ShardEntry<T>[] = [];
  let bytes = 0;
  for (let index = start; index < entries.length && batch.length < MAX_RECORDS_PER_PUT; index += 1) {
    const entry = entries[index] as ShardEntry<T>;
    const size = entry.data.byteLength + Buffer.byteLength(entry.partitionKey, 'utf8');
    if (batch.length > 0 && bytes + size > MAX_BYTES_PER_PUT) break;
    batch.push(entry);
    bytes += size;
  }
  return batch;
}
