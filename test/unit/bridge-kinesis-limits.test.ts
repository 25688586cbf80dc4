import type { _Record } from '@aws-sdk/client-dynamodb-streams';
import type { PutRecordsCommand, PutRecordsResultEntry } from '@aws-sdk/client-kinesis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StreamCapture } from '../../local/bridge/capture';
import { defaultBackoffMs, putInOrder, type KinesisSender, type ShardEntry } from '../../local/bridge/kinesis-put';

/*
 * Kinesis as AWS runs it, which kinesis-local does not: a shard takes at most 1 MiB and 1,000 records per second and
 * refuses the rest of a PutRecords call with ProvisionedThroughputExceededException, and a record whose data plus
 * partition key exceeds 1 MiB is refused outright.
 */
const MIB = 1024 * 1024;

/** One shard of a throttling Kinesis on a virtual clock (advanced only by the producer's backoff). */
function throttlingShard() {
  let nowMs = 0;
  const accepted: { atMs: number; bytes: number; tag: number }[] = [];
  const stream: number[] = [];
  const client = {
    send: async (command: PutRecordsCommand) => {
      const records = command.input.Records ?? [];
      for (const record of records) {
        if ((record.Data?.byteLength ?? 0) + Buffer.byteLength(record.PartitionKey ?? '') > MIB) {
          throw Object.assign(new Error('Record size exceeds 1 MiB'), { name: 'ValidationException' });
        }
      }
      const results: PutRecordsResultEntry[] = records.map((record) => {
        const window = accepted.filter((entry) => entry.atMs > nowMs - 1000);
        const bytes = (record.Data?.byteLength ?? 0) + Buffer.byteLength(record.PartitionKey ?? '');
        const used = window.reduce((sum, entry) => sum + entry.bytes, 0);
        if (window.length + 1 > 1000 || used + bytes > MIB) {
          return { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded for shard' };
        }
        const tag = new DataView(record.Data!.buffer, record.Data!.byteOffset).getUint32(0);
        accepted.push({ atMs: nowMs, bytes, tag });
        stream.push(tag);
        return { SequenceNumber: String(stream.length), ShardId: 'shardId-000000000000' };
      });
      nowMs += 20; // each call takes a little time
      return { Records: results, FailedRecordCount: results.filter((result) => result.ErrorCode).length };
    },
  } as unknown as KinesisSender;
  return { client, stream, advance: (ms: number) => (nowMs += ms), now: () => nowMs };
}

const entries = (count: number, bytes: number): ShardEntry<number>[] =>
  Array.from({ length: count }, (_, index) => {
    const data = new Uint8Array(bytes);
    new DataView(data.buffer).setUint32(0, index);
    return { data, partitionKey: 'A'.repeat(32), explicitHashKey: '1', tag: index };
  });

afterEach(() => vi.restoreAllMocks());

describe('putInOrder under AWS shard limits (1 MiB/s, 1,000 records/s)', () => {
  it('keeps close to the shard limit while it makes progress: backoff restarts after each partly accepted call', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const shard = throttlingShard();
    // 1,000 records of 10 KiB: 10 MiB, about 10 s at 1 MiB/s on AWS.
    const result = await putInOrder(entries(1000, 10 * 1024), {
      client: shard.client,
      streamArn: 'arn',
      onPut: () => undefined,
      onRetry: () => undefined,
      backoffMs: (attempt) => {
        shard.advance(defaultBackoffMs(attempt));
        return 0;
      },
    });
    expect(result.abandoned).toBe(0);
    // Every record is there, and its last copy is in order (nothing later overtook it).
    const last = new Map<number, number>();
    shard.stream.forEach((tag, position) => last.set(tag, position));
    const order = [...last.entries()].sort((a, b) => a[1] - b[1]).map(([tag]) => tag);
    expect(order).toEqual(Array.from({ length: 1000 }, (_, index) => index));
    // With the backoff growing across calls that did put something, this took about 35 virtual seconds.
    expect(shard.now()).toBeLessThan(15_000);
  });
});

describe('StreamCapture: a change larger than a Kinesis record', () => {
  /** A MODIFY of an item with a ~390 KB binary attribute: under DynamoDB's 400 KB, over 1 MiB as Kinesis JSON. */
  const bigModify = (eventID: string, version: number): _Record => ({
    eventID,
    eventName: 'MODIFY',
    awsRegion: 'us-east-1',
    dynamodb: {
      ApproximateCreationDateTime: new Date('2026-01-01T00:00:00.123Z'),
      Keys: { account_id: { S: 'ACC-BIG' } },
      NewImage: { account_id: { S: 'ACC-BIG' }, version: { N: String(version) }, blob: { B: new Uint8Array(400_000).fill(1) } },
      OldImage: { account_id: { S: 'ACC-BIG' }, version: { N: String(version - 1) }, blob: { B: new Uint8Array(400_000).fill(2) } },
      SizeBytes: 800_100,
    },
  });
  const small = (eventID: string): _Record => ({
    eventID,
    eventName: 'INSERT',
    awsRegion: 'us-east-1',
    dynamodb: {
      ApproximateCreationDateTime: new Date('2026-01-01T00:00:01.000Z'),
      Keys: { account_id: { S: 'ACC-1' } },
      NewImage: { account_id: { S: 'ACC-1' }, version: { N: '1' }, balance: { N: '0' } },
      SizeBytes: 40,
    },
  });

  it('is not forwarded (DynamoDB skips it, counts FailedToReplicateRecordCount and goes on), and what follows is', () => {
    const refused: { eventId: string | undefined; error: unknown }[] = [];
    const capture = new StreamCapture('Accounts', (eventId, error) => refused.push({ eventId, error }));
    const fresh = capture.fresh([bigModify('big', 2), small('after')]);
    expect(fresh.map((item) => item.change?.accountId)).toEqual(['ACC-1']);
    expect(refused.map(({ eventId }) => eventId)).toEqual(['big']);
    expect(String(refused[0]?.error)).toMatch(/1 MiB/);
    // Every capture that is forwarded fits one Kinesis record, and the put call can take it.
    for (const item of fresh) expect(item.bytes.byteLength + Buffer.byteLength(item.payload.partitionKey)).toBeLessThanOrEqual(MIB);
  });

  it('as the bridge used to forward it, an oversized record is refused on every try: the shard would stall for good', async () => {
    const shard = throttlingShard();
    const stop = new AbortController();
    let tries = 0;
    const result = await putInOrder(entries(1, MIB + 1), {
      client: shard.client,
      streamArn: 'arn',
      signal: stop.signal,
      onPut: () => undefined,
      onRetry: () => {
        tries += 1;
        if (tries === 5) stop.abort();
      },
      backoffMs: () => 0,
    });
    expect(result.abandoned).toBe(1);
    expect(shard.stream).toEqual([]);
  });
});
