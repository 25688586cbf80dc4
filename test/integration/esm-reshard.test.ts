import {
  CreateStreamCommand,
  DescribeStreamConsumerCommand,
  DescribeStreamSummaryCommand,
  ListShardsCommand,
  PutRecordsCommand,
  RegisterStreamConsumerCommand,
  UpdateShardCountCommand,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import type { KinesisStreamEvent } from 'aws-lambda';
import { beforeAll, describe, expect, test } from 'vitest';
import { useKinesisLocal } from '../support/kinesis-local';
import { LocalEventSourceMapping } from '../../local/esm';

/*
 * A Lambda event source mapping follows a reshard: when a parent shard closes it goes on with the child shards, after
 * every record of the parent, so records put after a reshard reach the function and an account's records stay in
 * order across it. The local mapping does the same (`ShardGenerations`): a reader ends at its shard's last event, which
 * names the children, and they start from their start once the parent's records have settled.
 */

const kinesisLocal = useKinesisLocal();
let client: KinesisClient;

beforeAll(() => {
  client = kinesisLocal.client();
});

const SETTINGS = { batchSize: 100, maxBatchingWindowMs: 0, retryAttempts: 2, maxRecordAgeSeconds: -1, bisectBatchOnError: false, startingPosition: 'TRIM_HORIZON' } as const;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function activeStream(name: string): Promise<string> {
  for (;;) {
    const summary = (await client.send(new DescribeStreamSummaryCommand({ StreamName: name }))).StreamDescriptionSummary;
    if (summary?.StreamStatus === 'ACTIVE' && summary.StreamARN) return summary.StreamARN;
    await sleep(50);
  }
}

async function activeConsumer(streamArn: string, name: string): Promise<string> {
  const consumer = await client.send(new RegisterStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: name }));
  const consumerArn = consumer.Consumer?.ConsumerARN ?? '';
  for (;;) {
    const described = await client.send(new DescribeStreamConsumerCommand({ ConsumerARN: consumerArn }));
    if (described.ConsumerDescription?.ConsumerStatus === 'ACTIVE') return consumerArn;
    await sleep(50);
  }
}

async function put(streamArn: string, payloads: readonly string[]): Promise<void> {
  const result = await client.send(
    new PutRecordsCommand({ StreamARN: streamArn, Records: payloads.map((payload, i) => ({ Data: Buffer.from(payload), PartitionKey: `key-${i}` })) }),
  );
  expect(result.FailedRecordCount ?? 0).toBe(0);
}

/** A mapping from TRIM_HORIZON whose function notes each record's data, in the order it is invoked with them. */
function recordingMapping(streamArn: string, consumerArn: string, seen: string[]): LocalEventSourceMapping {
  return new LocalEventSourceMapping({
    client,
    streamArn,
    consumerArn,
    functionName: 'reshard-test',
    settings: SETTINGS,
    invoke: async (event: KinesisStreamEvent) => {
      for (const record of event.Records) seen.push(Buffer.from(record.kinesis.data, 'base64').toString());
    },
    onFailure: async () => undefined,
    retryBackoff: { initialMs: 10, maxMs: 50 },
  });
}

describe('the local event source mapping across a reshard', () => {
  test('records put on the child shards after a reshard reach the function, as on AWS', async () => {
    const name = `reshard-${Date.now()}`;
    await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
    const streamArn = await activeStream(name);
    const consumerArn = await activeConsumer(streamArn, 'esm');
    const seen: string[] = [];
    const mapping = recordingMapping(streamArn, consumerArn, seen);
    try {
      await mapping.start();
      await put(streamArn, ['before-1', 'before-2']);
      expect(await mapping.drain(15_000)).toBe(true);
      expect(seen).toEqual(['before-1', 'before-2']);

      await client.send(new UpdateShardCountCommand({ StreamARN: streamArn, TargetShardCount: 2, ScalingType: 'UNIFORM_SCALING' }));
      await activeStream(name);
      const shards = (await client.send(new ListShardsCommand({ StreamARN: streamArn }))).Shards ?? [];
      const open = shards.filter((shard) => shard.SequenceNumberRange?.EndingSequenceNumber === undefined);
      expect(shards.length).toBeGreaterThan(1);
      expect(open.every((shard) => shard.ShardId !== 'shardId-000000000000')).toBe(true);

      const after = Array.from({ length: 6 }, (_, i) => `after-${i}`);
      await put(streamArn, after);
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline && !after.every((payload) => seen.includes(payload))) await sleep(100);
      expect(seen.filter((payload) => payload.startsWith('after-')).sort(), 'records on the child shards never reached the function').toEqual(after);
      expect(await mapping.drain(15_000)).toBe(true);

      // A mapping started after the reshard, from TRIM_HORIZON (on a consumer of its own, as each mapping has): the
      // parent to its end, then its children.
      const later: string[] = [];
      const second = recordingMapping(streamArn, await activeConsumer(streamArn, 'esm-2'), later);
      try {
        await second.start();
        expect(await second.drain(30_000)).toBe(true);
        expect([...later].sort()).toEqual([...after, 'before-1', 'before-2'].sort());
        expect(later.slice(0, 2), 'the parent is read to its end before any child').toEqual(['before-1', 'before-2']);
      } finally {
        await second.stop();
      }
    } finally {
      await mapping.stop();
    }
  }, 120_000);
});
