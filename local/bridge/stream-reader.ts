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
  /** Where to start (a `position` saved before): each shard after its last record read, or skipped when read to its end. */
  readonly from?: StreamPosition;
}

/** Where a reader stands, per shard: after which record, or read to its end. Plain JSON, to be saved and resumed. */
export type StreamPosition = Readonly<Record<string, { readonly after?: string; readonly done?: boolean }>>;

/** The ARN of the table's current stream; throws if the table has none (it was created without a stream). */
export async function latestStreamArn(client: DynamoDBClient, tableName: string): Promise<string> {
  const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
  const arn = Table?.LatestStreamArn;
  if (!arn) throw new Error(`table ${tableName} has no DynamoDB stream: create it with the stream enabled`);
  return arn;
}

/**
 * Reads every shard of one DynamoDB stream from TRIM_HORIZON (or from a saved `position`), remembering where each
 * shard stands between polls.
 *
 * Shards are rediscovered when one closes (DynamoDB rolls them over, about every four hours, and DynamoDB Local at
 * will: a closed parent is the sign that children exist) and at least every `SHARD_REFRESH_MS`, not on every poll:
 * a DescribeStream per poll costs each change a round trip. A child is not read until its parent (while listed) has
 * been read to its end, not merely to an empty page, so that one item's changes come out in the order the stream
 * holds them across a rollover; an expired iterator is renewed after the last record read. That order is only a
 * courtesy here: the consumers must not depend on it.
 */
export class DynamoDBStreamReader {
  private readonly client: DynamoDBStreamsClient;
  private readonly streamArn: string;
  private readonly limit: number;
  private readonly from: StreamPosition;
  /** Open iterator per shard; `null` once a closed shard has been read to its end. */
  private readonly positions = new Map<string, string | null>();
  private readonly parents = new Map<string, string | undefined>();
  /** The sequence number of the last record read per shard, to renew an expired iterator where it stood. */
  private readonly lastSequence = new Map<string, string>();
  private shards: Shard[] = [];
  private describedAt = Number.NEGATIVE_INFINITY;
  private shardClosed = false;

  constructor(options: StreamReaderOptions) {
    this.client = options.client;
    this.streamArn = options.streamArn;
    this.limit = options.limit ?? 1000;
    this.from = options.from ?? {};
    for (const [shardId, saved] of Object.entries(this.from)) if (saved.after !== undefined) this.lastSequence.set(shardId, saved.after);
  }

  /** Where the reader stands now: what `poll` has returned so far, per shard. */
  get position(): StreamPosition {
    const position: Record<string, { after?: string; done?: boolean }> = { ...this.from };
    for (const [shardId, iterator] of this.positions) {
      const after = this.lastSequence.get(shardId);
      position[shardId] = { ...(after !== undefined ? { after } : {}), ...(iterator === null ? { done: true } : {}) };
    }
    return position;
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
    const listed = new Set(shards.map((shard) => shard.ShardId));
    for (const shard of parentsFirst(shards)) {
      const shardId = shard.ShardId;
      if (!shardId) continue;
      // A child waits until its parent (while still listed, i.e. not yet trimmed) has been read to its end: a closed
      // parent may still hold an item's earlier changes behind an empty page, and its child holds the later ones.
      const parent = shard.ParentShardId;
      if (parent !== undefined && listed.has(parent) && this.positions.get(parent) !== null) continue;
      if (!this.positions.has(shardId)) this.positions.set(shardId, this.from[shardId]?.done ? null : await this.renew(shardId));
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
      let output;
      try {
        output = await this.client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: this.limit }));
      } catch (error) {
        // Iterators expire 15 minutes after they are issued (the bridge may have waited that long on a throttled
        // Kinesis): renew it right after the last record read, so nothing is lost or read twice.
        if (!isExpiredIterator(error)) throw error;
        this.positions.set(shardId, await this.renew(shardId));
        continue;
      }
      // No next iterator means the shard is closed and fully read: its children are there to be found.
      this.positions.set(shardId, output.NextShardIterator ?? null);
      if (!output.NextShardIterator) this.shardClosed = true;
      const batch = output.Records ?? [];
      const last = batch.at(-1)?.dynamodb?.SequenceNumber;
      if (last !== undefined) this.lastSequence.set(shardId, last);
      records.push(...batch);
      if (batch.length === 0) return records;
    }
  }

  private async renew(shardId: string): Promise<string | null> {
    const after = this.lastSequence.get(shardId);
    if (after === undefined) return this.trimHorizon(shardId);
    const output = await this.client.send(
      new GetShardIteratorCommand({
        StreamArn: this.streamArn,
        ShardId: shardId,
        ShardIteratorType: 'AFTER_SEQUENCE_NUMBER',
        SequenceNumber: after,
      }),
    );
    return output.ShardIterator ?? null;
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

function isExpiredIterator(error: unknown): boolean {
  return error instanceof Error && error.name === 'ExpiredIteratorException';
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
