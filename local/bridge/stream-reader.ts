import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record,
  type Shard,
} from '@aws-sdk/client-dynamodb-streams';
import { setTimeout as sleep } from 'node:timers/promises';

export type StreamRecord = _Record;

/** How often the shard list is read again even when no shard closed. */
export const SHARD_REFRESH_MS = 5_000;

export interface StreamReaderOptions {
  readonly client: DynamoDBStreamsClient;
  readonly streamArn: string;
  /** Records per GetRecords call; 1000 is the service maximum. */
  readonly limit?: number;
}

/** The ARN of the table's current stream; throws if the table has none (it was created without a stream). */
export async function latestStreamArn(client: DynamoDBClient, tableName: string): Promise<string> {
  const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
  const arn = Table?.LatestStreamArn;
  if (!arn) throw new Error(`table ${tableName} has no DynamoDB stream: create it with the stream enabled`);
  return arn;
}

/**
 * Reads every shard of one DynamoDB stream from TRIM_HORIZON, remembering where each shard stands between polls.
 *
 * Shards are rediscovered when one closes (DynamoDB rolls them over, about every four hours, and DynamoDB Local at
 * will: a closed parent is the sign that children exist) and at least every `SHARD_REFRESH_MS`, not on every poll:
 * a DescribeStream per poll costs each change a round trip. A parent is drained before its children so that one
 * item's changes come out in the order the stream holds them. That order is only a courtesy here: the consumers must
 * not depend on it.
 */
export class DynamoDBStreamReader {
  private readonly client: DynamoDBStreamsClient;
  private readonly streamArn: string;
  private readonly limit: number;
  /** Open iterator per shard; `null` once a closed shard has been read to its end. */
  private readonly positions = new Map<string, string | null>();
  private readonly parents = new Map<string, string | undefined>();
  private shards: Shard[] = [];
  private describedAt = Number.NEGATIVE_INFINITY;
  private shardClosed = false;

  constructor(options: StreamReaderOptions) {
    this.client = options.client;
    this.streamArn = options.streamArn;
    this.limit = options.limit ?? 1000;
  }

  /** Everything that can be read right now, across all shards. */
  async poll(): Promise<StreamRecord[]> {
    if (this.shardClosed || Date.now() - this.describedAt >= SHARD_REFRESH_MS) {
      this.shardClosed = false;
      this.shards = await this.describeShards();
      this.describedAt = Date.now();
    }
    const shards = this.shards;
    const records: StreamRecord[] = [];
    for (const shard of parentsFirst(shards)) {
      const shardId = shard.ShardId;
      if (!shardId) continue;
      if (!this.positions.has(shardId)) this.positions.set(shardId, await this.trimHorizon(shardId));
      records.push(...(await this.drain(shardId)));
    }
    return records;
  }

  /** Reads one shard until it returns nothing more for now, or ends. */
  private async drain(shardId: string): Promise<StreamRecord[]> {
    const records: StreamRecord[] = [];
    for (;;) {
      const iterator = this.positions.get(shardId);
      if (!iterator) return records;
      const output = await this.client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: this.limit }));
      // No next iterator means the shard is closed and fully read: its children are there to be found.
      this.positions.set(shardId, output.NextShardIterator ?? null);
      if (!output.NextShardIterator) this.shardClosed = true;
      const batch = output.Records ?? [];
      records.push(...batch);
      if (batch.length === 0) return records;
    }
  }

  private async trimHorizon(shardId: string): Promise<string | null> {
    const output = await this.client.send(
      new GetShardIteratorCommand({ StreamArn: this.streamArn, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }),
    );
    return output.ShardIterator ?? null;
  }

  private async describeShards(): Promise<Shard[]> {
    const shards: Shard[] = [];
    let start: string | undefined;
    do {
      const { StreamDescription: description } = await this.client.send(
        new DescribeStreamCommand({ StreamArn: this.streamArn, ExclusiveStartShardId: start }),
      );
      for (const shard of description?.Shards ?? []) {
        shards.push(shard);
        if (shard.ShardId) this.parents.set(shard.ShardId, shard.ParentShardId);
      }
      start = description?.LastEvaluatedShardId;
    } while (start);
    return shards;
  }
}

/** Orders shards so that every parent still listed comes before its children. */
function parentsFirst(shards: readonly Shard[]): Shard[] {
  const byId = new Map(shards.map((shard) => [shard.ShardId, shard]));
  const ordered: Shard[] = [];
  const placed = new Set<string | undefined>();
  const place = (shard: Shard): void => {
    if (placed.has(shard.ShardId)) return;
    placed.add(shard.ShardId);
    const parent = shard.ParentShardId ? byId.get(shard.ParentShardId) : undefined;
    if (parent) place(parent);
    ordered.push(shard);
  };
  shards.forEach(place);
  return ordered;
}

export interface ReadUntilOptions {
  /** Give up after this long without `done` becoming true; default 30 s. */
  readonly timeoutMs?: number;
  /** Pause between polls that brought nothing new; default 100 ms. */
  readonly pollIntervalMs?: number;
}

/**
 * Polls until `done` says everything expected has been read. Stream records become readable a little after the
 * write that caused them, so an empty poll only means "not yet"; the caller decides what "all" is.
 */
async function readUntil(
  reader: Pick<DynamoDBStreamReader, 'poll'>,
  done: (records: readonly StreamRecord[]) => boolean,
  options: ReadUntilOptions = {},
): Promise<{ records: StreamRecord[]; caughtUp: boolean }> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  const records: StreamRecord[] = [];
  for (;;) {
    const fresh = await reader.poll();
    records.push(...fresh);
    if (done(records)) return { records, caughtUp: true };
    if (Date.now() > deadline) return { records, caughtUp: false };
    if (fresh.length === 0) await sleep(options.pollIntervalMs ?? 100);
  }
}

/**
 * Reads until `expected` distinct changes are in hand, dropping repeats by event id: the bridge must forward each
 * change once, so that any duplicate downstream is one the chaos put there on purpose.
 */
export async function readChanges(
  reader: Pick<DynamoDBStreamReader, 'poll'>,
  expected: number,
  options: ReadUntilOptions = {},
): Promise<{ records: StreamRecord[]; caughtUp: boolean }> {
  const byEventId = new Map<string, StreamRecord>();
  let counted = 0;
  const read = await readUntil(
    reader,
    (all) => {
      for (; counted < all.length; counted += 1) {
        const record = all[counted];
        if (record?.eventID !== undefined && !byEventId.has(record.eventID)) byEventId.set(record.eventID, record);
      }
      return byEventId.size >= expected;
    },
    options,
  );
  return { records: [...byEventId.values()], caughtUp: read.caughtUp };
}
