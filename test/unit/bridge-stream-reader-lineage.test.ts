import type { DynamoDBStreamsClient, _Record } from '@aws-sdk/client-dynamodb-streams';
import { describe, expect, it } from 'vitest';
import { DynamoDBStreamReader } from '../../local/bridge/stream-reader';

/*
 * A fake DynamoDB Streams service with the behaviours AWS documents and DynamoDB Local rarely shows: a shard rolls
 * over (closes, gets a child) while its last records are still unread, GetRecords may return an empty page before the
 * end of a shard ("it might take multiple calls to get to a portion of the shard that contains stream records"), and a
 * shard iterator expires 15 minutes after it was issued (ExpiredIteratorException).
 */
interface FakeShard {
  readonly id: string;
  readonly parent?: string;
  /** Pages GetRecords returns in turn; an empty page is a page with no records. */
  readonly pages: string[][];
  closed: boolean;
}

function fakeStreams(shards: FakeShard[]) {
  let issued = 0;
  const expired = new Set<string>();
  const iteratorCalls: { shardId: string; type: string; after?: string }[] = [];
  const record = (shard: FakeShard, seq: string): _Record => ({
    eventID: seq,
    eventName: 'MODIFY',
    dynamodb: { SequenceNumber: seq, Keys: { account_id: { S: shard.id } } },
  });
  const iterator = (shardId: string, page: number) => `${shardId}|${page}|${(issued += 1)}`;
  const client = {
    send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      const input = command.input;
      switch (command.constructor.name) {
        case 'DescribeStreamCommand':
          return {
            StreamDescription: {
              Shards: shards.map((shard) => ({
                ShardId: shard.id,
                ...(shard.parent ? { ParentShardId: shard.parent } : {}),
                SequenceNumberRange: { StartingSequenceNumber: '0', ...(shard.closed ? { EndingSequenceNumber: '9' } : {}) },
              })),
            },
          };
        case 'GetShardIteratorCommand': {
          const shardId = input.ShardId as string;
          const type = input.ShardIteratorType as string;
          const after = input.SequenceNumber as string | undefined;
          iteratorCalls.push({ shardId, type, ...(after ? { after } : {}) });
          const shard = shards.find((candidate) => candidate.id === shardId)!;
          if (type === 'TRIM_HORIZON') return { ShardIterator: iterator(shardId, 0) };
          // AFTER_SEQUENCE_NUMBER: the page after the one holding `after` (records are unique per page here).
          const page = shard.pages.findIndex((records) => records.includes(after ?? ''));
          return { ShardIterator: iterator(shardId, page + 1) };
        }
        case 'GetRecordsCommand': {
          const token = input.ShardIterator as string;
          if (expired.has(token)) {
            throw Object.assign(new Error('Iterator expired'), { name: 'ExpiredIteratorException' });
          }
          const [shardId, pageText] = token.split('|') as [string, string];
          const shard = shards.find((candidate) => candidate.id === shardId)!;
          const page = Number(pageText);
          const records = (shard.pages[page] ?? []).map((seq) => record(shard, seq));
          const atEnd = page + 1 >= shard.pages.length;
          if (atEnd && shard.closed) return { Records: records };
          // An open shard at its end keeps returning empty pages from the same place.
          return { Records: records, NextShardIterator: iterator(shardId, atEnd && records.length === 0 ? page : page + 1) };
        }
        default:
          throw new Error(`unexpected ${command.constructor.name}`);
      }
    },
    /** Every iterator handed out so far stops working, as after 15 minutes without use. */
    expireAll: () => {
      for (let n = 1; n <= issued; n += 1) for (const shard of shards) for (let p = 0; p <= shard.pages.length; p += 1) expired.add(`${shard.id}|${p}|${n}`);
    },
  };
  return { client: client as unknown as DynamoDBStreamsClient & { expireAll(): void }, iteratorCalls, expireAll: client.expireAll };
}

const ids = (records: readonly _Record[]) => records.map((record) => record.eventID);

describe('DynamoDBStreamReader: shard lineage and iterator expiry, as on AWS', () => {
  it('does not read a child shard before its closed parent is read to its end, even across an empty page', async () => {
    const parent: FakeShard = { id: 'shard-parent', pages: [['p1', 'p2'], [], ['p3']], closed: true };
    const child: FakeShard = { id: 'shard-child', parent: 'shard-parent', pages: [['c1'], []], closed: false };
    const { client } = fakeStreams([parent, child]);
    const reader = new DynamoDBStreamReader({ client, streamArn: 'arn:stream' });
    const read: string[] = [];
    for (let poll = 0; poll < 5; poll += 1) read.push(...(ids(await reader.poll()) as string[]));
    // The same item's changes: everything of the parent comes before anything of the child.
    expect(read).toEqual(['p1', 'p2', 'p3', 'c1']);
  });

  it('renews an expired iterator where it stood (AFTER_SEQUENCE_NUMBER), losing and repeating nothing', async () => {
    const shard: FakeShard = { id: 'shard-0', pages: [['r1', 'r2'], ['r3'], []], closed: false };
    const fake = fakeStreams([shard]);
    const reader = new DynamoDBStreamReader({ client: fake.client, streamArn: 'arn:stream' });
    const read: string[] = [...(ids(await reader.poll()) as string[])];
    expect(read).toEqual(['r1', 'r2', 'r3']);
    // 15 minutes pass without a read (the bridge waited on a throttled Kinesis); two more changes arrive.
    shard.pages.splice(2, 1, ['r4', 'r5'], []);
    fake.expireAll();
    read.push(...(ids(await reader.poll()) as string[]));
    expect(read).toEqual(['r1', 'r2', 'r3', 'r4', 'r5']);
    expect(fake.iteratorCalls.at(-1)).toEqual({ shardId: 'shard-0', type: 'AFTER_SEQUENCE_NUMBER', after: 'r3' });
  });
});
