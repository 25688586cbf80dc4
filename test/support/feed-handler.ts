import type { KinesisStreamBatchResponse } from 'aws-lambda';
import type { ShardFeed } from '../../local/bridge/chaos';
import { localLambdaContext, toLambdaKinesisEvent } from '../../local/lambda-event';
import type { ConsumedBatch } from '../../shared/consumer/consumed-batch';
import type { KinesisHandler } from '../../shared/consumer/kinesis-handler';
import type { KinesisRecordInput } from '../../shared/change-record/kinesis-input';
import type { Telemetry } from '../../shared/observability/telemetry';
import { addCounts, zeroCounts, type EngineCounts } from '../../shared/ordering/outcome';

/** Keeps every batch a consumer reports, so tests can read its counters. */
export class RecordingTelemetry implements Telemetry {
  readonly batches: ConsumedBatch[] = [];
  readonly errors: unknown[] = [];
  invocation(): void {}
  batch(batch: ConsumedBatch): void {
    this.batches.push(batch);
  }
  batchError(error: unknown): void {
    this.errors.push(error);
  }
  totals(): EngineCounts & { quarantined: number; retries: number; failures: number } {
    const counts = zeroCounts();
    let quarantined = 0;
    let retries = 0;
    let failures = 0;
    for (const batch of this.batches) {
      addCounts(counts, batch.counts);
      quarantined += batch.quarantined;
      retries += batch.retries;
      failures += batch.failures.length;
    }
    return { ...counts, quarantined, retries, failures };
  }
}

export const TEST_STREAM_ARN = 'arn:aws:kinesis:us-east-1:000000000000:stream/accounts-changes';

/**
 * Feeds each shard's batches to a handler as Lambda would: a Lambda-shaped event per batch and, after a response with
 * `batchItemFailures`, the batch again from the lowest failed sequence number, up to `maxAttempts` times.
 * Shards run concurrently, batches of one shard one after another.
 */
export async function feedHandler(
  handler: KinesisHandler,
  feeds: readonly ShardFeed[],
  options: { functionName?: string; maxAttempts?: number; timeoutMs?: number } = {},
): Promise<{ responses: KinesisStreamBatchResponse[]; gaveUp: KinesisRecordInput[] }> {
  const responses: KinesisStreamBatchResponse[] = [];
  const gaveUp: KinesisRecordInput[] = [];
  await Promise.all(
    feeds.map(async (feed) => {
      for (const batch of feed.batches) {
        let records: readonly KinesisRecordInput[] = batch;
        for (let attempt = 1; records.length > 0; attempt += 1) {
          const event = toLambdaKinesisEvent(records, { region: 'us-east-1', streamArn: TEST_STREAM_ARN });
          const context = localLambdaContext(options.functionName ?? 'consumer', options.timeoutMs ?? 60_000);
          const response = await handler(event, context);
          responses.push(response);
          const failed = response.batchItemFailures.map((failure) => BigInt(failure.itemIdentifier));
          if (failed.length === 0) break;
          const lowest = failed.reduce((a, b) => (a < b ? a : b));
          records = records.filter((record) => BigInt(record.sequenceNumber) >= lowest);
          if (attempt >= (options.maxAttempts ?? 3)) {
            gaveUp.push(...records);
            break;
          }
        }
      }
    }),
  );
  return { responses, gaveUp };
}
