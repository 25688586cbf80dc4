import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { AccountsWriter } from '../shared/accounts/writer';
import { encodeKinesisPayload } from '../shared/change-record/kinesis-input';
import { applyChaos, toShardFeeds, type ChaosResult, type ShardFeed, type StreamPayload } from './bridge/chaos';
import { streamRecordToKds } from './bridge/stream-record-to-kds';
import { DynamoDBStreamReader, latestStreamArn, readChanges } from './bridge/stream-reader';
import { checkCapture, historyOf, readFinalVersions, type CaptureCheck, type Truth } from './verify';
import { runWorkload, type WorkloadResult } from './workload';

export interface ChangeFeedOptions {
  readonly dynamodb: DynamoDBClient;
  readonly streams: DynamoDBStreamsClient;
  /** A table created with its DynamoDB stream on (`createAccountsTable(..., { stream: true })`). */
  readonly accountsTable: string;
  readonly accounts: number;
  readonly changes: number;
  readonly seed: number;
  readonly duplicateRate: number;
  readonly reorderRate: number;
  readonly reorderWindow: number;
  readonly shards: number;
  readonly batchSize: number;
  readonly concurrency: number;
  readonly ratePerSecond?: number;
  readonly captureTimeoutMs?: number;
  readonly signal?: AbortSignal;
  readonly log?: (message: string) => void;
}

export interface ChangeFeed {
  readonly workload: Omit<WorkloadResult, 'accountIds'>;
  readonly capture: CaptureCheck & { readonly caughtUp: boolean };
  /** What the table holds and every version its stream carried, to verify destinations against. */
  readonly truth: Truth;
  readonly chaos: ChaosResult<StreamPayload>;
  /** Per shard, the batches an event source mapping would hand a consumer, in Kinesis-for-DynamoDB JSON. */
  readonly feeds: readonly ShardFeed[];
  readonly timingsMs: { readonly workload: number; readonly capture: number };
}

/**
 * Writes a workload through the writer library, captures the table's DynamoDB stream, turns each change into the
 * exact Kinesis-for-DynamoDB JSON, and disturbs it as AWS documents (duplicates, reordering) into shard batches.
 */
export async function produceChangeFeed(options: ChangeFeedOptions): Promise<ChangeFeed> {
  const { dynamodb, streams, accountsTable } = options;
  const log = options.log ?? (() => undefined);
  let started = Date.now();
  log(`workload: ${options.accounts} accounts, ${options.changes} changes`);
  const writer = new AccountsWriter({ client: dynamodb, tableName: accountsTable, maxAttempts: 10 });
  const { accountIds: _ids, ...workload } = await runWorkload(writer, {
    accounts: options.accounts,
    changes: options.changes,
    seed: options.seed,
    concurrency: options.concurrency,
    ...(options.ratePerSecond ? { ratePerSecond: options.ratePerSecond } : {}),
  });
  options.signal?.throwIfAborted();
  const workloadMs = Date.now() - started;
  started = Date.now();

  // The table itself says how many changes the stream must carry: one per version of every account.
  const finalVersions = await readFinalVersions(dynamodb, accountsTable);
  const expected = [...finalVersions.values()].reduce((sum, version) => sum + version, 0);
  log(`capturing ${expected} changes from the DynamoDB stream`);
  const streamArn = await latestStreamArn(dynamodb, accountsTable);
  const reader = new DynamoDBStreamReader({ client: streams, streamArn });
  const read = await readChanges(reader, expected, { timeoutMs: options.captureTimeoutMs ?? 30_000 });
  const payloads: StreamPayload[] = read.records.map((record) => ({
    data: encodeKinesisPayload(streamRecordToKds(record, { tableName: accountsTable })),
    partitionKey: record.dynamodb?.Keys?.account_id?.S ?? '',
  }));
  const { captured, ...truth } = historyOf(payloads, finalVersions, accountsTable);
  const capture = { ...checkCapture(truth, captured), caughtUp: read.caughtUp };
  options.signal?.throwIfAborted();

  const { duplicateRate, reorderRate, reorderWindow, seed, shards: shardCount } = options;
  const chaos = applyChaos(payloads, (payload) => payload.partitionKey, {
    seed,
    duplicateRate,
    reorderRate,
    reorderWindow,
    shardCount,
  });
  const feeds = toShardFeeds(chaos, options.batchSize);
  return { workload, capture, truth, chaos, feeds, timingsMs: { workload: workloadMs, capture: Date.now() - started } };
}
