import {
  CreateStreamCommand,
  DescribeStreamConsumerCommand,
  DescribeStreamSummaryCommand,
  ListShardsCommand,
  PutRecordsCommand,
  RegisterStreamConsumerCommand,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import { fileURLToPath } from 'node:url';
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { beforeAll, describe, expect, onTestFinished, test, type TestContext } from 'vitest';
import { useKinesisLocal } from '../support/kinesis-local';
import {
  LocalEventSourceMapping,
  type BatchReport,
  type EventSourceMappingSettings,
  type LocalEventSourceMappingOptions,
  type OnFailureRecord,
} from '../../local/esm';
import { FunctionError, LocalFunction } from '../../local/functions/local-function';

interface TestStream {
  readonly streamArn: string;
  readonly consumerArn: string;
  /** Shard ids in order, with a hash key that lands in each. */
  readonly shards: readonly { readonly shardId: string; readonly hashKey: string }[];
}

/** One invocation as the fake function saw it. */
interface Call {
  readonly shardId: string;
  readonly payloads: string[];
  readonly sequenceNumbers: string[];
  readonly at: number;
}

const kinesisLocal = useKinesisLocal();
let client: KinesisClient;
let streams = 0;

beforeAll(() => {
  client = kinesisLocal.client();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function createStream(): Promise<TestStream> {
  streams += 1;
  const name = `esm-${streams}-${Date.now()}`;
  await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: 2 }));
  let streamArn = '';
  for (;;) {
    const summary = (await client.send(new DescribeStreamSummaryCommand({ StreamName: name }))).StreamDescriptionSummary;
    if (summary?.StreamStatus === 'ACTIVE' && summary.StreamARN) {
      streamArn = summary.StreamARN;
      break;
    }
    await sleep(50);
  }
  const consumer = await client.send(new RegisterStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: 'esm' }));
  const consumerArn = consumer.Consumer?.ConsumerARN ?? '';
  for (;;) {
    const described = await client.send(new DescribeStreamConsumerCommand({ ConsumerARN: consumerArn }));
    if (described.ConsumerDescription?.ConsumerStatus === 'ACTIVE') break;
    await sleep(50);
  }
  const listed = await client.send(new ListShardsCommand({ StreamARN: streamArn }));
  const shards = (listed.Shards ?? [])
    .map((shard) => ({ shardId: shard.ShardId ?? '', hashKey: shard.HashKeyRange?.StartingHashKey ?? '0' }))
    .sort((a, b) => a.shardId.localeCompare(b.shardId));
  expect(shards).toHaveLength(2);
  return { streamArn, consumerArn, shards };
}

/** Puts the payloads on one shard (ExplicitHashKey), in one PutRecords call; returns their sequence numbers. */
async function put(stream: TestStream, shard: number, payloads: readonly string[]): Promise<string[]> {
  const hashKey = stream.shards[shard]?.hashKey ?? '0';
  const result = await client.send(
    new PutRecordsCommand({
      StreamARN: stream.streamArn,
      Records: payloads.map((payload) => ({ Data: Buffer.from(payload), PartitionKey: 'k', ExplicitHashKey: hashKey })),
    }),
  );
  expect(result.FailedRecordCount ?? 0).toBe(0);
  const sequenceNumbers = (result.Records ?? []).map((record) => record.SequenceNumber ?? '');
  return sequenceNumbers;
}

const labels = (prefix: string, count: number): string[] => Array.from({ length: count }, (_, i) => `${prefix}-${i}`);

/** A fake function: records every call, then answers with `respond` (which may throw). */
function fakeFunction(respond: (call: Call, calls: readonly Call[]) => Promise<KinesisStreamBatchResponse | void> | KinesisStreamBatchResponse | void = () => undefined) {
  const calls: Call[] = [];
  const inFlight = new Map<string, number>();
  let overlapWithinShard = false;
  let overlapAcrossShards = false;
  const invoke = async (event: KinesisStreamEvent): Promise<KinesisStreamBatchResponse | void> => {
    const shardId = event.Records[0]?.eventID.split(':')[0] ?? '';
    const call: Call = {
      shardId,
      payloads: event.Records.map((record) => Buffer.from(record.kinesis.data, 'base64').toString()),
      sequenceNumbers: event.Records.map((record) => record.kinesis.sequenceNumber),
      at: Date.now(),
    };
    if ((inFlight.get(shardId) ?? 0) > 0) overlapWithinShard = true;
    if ([...inFlight.entries()].some(([other, count]) => other !== shardId && count > 0)) overlapAcrossShards = true;
    inFlight.set(shardId, (inFlight.get(shardId) ?? 0) + 1);
    calls.push(call);
    try {
      return await respond(call, calls);
    } finally {
      inFlight.set(shardId, (inFlight.get(shardId) ?? 0) - 1);
    }
  };
  return {
    invoke,
    calls,
    ofShard: (shardId: string) => calls.filter((call) => call.shardId === shardId),
    get overlapWithinShard() {
      return overlapWithinShard;
    },
    get overlapAcrossShards() {
      return overlapAcrossShards;
    },
  };
}

/** Payloads of the invocations that succeeded, per shard, in order. */
function accepted(calls: readonly Call[], shardId: string, failedCalls: ReadonlySet<Call>): string[] {
  return calls.filter((call) => call.shardId === shardId && !failedCalls.has(call)).flatMap((call) => call.payloads);
}

/** The settings every test mapping starts from: valid on AWS, no batching window, no age limit, no bisecting. */
const BASE_SETTINGS: EventSourceMappingSettings = {
  batchSize: 100,
  maxBatchingWindowMs: 0,
  retryAttempts: 2,
  maxRecordAgeSeconds: -1,
  bisectBatchOnError: false,
  startingPosition: 'TRIM_HORIZON',
};

/** Starts a mapping that is stopped when the test (given by its context, tests may run concurrently) ends. */
function startMapping(
  context: TestContext,
  stream: TestStream,
  invoke: LocalEventSourceMappingOptions['invoke'],
  settings: Partial<EventSourceMappingSettings> = {},
  extra: Partial<LocalEventSourceMappingOptions> = {},
): { mapping: LocalEventSourceMapping; failures: OnFailureRecord[]; started: Promise<void> } {
  const failures: OnFailureRecord[] = [];
  const mapping = new LocalEventSourceMapping({
    client,
    streamArn: stream.streamArn,
    consumerArn: stream.consumerArn,
    functionName: 'esm-test',
    settings: { ...BASE_SETTINGS, ...settings },
    invoke,
    onFailure: async (record) => {
      failures.push(record);
    },
    retryBackoff: { initialMs: 10, maxMs: 50 },
    ...extra,
  });
  (context.onTestFinished ?? onTestFinished)(() => mapping.stop());
  return { mapping, failures, started: mapping.start() };
}

describe('LocalEventSourceMapping on kinesis-local (EFO): delivery, batching, drain, stop, resubscription', () => {
  test('delivers every record once, in per-shard order, batches of at most batchSize, one invocation per shard at a time', async (context) => {
    const stream = await createStream();
    const [first, second] = [labels('a', 120), labels('b', 75)];
    await put(stream, 0, first.slice(0, 70));
    await put(stream, 0, first.slice(70));
    const lastOfSecond = (await put(stream, 1, second)).at(-1);
    let firstCalls = 0;
    const fn = fakeFunction(async () => {
      // The first invocation of each shard waits for the other shard's: shards are served side by side.
      firstCalls += 1;
      if (firstCalls <= 2) await waitFor(() => firstCalls >= 2, 'both shards invoked', 3_000).catch(() => undefined);
      await sleep(5);
    });
    const { mapping, failures, started } = startMapping(context, stream, fn.invoke, { batchSize: 25 });
    await started;
    expect(await mapping.drain(15_000)).toBe(true);

    const [shard0, shard1] = stream.shards.map((shard) => shard.shardId) as [string, string];
    expect(fn.ofShard(shard0).flatMap((call) => call.payloads)).toEqual(first);
    expect(fn.ofShard(shard1).flatMap((call) => call.payloads)).toEqual(second);
    expect(Math.max(...fn.calls.map((call) => call.payloads.length))).toBeLessThanOrEqual(25);
    expect(fn.overlapWithinShard).toBe(false);
    expect(fn.overlapAcrossShards).toBe(true);
    expect(failures).toEqual([]);
    expect(mapping.stats).toMatchObject({ records: 195, retries: 0, bisections: 0, sentToOnFailure: 0 });
    expect(mapping.stats.invocations).toBe(fn.calls.length);
    expect(mapping.stats.checkpoints[shard1]).toBe(lastOfSecond);
  });

  test('the batching window gathers a slow trickle into few invocations; a 0 window invokes promptly', async (context) => {
    const [slowStream, fastStream] = await Promise.all([createStream(), createStream()]);
    const slow = fakeFunction();
    const fast = fakeFunction();
    const a = startMapping(context, slowStream, slow.invoke, { maxBatchingWindowMs: 2_500 });
    const b = startMapping(context, fastStream, fast.invoke, { maxBatchingWindowMs: 0 });
    await Promise.all([a.started, b.started]);
    // Both shards of both streams subscribed.
    await waitFor(() => a.mapping.stats.subscriptions === 2 && b.mapping.stats.subscriptions === 2, 'the subscriptions');

    const trickle = labels('t', 5);
    const firstPut = Date.now();
    const fastPut = put(fastStream, 0, ['prompt']).then(() => Date.now());
    for (const payload of trickle) {
      await put(slowStream, 0, [payload]);
      await sleep(250);
    }
    const fastPutAt = await fastPut;
    await waitFor(() => slow.calls.flatMap((call) => call.payloads).length === trickle.length, 'the trickle');

    expect(slow.calls.flatMap((call) => call.payloads)).toEqual(trickle);
    expect(slow.calls.length).toBeLessThanOrEqual(2);
    // The first batch waited for its window from its first record's arrival.
    expect((slow.calls[0]?.at ?? 0) - firstPut).toBeGreaterThanOrEqual(2_400);
    expect(fast.calls.map((call) => call.payloads)).toEqual([['prompt']]);
    // kinesis-mock pushes an event about once a second; nothing waits on top of that, so the 0 window is invoked well
    // before the 2.5 s window (compared with each other, not with a wall-clock bound a loaded machine could miss).
    expect((fast.calls[0]?.at ?? Infinity) - fastPutAt).toBeLessThan((slow.calls[0]?.at ?? 0) - firstPut);
  });

  test('drain reports whether it caught up; stop waits for the invocation in flight and ends everything', async (context) => {
    const stream = await createStream();
    await put(stream, 0, ['held']);
    let release = (): void => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let finished = 0;
    const fn = fakeFunction(async (call) => {
      if (call.payloads.includes('held')) await gate;
      if (call.payloads.includes('slow')) await sleep(400);
      finished += 1;
    });
    const { mapping, started } = startMapping(context, stream, fn.invoke);
    await started;
    expect(await mapping.drain(1_000)).toBe(false);
    release();
    expect(await mapping.drain(10_000)).toBe(true);

    await put(stream, 1, ['slow']);
    await waitFor(() => fn.calls.length === 2, 'the slow invocation');
    await mapping.stop();
    expect(finished).toBe(2); // stop waited for it
    const { subscriptions, invocations } = mapping.stats;
    await put(stream, 0, ['after-stop']);
    await sleep(1_200);
    expect(mapping.stats.invocations).toBe(invocations);
    expect(mapping.stats.subscriptions).toBe(subscriptions);
  });

  test('sessions that end are resumed after the last record: nothing lost, repeated or reordered', async (context) => {
    const stream = await createStream();
    const fn = fakeFunction();
    const { mapping, started } = startMapping(context, stream, fn.invoke, { batchSize: 7 }, { subscriptionMaxMs: 800 });
    await started;
    const expected: [string[], string[]] = [[], []];
    for (let wave = 0; wave < 4; wave += 1) {
      for (const shard of [0, 1] as const) {
        const payloads = labels(`w${wave}s${shard}`, 15);
        expected[shard].push(...payloads);
        await put(stream, shard, payloads);
      }
      await sleep(400);
    }
    expect(await mapping.drain(15_000)).toBe(true);
    const [shard0, shard1] = stream.shards.map((shard) => shard.shardId) as [string, string];
    expect(fn.ofShard(shard0).flatMap((call) => call.payloads)).toEqual(expected[0]);
    expect(fn.ofShard(shard1).flatMap((call) => call.payloads)).toEqual(expected[1]);
    expect(mapping.stats.subscriptions).toBeGreaterThanOrEqual(4);
  });
});

// Each test has its own stream, so these run side by side.
describe.concurrent('LocalEventSourceMapping on kinesis-local (EFO): failure handling', () => {
  test('a partial failure is retried from the lowest failed record; an unknown identifier fails the whole batch', async (context) => {
    const stream = await createStream();
    const [shard0, shard1] = stream.shards.map((shard) => shard.shardId) as [string, string];
    const sequence0 = await put(stream, 0, labels('p', 10));
    await put(stream, 1, labels('q', 5));
    const fn = fakeFunction((call, calls) => {
      const attempt = calls.filter((other) => other.shardId === call.shardId).length;
      if (attempt > 1) return { batchItemFailures: [] };
      if (call.shardId === shard0) {
        return { batchItemFailures: [{ itemIdentifier: sequence0[6] ?? '' }, { itemIdentifier: sequence0[4] ?? '' }] };
      }
      return { batchItemFailures: [{ itemIdentifier: 'not-a-sequence-number' }] };
    });
    const { mapping, failures, started } = startMapping(context, stream, fn.invoke, { batchSize: 10, bisectBatchOnError: true });
    await started;
    await waitFor(() => mapping.stats.records === 15, 'all records');

    expect(fn.ofShard(shard0).map((call) => call.payloads)).toEqual([labels('p', 10), labels('p', 10).slice(4)]);
    // An invalid identifier is a failure of the whole batch, retried whole (no bisection: the function did not throw).
    expect(fn.ofShard(shard1).map((call) => call.payloads)).toEqual([labels('q', 5), labels('q', 5)]);
    expect(failures).toEqual([]);
    expect(mapping.stats).toMatchObject({ invocations: 4, retries: 2, bisections: 0, sentToOnFailure: 0 });
    expect(mapping.stats.checkpoints[shard0]).toBe(sequence0[9]);
  });

  test('records that keep failing by batchItemFailures go to on-failure from the lowest failed record', async (context) => {
    const stream = await createStream();
    const [shard0] = stream.shards.map((shard) => shard.shardId) as [string];
    const sequence = await put(stream, 0, labels('r', 6));
    const fn = fakeFunction((call) => {
      const index = call.sequenceNumbers.indexOf(sequence[3] ?? '');
      return index < 0 ? undefined : { batchItemFailures: [{ itemIdentifier: sequence[3] ?? '' }] };
    });
    const { mapping, failures, started } = startMapping(context, stream, fn.invoke, { batchSize: 6, retryAttempts: 1 });
    await started;
    await waitFor(() => failures.length === 1, 'the on-failure record');

    expect(fn.ofShard(shard0).map((call) => call.payloads)).toEqual([labels('r', 6), labels('r', 6).slice(3)]);
    const [record] = failures;
    expect(record?.requestContext).toMatchObject({ condition: 'RetryAttemptsExhausted', approximateInvokeCount: 2 });
    expect(record?.responseContext).toEqual({ statusCode: 200, executedVersion: '$LATEST' });
    expect(record?.KinesisBatchInfo).toMatchObject({
      shardId: shard0,
      startSequenceNumber: sequence[3],
      endSequenceNumber: sequence[5],
      batchSize: 3,
    });
    expect(mapping.stats).toMatchObject({ records: 3, sentToOnFailure: 3, retries: 1 });
    expect(mapping.stats.checkpoints[shard0]).toBe(sequence[5]);
  });

  test('with bisect, a thrown error splits the batch until the poison record alone goes to on-failure', async (context) => {
    const stream = await createStream();
    const [shard0, shard1] = stream.shards.map((shard) => shard.shardId) as [string, string];
    const payloads = labels('x', 20);
    payloads[13] = 'poison';
    const sequence = await put(stream, 0, payloads);
    await put(stream, 1, labels('y', 8));
    const failedCalls = new Set<Call>();
    const fn = fakeFunction((call) => {
      if (call.payloads.includes('poison')) {
        failedCalls.add(call);
        throw new Error('cannot digest this');
      }
    });
    const { mapping, failures, started } = startMapping(context, stream, fn.invoke, {
      batchSize: 20,
      retryAttempts: 1,
      bisectBatchOnError: true,
    });
    await started;
    await waitFor(() => mapping.stats.records + mapping.stats.sentToOnFailure === 28, 'all records');

    // 20 ✗ → 10 ✓ + 10 ✗ → 5 ✗ → 3 ✓ + 2 ✗ → 1 ✗, its retry ✗ (on-failure) → 1 ✓ → then the other half's 5 ✓
    expect(fn.ofShard(shard0).map((call) => call.payloads.length)).toEqual([20, 10, 10, 5, 3, 2, 1, 1, 1, 5]);
    expect(accepted(fn.calls, shard0, failedCalls)).toEqual(payloads.filter((payload) => payload !== 'poison'));
    expect(accepted(fn.calls, shard1, failedCalls)).toEqual(labels('y', 8));
    expect(failures).toHaveLength(1);
    const record = failures[0] as OnFailureRecord;
    expect(record.version).toBe('1.0');
    expect(record.requestContext).toMatchObject({
      condition: 'RetryAttemptsExhausted',
      approximateInvokeCount: 2,
      functionArn: 'arn:aws:lambda:local:000000000000:function:esm-test',
    });
    expect(record.responseContext).toEqual({ statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' });
    expect(record.KinesisBatchInfo).toMatchObject({
      shardId: shard0,
      startSequenceNumber: sequence[13],
      endSequenceNumber: sequence[13],
      batchSize: 1,
      streamArn: stream.streamArn,
    });
    expect(record.KinesisBatchInfo.approximateArrivalOfFirstRecord).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(record.KinesisBatchInfo.approximateArrivalOfLastRecord).toBe(record.KinesisBatchInfo.approximateArrivalOfFirstRecord);
    const payload = JSON.parse(record.payload) as KinesisStreamEvent;
    expect(payload.Records.map((r) => r.kinesis.sequenceNumber)).toEqual([sequence[13]]);
    expect(mapping.stats).toMatchObject({ bisections: 4, retries: 1, sentToOnFailure: 1, records: 27, invocations: 11 });
    expect(mapping.stats.checkpoints[shard0]).toBe(sequence[19]);
  });

  test('without bisect, the whole failing batch goes to on-failure after retryAttempts; the next batches carry on', async (context) => {
    const stream = await createStream();
    const [shard0] = stream.shards.map((shard) => shard.shardId) as [string];
    const payloads = labels('z', 30);
    payloads[15] = 'poison';
    const sequence = await put(stream, 0, payloads);
    const fn = fakeFunction((call) => {
      if (call.payloads.includes('poison')) throw new Error('cannot digest this');
    });
    const { mapping, failures, started } = startMapping(context, stream, fn.invoke, { batchSize: 10, retryAttempts: 2 });
    await started;
    await waitFor(() => mapping.stats.records + mapping.stats.sentToOnFailure === 30, 'all records');

    expect(fn.ofShard(shard0).map((call) => call.payloads[0])).toEqual(['z-0', 'z-10', 'z-10', 'z-10', 'z-20']);
    expect(failures).toHaveLength(1);
    expect(failures[0]?.requestContext).toMatchObject({ condition: 'RetryAttemptsExhausted', approximateInvokeCount: 3 });
    expect(failures[0]?.KinesisBatchInfo).toMatchObject({
      startSequenceNumber: sequence[10],
      endSequenceNumber: sequence[19],
      batchSize: 10,
    });
    expect(mapping.stats).toMatchObject({ retries: 2, bisections: 0, records: 20, sentToOnFailure: 10 });
    expect(mapping.stats.checkpoints[shard0]).toBe(sequence[29]);
  });

  test('LATEST skips what the stream held; AT_TIMESTAMP starts at the timestamp', async (context) => {
    const [latestStream, timestampStream] = await Promise.all([createStream(), createStream()]);
    await put(latestStream, 0, ['old']);
    await put(timestampStream, 0, ['early']);
    await sleep(150);
    const from = new Date();
    await sleep(150);
    await put(timestampStream, 0, ['late']);
    const latest = fakeFunction();
    const timestamped = fakeFunction();
    const a = startMapping(context, latestStream, latest.invoke, { startingPosition: 'LATEST' });
    const b = startMapping(context, timestampStream, timestamped.invoke, {
      startingPosition: 'AT_TIMESTAMP',
      startingPositionTimestamp: from,
    });
    await Promise.all([a.started, b.started]);
    await waitFor(() => a.mapping.stats.subscriptions === 2, 'the LATEST subscriptions');
    await put(latestStream, 0, ['new']);
    expect(await Promise.all([a.mapping.drain(10_000), b.mapping.drain(10_000)])).toEqual([true, true]);
    expect(latest.calls.flatMap((call) => call.payloads)).toEqual(['new']);
    expect(timestamped.calls.flatMap((call) => call.payloads)).toEqual(['late']);
  });

  test('records that expire while retried go to on-failure before the next invocation, not after one', async (context) => {
    const stream = await createStream();
    await put(stream, 0, ['old']);
    const fn = fakeFunction(() => {
      throw new Error('down');
    });
    const { mapping, failures, started } = startMapping(
      context,
      stream,
      fn.invoke,
      { retryAttempts: -1, maxRecordAgeSeconds: 60 },
      { retryBackoff: { initialMs: 100, maxMs: 200 }, testOnlyMaxRecordAgeMs: 3_000 },
    );
    await started;
    await waitFor(() => failures.length === 1, 'the on-failure record');
    const [record] = failures;
    expect(record?.requestContext).toMatchObject({ condition: 'RecordAgeExceeded', approximateInvokeCount: fn.calls.length });
    expect(record?.responseContext).toEqual({ statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' });
    expect(fn.calls.length).toBeGreaterThan(1);
    // Every invocation happened while the record was young enough: none was made to find out it was too old.
    const arrival = Date.parse(record?.KinesisBatchInfo.approximateArrivalOfFirstRecord ?? '');
    for (const call of fn.calls) expect(call.at - arrival).toBeLessThanOrEqual(3_050);
    expect(mapping.stats).toMatchObject({ sentToOnFailure: 1, expiredBeforeInvoke: 0 });
  });
});

describe.concurrent('LocalEventSourceMapping on kinesis-local (EFO): what AWS does that a kind local world would not', () => {
  test('with a record age limit, records already too old are sent to on-failure without invoking; with -1 none are', async (context) => {
    const [limited, unlimited] = await Promise.all([createStream(), createStream()]);
    const [shard0] = limited.shards.map((shard) => shard.shardId) as [string];
    const old = labels('old', 5);
    const fresh = labels('new', 3);
    const [oldSequence] = await Promise.all([put(limited, 0, old), put(unlimited, 0, old)]);
    // The mapping starts late: the old records are past the limit by the time it reads them, the fresh ones are not.
    await sleep(4_000);
    const [freshSequence] = await Promise.all([put(limited, 0, fresh), put(unlimited, 0, fresh)]);
    const a = fakeFunction();
    const b = fakeFunction();
    const limitedRun = startMapping(context, limited, a.invoke, { maxRecordAgeSeconds: 60 }, { testOnlyMaxRecordAgeMs: 3_000 });
    const unlimitedRun = startMapping(context, unlimited, b.invoke, { maxRecordAgeSeconds: -1 });
    await Promise.all([limitedRun.started, unlimitedRun.started]);
    expect(await Promise.all([limitedRun.mapping.drain(15_000), unlimitedRun.mapping.drain(15_000)])).toEqual([true, true]);

    expect(a.calls.flatMap((call) => call.payloads)).toEqual(fresh);
    expect(limitedRun.failures).toHaveLength(1);
    const record = limitedRun.failures[0] as OnFailureRecord;
    expect(record.requestContext).toMatchObject({ condition: 'RecordAgeExceeded', approximateInvokeCount: 0 });
    expect(record.responseContext).toBeUndefined(); // never invoked: no response to report
    expect(record.KinesisBatchInfo).toMatchObject({
      shardId: shard0,
      startSequenceNumber: oldSequence?.[0],
      endSequenceNumber: oldSequence?.[4],
      batchSize: 5,
    });
    const payload = JSON.parse(record.payload) as KinesisStreamEvent;
    expect(payload.Records.map((r) => r.kinesis.sequenceNumber)).toEqual(oldSequence);
    expect(limitedRun.mapping.stats).toMatchObject({ records: 3, sentToOnFailure: 5, expiredBeforeInvoke: 5 });
    expect(limitedRun.mapping.stats.checkpoints[shard0]).toBe(freshSequence?.at(-1));

    expect(b.calls.flatMap((call) => call.payloads)).toEqual([...old, ...fresh]);
    expect(unlimitedRun.failures).toEqual([]);
    expect(unlimitedRun.mapping.stats).toMatchObject({ records: 8, sentToOnFailure: 0, expiredBeforeInvoke: 0 });
  });

  test('an invocation that outlives the function timeout is a function error: retried, then sent to on-failure', async (context) => {
    const stream = await createStream();
    const [shard0] = stream.shards.map((shard) => shard.shardId) as [string];
    const sequence = await put(stream, 0, ['ok-1', 'hang', 'ok-2']);
    const fn = new LocalFunction({
      functionName: 'esm-timeout',
      entry: fileURLToPath(new URL('./lambda-hang-handler.ts', import.meta.url)),
      environment: {},
      timeoutMs: 1_000,
    });
    context.onTestFinished(() => fn.stop());
    const reports: BatchReport[] = [];
    const { mapping, failures, started } = startMapping(
      context,
      stream,
      (event, invocationContext) => fn.invoke(event, invocationContext),
      { batchSize: 1, retryAttempts: 1, bisectBatchOnError: true },
      { onBatch: (report) => reports.push(report) },
    );
    await started;
    await waitFor(() => mapping.stats.records + mapping.stats.sentToOnFailure === 3, 'all records', 20_000);

    expect(failures).toHaveLength(1);
    expect(failures[0]?.requestContext).toMatchObject({ condition: 'RetryAttemptsExhausted', approximateInvokeCount: 2 });
    expect(failures[0]?.responseContext).toMatchObject({ functionError: 'Unhandled' });
    expect(failures[0]?.KinesisBatchInfo).toMatchObject({ startSequenceNumber: sequence[1], endSequenceNumber: sequence[1] });
    const timedOut = reports.filter((report) => report.error !== undefined);
    expect(timedOut).toHaveLength(2);
    for (const report of timedOut) {
      expect(report.error).toBeInstanceOf(FunctionError);
      expect(report.error).toMatchObject({ errorType: 'Sandbox.Timedout' });
      expect(report.durationMs).toBeGreaterThanOrEqual(990);
    }
    expect(mapping.stats).toMatchObject({ records: 2, retries: 1, sentToOnFailure: 1 });
    expect(mapping.stats.checkpoints[shard0]).toBe(sequence[2]);
  });

  test('an on-failure destination that is down is tried a bounded number of times; the records are dropped and reported', async (context) => {
    const stream = await createStream();
    const [shard0] = stream.shards.map((shard) => shard.shardId) as [string];
    const sequence = await put(stream, 0, ['a', 'poison', 'b']);
    const fn = fakeFunction((call) => {
      if (call.payloads.includes('poison')) throw new Error('cannot digest this');
    });
    const dropped: { record: OnFailureRecord; error: unknown }[] = [];
    let attempts = 0;
    const { mapping, started } = startMapping(
      context,
      stream,
      fn.invoke,
      { batchSize: 1, retryAttempts: 0 },
      {
        onFailure: async () => {
          attempts += 1;
          throw new Error('AccessDenied');
        },
        onFailureAttempts: 3,
        onFailureDropped: (record, error) => dropped.push({ record, error }),
      },
    );
    await started;
    expect(await mapping.drain(15_000)).toBe(true);

    expect(fn.calls.map((call) => call.payloads[0])).toEqual(['a', 'poison', 'b']);
    expect(attempts).toBe(3);
    expect(dropped).toHaveLength(1);
    expect(dropped[0]?.record.KinesisBatchInfo).toMatchObject({ startSequenceNumber: sequence[1], batchSize: 1 });
    expect(String(dropped[0]?.error)).toContain('AccessDenied');
    expect(mapping.stats).toMatchObject({ records: 2, sentToOnFailure: 0, onFailureErrors: 3, onFailureDropped: 1 });
    expect(mapping.stats.checkpoints[shard0]).toBe(sequence[2]);
  });

  test('a parallelization factor runs batches of one shard side by side, in order per partition key, checkpointing safely', async (context) => {
    const stream = await createStream();
    const [shard0] = stream.shards.map((shard) => shard.shardId) as [string];
    const keys = Array.from({ length: 8 }, (_, i) => `account-${i}`);
    const entries = Array.from({ length: 80 }, (_, i) => ({ key: keys[i % keys.length] as string, payload: `${keys[i % keys.length]}#${Math.floor(i / keys.length)}` }));
    const result = await client.send(
      new PutRecordsCommand({
        StreamARN: stream.streamArn,
        Records: entries.map(({ key, payload }) => ({ Data: Buffer.from(payload), PartitionKey: key, ExplicitHashKey: stream.shards[0]?.hashKey })),
      }),
    );
    expect(result.FailedRecordCount ?? 0).toBe(0);
    const sequence = (result.Records ?? []).map((record) => record.SequenceNumber ?? '');
    let mapping: LocalEventSourceMapping | undefined;
    let checkpointAhead = false;
    const fn = fakeFunction(async (call) => {
      // The shard's checkpoint must never be past a record some lane is still working on.
      const checkpoint = mapping?.stats.checkpoints[shard0];
      if (checkpoint !== undefined && call.sequenceNumbers.some((seq) => BigInt(seq) <= BigInt(checkpoint))) checkpointAhead = true;
      await sleep(30 + (call.payloads[0]?.length ?? 0) % 3 * 20);
    });
    const run = startMapping(context, stream, fn.invoke, { batchSize: 3, parallelizationFactor: 4 });
    mapping = run.mapping;
    await run.started;
    expect(await run.mapping.drain(20_000)).toBe(true);

    const delivered = fn.calls.flatMap((call) => call.payloads);
    expect([...delivered].sort()).toEqual(entries.map((entry) => entry.payload).sort());
    for (const key of keys) {
      expect(delivered.filter((payload) => payload.startsWith(`${key}#`))).toEqual(entries.filter((e) => e.key === key).map((e) => e.payload));
    }
    // Each batch holds keys of one lane only, and lanes overlapped.
    expect(fn.overlapWithinShard).toBe(true);
    expect(checkpointAhead).toBe(false);
    expect(run.mapping.stats.checkpoints[shard0]).toBe(sequence.at(-1));
    expect(run.mapping.stats.records).toBe(80);
  });
});

describe('LocalEventSourceMapping settings: the ranges AWS accepts, nothing else', () => {
  const valid: EventSourceMappingSettings = BASE_SETTINGS;
  const build = (settings: Partial<EventSourceMappingSettings>, extra: Partial<LocalEventSourceMappingOptions> = {}) =>
    new LocalEventSourceMapping({
      client: {} as KinesisClient,
      streamArn: 'arn:aws:kinesis:us-east-1:000000000000:stream/s',
      consumerArn: 'arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c:1',
      functionName: 'f',
      settings: { ...valid, ...settings },
      invoke: async () => undefined,
      onFailure: async () => undefined,
      ...extra,
    });

  test.each([
    [{ batchSize: 0 }, 'BatchSize'],
    [{ batchSize: 10_001 }, 'BatchSize'],
    [{ maxBatchingWindowMs: 300_001 }, 'MaximumBatchingWindowInSeconds'],
    [{ maxBatchingWindowMs: -1 }, 'MaximumBatchingWindowInSeconds'],
    [{ retryAttempts: -2 }, 'MaximumRetryAttempts'],
    [{ retryAttempts: 10_001 }, 'MaximumRetryAttempts'],
    [{ maxRecordAgeSeconds: 59 }, 'MaximumRecordAgeInSeconds'],
    [{ maxRecordAgeSeconds: 0 }, 'MaximumRecordAgeInSeconds'],
    [{ maxRecordAgeSeconds: -2 }, 'MaximumRecordAgeInSeconds'],
    [{ maxRecordAgeSeconds: 604_801 }, 'MaximumRecordAgeInSeconds'],
    [{ parallelizationFactor: 0 }, 'ParallelizationFactor'],
    [{ parallelizationFactor: 11 }, 'ParallelizationFactor'],
    [{ parallelizationFactor: 1.5 }, 'ParallelizationFactor'],
  ] as [Partial<EventSourceMappingSettings>, string][])('refuses %o with a RangeError naming %s', (settings, name) => {
    expect(() => build(settings)).toThrow(RangeError);
    expect(() => build(settings)).toThrow(name);
  });

  test('accepts the edges of every range', () => {
    for (const settings of [
      { batchSize: 1 },
      { batchSize: 10_000 },
      { maxBatchingWindowMs: 300_000 },
      { retryAttempts: -1 },
      { retryAttempts: 0 },
      { retryAttempts: 10_000 },
      { maxRecordAgeSeconds: 60 },
      { maxRecordAgeSeconds: 604_800 },
      { parallelizationFactor: 1 },
      { parallelizationFactor: 10 },
    ]) {
      expect(() => build(settings)).not.toThrow();
    }
  });

  test('the test-only age override and the on-failure attempts are checked too', () => {
    expect(() => build({}, { testOnlyMaxRecordAgeMs: 0 })).toThrow(/testOnlyMaxRecordAgeMs/);
    expect(() => build({}, { onFailureAttempts: 0 })).toThrow(/onFailureAttempts/);
  });
});
