import {
  CreateStreamCommand,
  DescribeStreamConsumerCommand,
  DescribeStreamSummaryCommand,
  ListShardsCommand,
  PutRecordsCommand,
  RegisterStreamConsumerCommand,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import type { KinesisStreamEvent } from 'aws-lambda';
import { beforeAll, describe, expect, test, type TestContext } from 'vitest';
import { useKinesisLocal } from '../support/kinesis-local';
import { LocalEventSourceMapping, type EventSourceMappingSettings } from '../../local/esm';

/*
 * Lambda's `Enabled` (Kinesis event source mapping parameters): "Set to false to stop processing records. Lambda keeps
 * track of the last record processed and resumes processing from that point when the mapping is reenabled." A disabled
 * mapping invokes nothing, and a drain of it must not report it caught up: a test that waits for a paused destination
 * must not pass because the local mapping kept delivering (or reported nothing left to deliver).
 */
const kinesisLocal = useKinesisLocal();
let client: KinesisClient;
beforeAll(() => {
  client = kinesisLocal.client();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
let streams = 0;

async function createStream(): Promise<{ streamArn: string; consumerArn: string; hashKey: string }> {
  streams += 1;
  const name = `esm-disabled-${streams}-${Date.now()}`;
  await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
  let streamArn = '';
  while (!streamArn) {
    const summary = (await client.send(new DescribeStreamSummaryCommand({ StreamName: name }))).StreamDescriptionSummary;
    if (summary?.StreamStatus === 'ACTIVE' && summary.StreamARN) streamArn = summary.StreamARN;
    else await sleep(50);
  }
  const consumerArn = (await client.send(new RegisterStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: 'esm' }))).Consumer?.ConsumerARN ?? '';
  while ((await client.send(new DescribeStreamConsumerCommand({ ConsumerARN: consumerArn }))).ConsumerDescription?.ConsumerStatus !== 'ACTIVE') await sleep(50);
  const shards = (await client.send(new ListShardsCommand({ StreamARN: streamArn }))).Shards ?? [];
  return { streamArn, consumerArn, hashKey: shards[0]?.HashKeyRange?.StartingHashKey ?? '0' };
}

async function put(stream: { streamArn: string; hashKey: string }, payloads: readonly string[]): Promise<void> {
  const result = await client.send(
    new PutRecordsCommand({
      StreamARN: stream.streamArn,
      Records: payloads.map((payload) => ({ Data: Buffer.from(payload), PartitionKey: 'k', ExplicitHashKey: stream.hashKey })),
    }),
  );
  expect(result.FailedRecordCount ?? 0).toBe(0);
}

const BASE: EventSourceMappingSettings = {
  batchSize: 100,
  maxBatchingWindowMs: 0,
  retryAttempts: 2,
  maxRecordAgeSeconds: -1,
  bisectBatchOnError: true,
  startingPosition: 'TRIM_HORIZON',
};

function mappingOf(context: TestContext, stream: { streamArn: string; consumerArn: string }, settings: Partial<EventSourceMappingSettings>) {
  const delivered: string[] = [];
  const mapping = new LocalEventSourceMapping({
    client,
    streamArn: stream.streamArn,
    consumerArn: stream.consumerArn,
    functionName: 'esm-disabled',
    settings: { ...BASE, ...settings },
    invoke: async (event: KinesisStreamEvent) => {
      for (const record of event.Records) delivered.push(Buffer.from(record.kinesis.data, 'base64').toString());
    },
    onFailure: async () => undefined,
    retryBackoff: { initialMs: 10, maxMs: 50 },
  });
  context.onTestFinished(() => mapping.stop());
  return { mapping, delivered };
}

describe.concurrent('LocalEventSourceMapping: Enabled false pauses the mapping as on AWS', () => {
  test('a mapping created disabled invokes nothing and never drains; enabled, it starts from its starting position', async (context) => {
    const stream = await createStream();
    await put(stream, ['a', 'b', 'c']);
    const { mapping, delivered } = mappingOf(context, stream, { enabled: false });
    await mapping.start();
    expect(mapping.enabled).toBe(false);
    expect(await mapping.drain(2_500)).toBe(false);
    expect(delivered).toEqual([]);
    expect(mapping.stats.invocations).toBe(0);

    await mapping.setEnabled(true);
    expect(mapping.enabled).toBe(true);
    expect(await mapping.drain(15_000)).toBe(true);
    expect(delivered).toEqual(['a', 'b', 'c']);
  });

  test('disabled while running, it stops invoking; re-enabled, it resumes after the last record processed', async (context) => {
    const stream = await createStream();
    await put(stream, ['one', 'two']);
    const { mapping, delivered } = mappingOf(context, stream, {});
    await mapping.start();
    expect(await mapping.drain(15_000)).toBe(true);
    expect(delivered).toEqual(['one', 'two']);

    await mapping.setEnabled(false);
    await put(stream, ['three', 'four']);
    expect(await mapping.drain(2_500)).toBe(false);
    expect(delivered).toEqual(['one', 'two']);

    await mapping.setEnabled(true);
    expect(await mapping.drain(15_000)).toBe(true);
    expect(delivered).toEqual(['one', 'two', 'three', 'four']);
  });
});
