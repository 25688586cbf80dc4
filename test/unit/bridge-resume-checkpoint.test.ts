import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamsClient, _Record } from '@aws-sdk/client-dynamodb-streams';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { describe, expect, it } from 'vitest';
import { KinesisBridge } from '../../local/bridge/kinesis-bridge';

/*
 * A bridge stopped and started again (a redeploy, a crash of the process that runs it) must go on from where it stood,
 * as DynamoDB's own replication to Kinesis does: nothing lost, and not the whole 24 hours of the DynamoDB stream put a
 * second time.
 */
function fakes() {
  const streamRecords: _Record[] = [];
  const add = (account: string, version: number) =>
    streamRecords.push({
      eventID: `${account}-${version}`,
      eventName: version === 1 ? 'INSERT' : 'MODIFY',
      awsRegion: 'us-east-1',
      dynamodb: {
        SequenceNumber: String(100 + streamRecords.length),
        ApproximateCreationDateTime: new Date(1_767_225_600_000 + streamRecords.length),
        Keys: { account_id: { S: account } },
        NewImage: { account_id: { S: account }, version: { N: String(version) }, balance: { N: '0' } },
        SizeBytes: 30,
      },
    });
  const put: string[] = [];
  const dynamodb = { send: async () => ({ Table: { LatestStreamArn: 'arn:ddb-stream' } }) } as unknown as DynamoDBClient;
  const streams = {
    send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      const input = command.input;
      switch (command.constructor.name) {
        case 'DescribeStreamCommand':
          return { StreamDescription: { Shards: [{ ShardId: 'shard-0', SequenceNumberRange: { StartingSequenceNumber: '100' } }] } };
        case 'GetShardIteratorCommand': {
          if (input.ShardIteratorType === 'TRIM_HORIZON') return { ShardIterator: '0' };
          const after = streamRecords.findIndex((record) => record.dynamodb?.SequenceNumber === input.SequenceNumber);
          return { ShardIterator: String(after + 1) };
        }
        case 'GetRecordsCommand': {
          const from = Number(input.ShardIterator);
          const records = streamRecords.slice(from, from + 2);
          return { Records: records, NextShardIterator: String(from + records.length) };
        }
        default:
          throw new Error(`unexpected ${command.constructor.name}`);
      }
    },
  } as unknown as DynamoDBStreamsClient;
  const kinesis = {
    send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      if (command.constructor.name === 'ListShardsCommand') {
        return { Shards: [{ ShardId: 'shardId-000000000000', HashKeyRange: { StartingHashKey: '0', EndingHashKey: (2n ** 128n - 1n).toString() } }] };
      }
      const records = (command.input.Records ?? []) as { Data: Uint8Array }[];
      for (const record of records) put.push(JSON.parse(Buffer.from(record.Data).toString('utf8')).eventID);
      return { Records: records.map((_, index) => ({ SequenceNumber: String(put.length + index), ShardId: 'shardId-000000000000' })), FailedRecordCount: 0 };
    },
  } as unknown as KinesisClient;
  return { add, put, dynamodb, streams, kinesis };
}

async function until(condition: () => boolean): Promise<void> {
  for (let waited = 0; !condition(); waited += 5) {
    if (waited > 5_000) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('KinesisBridge: stop and start again from a checkpoint', () => {
  it('resumes after the last change it put, losing none and putting none again', async () => {
    const world = fakes();
    for (let version = 1; version <= 3; version += 1) world.add('ACC-1', version);
    const chaos = { seed: 1, duplicateRate: 0, reorderRate: 0, reorderWindow: 0 };
    const options = { dynamodb: world.dynamodb, streams: world.streams, kinesis: world.kinesis, accountsTable: 'Accounts', streamArn: 'arn:kinesis', chaos, pollIntervalMs: 1 };
    const first = new KinesisBridge(options);
    first.start();
    await until(() => world.put.length === 3);
    await first.stop();
    const checkpoint = first.checkpoint;

    // While no bridge runs, the table changes on.
    world.add('ACC-1', 4);
    world.add('ACC-2', 1);
    const second = new KinesisBridge({ ...options, resumeFrom: checkpoint });
    second.start();
    await until(() => world.put.length >= 5);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await second.stop();
    expect(world.put).toEqual(['ACC-1-1', 'ACC-1-2', 'ACC-1-3', 'ACC-1-4', 'ACC-2-1']);
    expect(second.stats).toMatchObject({ captured: 2, put: 2, abandoned: 0 });
  });
});
