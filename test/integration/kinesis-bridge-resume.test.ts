import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  ListShardsCommand,
} from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { KinesisBridge } from '../../local/bridge/kinesis-bridge';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/emulators/dynamodb-local';
import { createAccountsTable } from '../../local/tables';
import { readFinalVersions } from '../../local/verify';
import { runWorkload } from '../../local/workload';
import { AccountsWriter } from '../../shared/accounts/writer';
import { decodeChangeRecord } from '../../shared/change-record/decode';
import { localDynamoDB, uniqueTableName } from '../support/dynamodb';
import { useKinesisLocal } from '../support/kinesis-local';

const kinesisLocal = useKinesisLocal();
let kinesis: KinesisClient;
let dynamodb: DynamoDBClient;
let streams: DynamoDBStreamsClient;

beforeAll(() => {
  kinesis = kinesisLocal.client();
  dynamodb = localDynamoDB();
  streams = new DynamoDBStreamsClient({ endpoint: inject('dynamodbEndpoint'), region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
});

afterAll(() => {
  dynamodb?.destroy();
  streams?.destroy();
});

async function createStream(name: string): Promise<string> {
  await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: 2 }));
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const { StreamDescriptionSummary: summary } = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    if (summary?.StreamStatus === 'ACTIVE' && summary.StreamARN) return summary.StreamARN;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`Kinesis stream ${name} did not become ACTIVE`);
}

/** `account#version` of every record on the stream, decoded like the consumers do. */
async function readStream(streamArn: string, tableName: string): Promise<string[]> {
  const { Shards: shards = [] } = await kinesis.send(new ListShardsCommand({ StreamARN: streamArn }));
  const changes: string[] = [];
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
        const decoded = decodeChangeRecord({ data, sequenceNumber: record.SequenceNumber ?? '', shardId }, { tableName });
        if (!decoded.ok) throw new Error(`undecodable record: ${decoded.bad.reason}`);
        changes.push(`${decoded.record.accountId}#${decoded.record.version}`);
      }
      if (batch.length === 0) break;
      iterator = output.NextShardIterator;
    }
  }
  return changes;
}

describe('KinesisBridge restarted on DynamoDB Local from its checkpoint', () => {
  it('puts every change exactly once across the stop, none lost and none repeated', async () => {
    const table = uniqueTableName('bridge-resume');
    await createAccountsTable(dynamodb, table, { stream: true });
    const streamArn = await createStream(uniqueTableName('bridge-resume-stream'));
    const logs: string[] = [];
    const options = {
      dynamodb,
      streams,
      kinesis,
      accountsTable: table,
      streamArn,
      chaos: { seed: 3, duplicateRate: 0, reorderRate: 0, reorderWindow: 0 },
      pollIntervalMs: 20,
      log: (message: string) => logs.push(message),
    };
    const writer = new AccountsWriter({ client: dynamodb, tableName: table, maxAttempts: 10 });

    const first = new KinesisBridge(options);
    first.start();
    await runWorkload(writer, { accounts: 3, changes: 15, seed: 5, concurrency: 2, ratePerSecond: 200 });
    expect((await first.drain(20_000)).complete).toBe(true);
    await first.stop();
    const firstPut = first.stats.put;

    // The table goes on changing while no bridge runs; a new one resumes from the first one's checkpoint.
    await runWorkload(writer, { accounts: 2, changes: 10, seed: 6, concurrency: 2, ratePerSecond: 200 });
    const second = new KinesisBridge({ ...options, resumeFrom: first.checkpoint });
    second.start();
    // Its own drain cannot tell (it knows only what it put itself): wait until the stream holds every version.
    const finals = await readFinalVersions(dynamodb, table);
    const expected = [...finals.values()].reduce((sum, version) => sum + version, 0);
    let onStream: string[] = [];
    for (const deadline = Date.now() + 20_000; Date.now() < deadline; ) {
      onStream = await readStream(streamArn, table);
      if (onStream.length >= expected) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    await second.stop();
    onStream = await readStream(streamArn, table);

    expect(logs).toEqual([]);
    for (const [accountId, final] of finals) {
      for (let version = 1; version <= final; version += 1) expect(onStream).toContain(`${accountId}#${version}`);
    }
    // Each change once: the second bridge put only what came after the first one's checkpoint.
    expect(onStream).toHaveLength(expected);
    expect(new Set(onStream).size).toBe(expected);
    expect(firstPut + second.stats.put).toBe(expected);
    expect(second.stats.put).toBeGreaterThan(0);
    expect(second.stats.put).toBeLessThan(expected);
  });
});
