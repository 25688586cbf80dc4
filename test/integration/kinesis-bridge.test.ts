import { createHash } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  ListShardsCommand,
  type PutRecordsCommand,
  type PutRecordsResultEntry,
} from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { useKinesisLocal } from '../support/kinesis-local';
import { KinesisBridge, type BridgeChaos } from '../../local/bridge/kinesis-bridge';
import { putInOrder, type KinesisSender, type ShardEntry } from '../../local/bridge/kinesis-put';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/emulators/dynamodb-local';
import { createAccountsTable } from '../../local/tables';
import { checkCapture, readFinalVersions } from '../../local/verify';
import { runWorkload } from '../../local/workload';
import { AccountsWriter } from '../../shared/accounts/writer';
import type { ChangeRecord } from '../../shared/change-record/change-record';
import { decodeChangeRecord } from '../../shared/change-record/decode';
import { localDynamoDB, uniqueTableName } from '../support/dynamodb';

/** One record read back from the Kinesis stream. */
interface ReadBack {
  readonly shardId: string;
  readonly partitionKey: string;
  readonly payload: { tableName: string; dynamodb: Record<string, unknown> };
  readonly change: ChangeRecord;
}

interface BridgeRun {
  readonly bridge: KinesisBridge;
  readonly table: string;
  readonly finals: Map<string, number>;
  readonly expected: number;
  readonly drained: { complete: boolean };
  readonly records: ReadBack[];
  readonly logs: string[];
}

const kinesisLocal = useKinesisLocal();
let kinesis: KinesisClient;
let dynamodb: DynamoDBClient;
let streams: DynamoDBStreamsClient;

beforeAll(() => {
  kinesis = kinesisLocal.client();
  dynamodb = localDynamoDB();
  streams = new DynamoDBStreamsClient({
    endpoint: inject('dynamodbEndpoint'),
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
  });
});

afterAll(() => {
  dynamodb?.destroy();
  streams?.destroy();
});

async function createStream(name: string): Promise<string> {
  await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: 2 }));
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const { StreamDescriptionSummary: summary } = await kinesis.send(
      new DescribeStreamSummaryCommand({ StreamName: name }),
    );
    if (summary?.StreamStatus === 'ACTIVE' && summary.StreamARN) return summary.StreamARN;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`Kinesis stream ${name} did not become ACTIVE`);
}

/** Every record of every shard, from TRIM_HORIZON, in each shard's order, decoded like the consumers do. */
async function readStream(streamArn: string, tableName: string): Promise<ReadBack[]> {
  const { Shards: shards = [] } = await kinesis.send(new ListShardsCommand({ StreamARN: streamArn }));
  const records: ReadBack[] = [];
  for (const { ShardId: shardId } of shards) {
    if (!shardId) continue;
    let { ShardIterator: iterator } = await kinesis.send(
      new GetShardIteratorCommand({ StreamARN: streamArn, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }),
    );
    while (iterator) {
      const output = await kinesis.send(new GetRecordsCommand({ StreamARN: streamArn, ShardIterator: iterator }));
      const batch = output.Records ?? [];
      for (const record of batch) {
        const data = Buffer.from(record.Data ?? new Uint8Array()).toString('base64');
        const partitionKey = record.PartitionKey ?? '';
        const sequenceNumber = record.SequenceNumber ?? '';
        const decoded = decodeChangeRecord({ data, sequenceNumber, shardId, partitionKey }, { tableName });
        if (!decoded.ok) throw new Error(`undecodable record on ${shardId}: ${decoded.bad.reason} ${decoded.bad.detail}`);
        const payload = JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as ReadBack['payload'];
        records.push({ shardId, partitionKey, payload, change: decoded.record });
      }
      if (batch.length === 0) break;
      iterator = output.NextShardIterator;
    }
  }
  return records;
}

/** Creates a table and a 2-shard stream, runs a workload while the bridge forwards it, drains, reads back. */
async function bridgeRun(chaos: BridgeChaos, seed: number, ratePerSecond = 200): Promise<BridgeRun> {
  const table = uniqueTableName('bridge-accounts');
  await createAccountsTable(dynamodb, table, { stream: true });
  const streamArn = await createStream(uniqueTableName('bridge-stream'));
  const logs: string[] = [];
  const bridge = new KinesisBridge({
    dynamodb,
    streams,
    kinesis,
    accountsTable: table,
    streamArn,
    chaos,
    pollIntervalMs: 50,
    log: (message) => logs.push(message),
  });
  bridge.start();
  let drained: { complete: boolean };
  try {
    const writer = new AccountsWriter({ client: dynamodb, tableName: table, maxAttempts: 10 });
    await runWorkload(writer, { accounts: 5, changes: 40, seed, concurrency: 3, ratePerSecond });
    drained = await bridge.drain(20_000);
  } finally {
    await bridge.stop();
  }
  const finals = await readFinalVersions(dynamodb, table);
  const expected = [...finals.values()].reduce((sum, version) => sum + version, 0);
  return { bridge, table, finals, expected, drained, records: await readStream(streamArn, table), logs };
}

const key = (change: { accountId: string; version: number }): string => `${change.accountId}#${change.version}`;

/** The checks that hold with or without chaos: the format, the key, and every version there at least once. */
function expectEveryChangeInKinesisFormat(run: BridgeRun): void {
  expect(run.drained.complete).toBe(true);
  expect(run.logs).toEqual([]);
  expect(run.bridge.stats).toMatchObject({ captured: run.expected, putRetries: 0, abandoned: 0, unconvertible: 0 });
  for (const { payload, partitionKey, change } of run.records) {
    expect(payload.tableName).toBe(run.table);
    expect(payload.dynamodb.ApproximateCreationDateTimePrecision).toBe('MICROSECOND');
    expect(payload.dynamodb).not.toHaveProperty('SequenceNumber');
    // Microseconds since the epoch: 16 digits today.
    expect(payload.dynamodb.ApproximateCreationDateTime).toBeGreaterThan(1e15);
    expect(change.createdAtMicros).toBe(payload.dynamodb.ApproximateCreationDateTime);
    expect(partitionKey).toMatch(/^[0-9a-f]{32}$/);
    expect(partitionKey).toBe(createHash('md5').update(change.accountId).digest('hex'));
  }
  const seen = new Set(run.records.map(({ change }) => key(change)));
  for (const [accountId, final] of run.finals) {
    for (let version = 1; version <= final; version += 1) expect(seen.has(key({ accountId, version }))).toBe(true);
  }
  expect(seen.size).toBe(run.expected);

  // The truth the bridge reports is what the stream carried, and matches what was read back.
  const truth = run.bridge.truth(run.finals);
  expect(checkCapture(truth, truth.captured)).toMatchObject({ complete: true, captured: run.expected });
  for (const { change } of run.records) {
    expect(truth.history.get(change.accountId)?.get(change.version)).toBe(change.newImage?.balance);
  }
  expect(run.bridge.changes).toHaveLength(run.expected);
  for (const change of run.bridge.changes) {
    // DynamoDB Local's creation times have whole seconds; the put comes after the write.
    expect(change.putAtMs).toBeGreaterThanOrEqual(change.createdAtMicros / 1000 - 1000);
  }
}

describe('KinesisBridge: DynamoDB Local stream → kinesis-local', () => {
  it('without chaos, puts each change exactly once, in version order per account on its shard', async () => {
    const run = await bridgeRun({ seed: 3, duplicateRate: 0, reorderRate: 0, reorderWindow: 0 }, 3);
    expectEveryChangeInKinesisFormat(run);
    expect(run.records).toHaveLength(run.expected);
    expect(run.bridge.stats).toMatchObject({ put: run.expected, duplicates: 0, displaced: 0, delayed: 0 });

    const shardsOf = new Map<string, Set<string>>();
    const lastVersion = new Map<string, number>();
    for (const { shardId, change } of run.records) {
      const shards = shardsOf.get(change.accountId) ?? new Set();
      shardsOf.set(change.accountId, shards.add(shardId));
      expect(change.version).toBe((lastVersion.get(change.accountId) ?? 0) + 1);
      lastVersion.set(change.accountId, change.version);
    }
    // One account, one shard: its home.
    for (const shards of shardsOf.values()) expect(shards.size).toBe(1);
  });

  it('with chaos, adds duplicates (some on the other shard) and reorders, losing nothing', async () => {
    const chaos = { seed: 7, duplicateRate: 0.3, reorderRate: 0.3, reorderWindow: 4, maxDelayMs: 30 };
    const run = await bridgeRun(chaos, 7);
    expectEveryChangeInKinesisFormat(run);
    const { stats } = run.bridge;
    expect(stats.duplicates).toBeGreaterThan(0);
    expect(stats.crossShardDuplicates).toBeGreaterThan(0);
    expect(stats.displaced).toBeGreaterThan(0);
    expect(stats.delayed).toBeGreaterThan(0);
    expect(stats.retryDuplicates).toBe(0);
    // What was read back is exactly what the stats say was put.
    expect(run.records).toHaveLength(stats.put);
    expect(stats.put).toBe(stats.captured + stats.duplicates);

    const shardsOfChange = new Map<string, string[]>();
    for (const { shardId, change } of run.records) {
      shardsOfChange.set(key(change), [...(shardsOfChange.get(key(change)) ?? []), shardId]);
    }
    const copies = [...shardsOfChange.values()];
    expect(copies.every((shards) => shards.length <= 2)).toBe(true);
    expect(copies.filter((shards) => shards.length === 2)).toHaveLength(stats.duplicates);
    expect(copies.filter((shards) => new Set(shards).size === 2)).toHaveLength(stats.crossShardDuplicates);

    // Some account's records on some shard are not in strictly increasing version order any more.
    const lastOnShard = new Map<string, number>();
    let disorders = 0;
    for (const { shardId, change } of run.records) {
      const at = `${shardId}/${change.accountId}`;
      if (change.version <= (lastOnShard.get(at) ?? 0)) disorders += 1;
      lastOnShard.set(at, Math.max(change.version, lastOnShard.get(at) ?? 0));
    }
    expect(disorders).toBeGreaterThan(0);
  });

  it('delays each chunk by its own seeded delay at most, not by the sum of the delays queued before it', async () => {
    // 40 changes over about a second, polled every 50 ms: a dozen or more chunks, each delayed up to 600 ms. Queued
    // one behind another, their delays added up to seconds; running side by side, none is later than its own.
    const maxDelayMs = 600;
    const run = await bridgeRun({ seed: 9, duplicateRate: 0, reorderRate: 0, reorderWindow: 0, maxDelayMs }, 9, 40);
    expectEveryChangeInKinesisFormat(run);
    expect(run.bridge.stats.delayed).toBeGreaterThan(0);
    const lateness = run.bridge.changes.map((change) => change.putAtMs - change.readAtMs);
    // Slack for the puts themselves on a loaded machine; the sum of a dozen delays is several times this.
    expect(Math.max(...lateness)).toBeLessThan(maxDelayMs + 1_000);
  });

  it('with a permanent gap rate, drops gaps of two consecutive versions (or an account\'s last) entirely, and says which', async () => {
    const chaos = { seed: 5, duplicateRate: 0.3, reorderRate: 0, reorderWindow: 0, permanentGapRate: 0.15 };
    const run = await bridgeRun(chaos, 5);
    const dropped = run.bridge.dropped;
    expect(dropped.length).toBeGreaterThan(0);
    expect(run.bridge.stats.dropped).toBe(dropped.length);
    // Drained: every change is on the stream or dropped on purpose.
    expect(run.drained.complete).toBe(true);
    const droppedKeys = new Set(dropped.map(key));
    const onStream = new Set(run.records.map(({ change }) => key(change)));
    // Neither a dropped change nor any copy of it reached the stream; everything else did.
    for (const change of dropped) expect(onStream.has(key(change)), key(change)).toBe(false);
    for (const [accountId, final] of run.finals) {
      for (let version = 1; version <= final; version += 1) {
        const at = `${accountId}#${version}`;
        expect(onStream.has(at) !== droppedKeys.has(at), at).toBe(true);
      }
    }
    // Each gap starts at version 2 or later and is two versions long, unless it ends at the account's last version.
    for (const { accountId, version } of dropped) {
      expect(version).toBeGreaterThanOrEqual(2);
      const inPair = droppedKeys.has(`${accountId}#${version - 1}`) || droppedKeys.has(`${accountId}#${version + 1}`);
      expect(inPair || version === run.finals.get(accountId), `${accountId}#${version}`).toBe(true);
    }
    // The truth to verify against still has the dropped changes: they happened in the table.
    const truth = run.bridge.truth(run.finals);
    for (const { accountId, version } of dropped) expect(truth.history.get(accountId)?.has(version)).toBe(true);
    expect(checkCapture(truth, truth.captured).complete).toBe(true);
  });
});

describe('putInOrder: PutRecords per shard, in order, retrying refused entries', () => {
  const entries = (count: number, bytes = 1): ShardEntry<number>[] =>
    Array.from({ length: count }, (_, index) => ({
      data: new Uint8Array(bytes).fill(index % 256),
      partitionKey: 'a'.repeat(32),
      explicitHashKey: '1',
      tag: index,
    }));

  /** A fake Kinesis that records what it accepted in order; `refuse(call, index)` refuses some entries. */
  function fakeKinesis(refuse: (call: number, index: number) => 'refuse' | 'throw' | 'accept') {
    const stream: number[] = [];
    const calls: number[] = [];
    const client = {
      send: async (command: PutRecordsCommand) => {
        const call = calls.length;
        const records = command.input.Records ?? [];
        calls.push(records.length);
        if (refuse(call, 0) === 'throw') throw new Error('socket hang up');
        const results: PutRecordsResultEntry[] = records.map((record, index) => {
          if (refuse(call, index) === 'refuse') {
            return { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'slow down' };
          }
          stream.push(record.Data?.[0] ?? -1);
          return { SequenceNumber: String(stream.length), ShardId: 'shardId-000000000000' };
        });
        return { Records: results, FailedRecordCount: results.filter((result) => result.ErrorCode).length };
      },
    } as unknown as KinesisSender;
    return { client, stream, calls };
  }

  it('resends a refused entry and everything after it, so nothing later overtakes it', async () => {
    const { client, stream, calls } = fakeKinesis((call, index) => (call === 0 && index === 2 ? 'refuse' : 'accept'));
    const put: number[] = [];
    const retries: [number, number][] = [];
    const result = await putInOrder(entries(6), {
      client,
      streamArn: 'arn',
      onPut: (entry) => put.push(entry.tag),
      onRetry: (resent, repeats) => retries.push([resent, repeats]),
      backoffMs: () => 0,
    });
    expect(result.abandoned).toBe(0);
    expect(calls).toEqual([6, 4]);
    expect(retries).toEqual([[4, 3]]);
    // 3, 4, 5 got in ahead of 2 and are repeated after it: the last copies are in order.
    expect(stream).toEqual([0, 1, 3, 4, 5, 2, 3, 4, 5]);
    expect(put).toEqual(stream);
  });

  it('resends the whole call when it fails, and splits calls at 500 records and 5 MiB', async () => {
    const failing = fakeKinesis((call) => (call === 0 ? 'throw' : 'accept'));
    const retries: [number, number][] = [];
    await putInOrder(entries(1200), {
      client: failing.client,
      streamArn: 'arn',
      onPut: () => undefined,
      onRetry: (resent, repeats) => retries.push([resent, repeats]),
      backoffMs: () => 0,
    });
    expect(retries).toEqual([[500, 0]]);
    expect(failing.calls).toEqual([500, 500, 500, 200]);

    const big = fakeKinesis(() => 'accept');
    await putInOrder(entries(6, 1024 * 1024), { client: big.client, streamArn: 'arn', onPut: () => undefined, onRetry: () => undefined });
    expect(big.calls).toEqual([4, 2]);
  });

  it('gives up when stopped and counts what it could not put', async () => {
    const { client } = fakeKinesis((_call, index) => (index >= 1 ? 'refuse' : 'accept'));
    const stop = new AbortController();
    const result = await putInOrder(entries(5), {
      client,
      streamArn: 'arn',
      signal: stop.signal,
      onPut: () => undefined,
      onRetry: () => stop.abort(),
      backoffMs: () => 10_000,
    });
    expect(result.abandoned).toBe(4);
  });
});
