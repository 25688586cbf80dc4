import type { KinesisRecordInput } from '../../shared/change-record/kinesis-input';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';

/** The event source mapping's settings, named after their Lambda counterparts. */
export interface EventSourceMappingSettings {
  /** Records per invocation (Lambda's `BatchSize`, 1-10000). */
  readonly batchSize: number;
  /**
   * How long to gather a batch before invoking with what is there (`MaximumBatchingWindowInSeconds`, 0-300 s, given
   * here in ms; 0: at once).
   */
  readonly maxBatchingWindowMs: number;
  /** Retries of a failing batch (`MaximumRetryAttempts`: -1, retry until the record age limit, or 0-10000). */
  readonly retryAttempts: number;
  /**
   * `MaximumRecordAgeInSeconds`: -1 (no limit) or 60-604800. Checked before every invocation, the first and each
   * retry: records older than this (by `ApproximateArrivalTimestamp`) at the head of a batch go to on-failure with
   * `RecordAgeExceeded` and are never (again) handed to the function.
   */
  readonly maxRecordAgeSeconds: number;
  /**
   * `ParallelizationFactor`, 1-10: concurrent batches per shard. Records with the same partition key always share a
   * lane, so their order holds; the shard's checkpoint only moves past records every lane is done with. @default 1
   */
  readonly parallelizationFactor?: number;
  /**
   * `Enabled`: false pauses the mapping as on AWS ("set to false to stop processing records"): nothing is invoked, and
   * `setEnabled(true)` resumes after the last record processed (a mapping created disabled starts from
   * `startingPosition` then). @default true
   */
  readonly enabled?: boolean;
  /** `BisectBatchOnFunctionError`. */
  readonly bisectBatchOnError: boolean;
  readonly startingPosition: 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP';
  /** Required with `AT_TIMESTAMP`. */
  readonly startingPositionTimestamp?: Date;
}

/** Why Lambda gave up on a batch, as it names it in the invocation record. */
export type OnFailureCondition = 'RetryAttemptsExhausted' | 'RecordAgeExceeded';

/** The batch a failure record points at (`KinesisBatchInfo`): records are not included, only where they are. */
export interface KinesisBatchInfo {
  readonly shardId: string;
  readonly startSequenceNumber: string;
  readonly endSequenceNumber: string;
  /** ISO 8601 with milliseconds, e.g. `2019-11-14T00:38:04.835Z`. */
  readonly approximateArrivalOfFirstRecord: string;
  readonly approximateArrivalOfLastRecord: string;
  readonly batchSize: number;
  readonly streamArn: string;
}

/**
 * The invocation record Lambda sends to an on-failure destination of a Kinesis event source mapping. `payload` (the
 * last invocation's event as JSON) is what Lambda adds for S3 destinations only; SQS/SNS records carry no records.
 */
export interface OnFailureRecord {
  readonly requestContext: {
    readonly requestId: string;
    readonly functionArn: string;
    readonly condition: OnFailureCondition;
    readonly approximateInvokeCount: number;
  };
  /** The last invocation's answer; absent when the records were never invoked (they expired before). */
  readonly responseContext?: {
    readonly statusCode: number;
    readonly executedVersion: string;
    /** `Unhandled` after a thrown error; absent when the last invocation answered with (partial) batch item failures. */
    readonly functionError?: string;
  };
  readonly version: '1.0';
  /** When the batch was discarded (ISO 8601). */
  readonly timestamp: string;
  readonly KinesisBatchInfo: KinesisBatchInfo;
  readonly payload: string;
}

/** One invocation, for progress bars and tests. */
export interface BatchReport {
  readonly shardId: string;
  /** The shard's lane (0 with a parallelization factor of 1). */
  readonly lane: number;
  /** Records in the invocation. */
  readonly records: number;
  /** Records the invocation left failed: 0 on success, all after an error, from the lowest failed one otherwise. */
  readonly failed: number;
  /** 1 for the first invocation of this (sub)batch, 2 for its first retry, ... */
  readonly attempt: number;
  readonly durationMs: number;
  readonly error?: unknown;
}

export type InvokeFunction = (
  event: KinesisStreamEvent,
  context: Context,
) => Promise<KinesisStreamBatchResponse | void>;

export interface LocalEventSourceMappingOptions {
  /** From `startKinesisLocal().client()`: HTTP/1.1, which kinesis-local's SubscribeToShard needs. */
  readonly client: KinesisClient;
  readonly streamArn: string;
  /** A registered (ACTIVE) enhanced fan-out consumer of the stream. */
  readonly consumerArn: string;
  readonly functionName: string;
  readonly settings: EventSourceMappingSettings;
  /** The function. It may throw: that is a function error. */
  readonly invoke: InvokeFunction;
  /**
   * The on-failure destination. A rejection is retried with backoff up to `onFailureAttempts` times in all; then the
   * records are dropped (as Lambda does, counting `DestinationDeliveryFailures`), counted in `stats.onFailureDropped`
   * and reported to `onFailureDropped`. The shard then carries on.
   */
  readonly onFailure: (record: OnFailureRecord) => Promise<void>;
  /** Delivery attempts of one failure record to `onFailure`, the first included (1-100). @default 3 */
  readonly onFailureAttempts?: number;
  /** A failure record `onFailure` did not take after `onFailureAttempts` attempts: its records are lost. */
  readonly onFailureDropped?: (record: OnFailureRecord, error: unknown) => void;
  /**
   * The context's remaining time per invocation (default 60 s). The mapping does not enforce it: the function does
   * (`LocalFunction`'s `timeoutMs`), and its time-out reaches the mapping as a function error.
   */
  readonly invocationTimeoutMs?: number;
  /**
   * TESTS ONLY: replaces `settings.maxRecordAgeSeconds` with a limit in milliseconds, below the 60 s Lambda allows, so
   * a test need not wait a minute. Never set by the pipeline.
   */
  readonly testOnlyMaxRecordAgeMs?: number;
  readonly onBatch?: (report: BatchReport) => void;
  /** Records arrived from the subscription (for timing where the work happens: the EFO push). */
  readonly onReceived?: (records: readonly KinesisRecordInput[], atMs: number) => void;
  /** An invocation with these records is about to start (first or retry). */
  readonly onInvoke?: (records: readonly KinesisRecordInput[], atMs: number) => void;
  /** A SubscribeToShard call or session failed (other than ResourceInUseException); it is retried with backoff. */
  readonly onSubscriptionError?: (shardId: string, error: unknown) => void;
  /** Backoff between retries: `initialMs` doubling up to `maxMs` (default 100 ms to 2 s). */
  readonly retryBackoff?: { readonly initialMs: number; readonly maxMs: number };
  /**
   * Ends every SubscribeToShard session after this long (AWS and kinesis-mock end them after ~5 minutes); for
   * exercising resubscription. Default: sessions last until the server ends them.
   */
  readonly subscriptionMaxMs?: number;
}

export interface MappingStats {
  /** Function invocations, retries and bisected halves included. */
  invocations: number;
  /** Records that reached a successful invocation (the function accepted them). */
  records: number;
  /** Re-invocations of a (sub)batch after an error or a partial failure (a bisected half's first invocation is not one). */
  retries: number;
  /** Batches split in two. */
  bisections: number;
  /** Records the on-failure destination took (the sum of the delivered failure records' batch sizes). */
  sentToOnFailure: number;
  /** Records discarded for their age (`RecordAgeExceeded`) before any invocation of them: never seen by the function. */
  expiredBeforeInvoke: number;
  /** Rejected attempts to deliver a failure record to `onFailure` (Lambda's `DestinationDeliveryFailures`). */
  onFailureErrors: number;
  /** Records whose failure record `onFailure` never took (after `onFailureAttempts`): lost, like on AWS. */
  onFailureDropped: number;
  /** Per shard, the sequence number of the last record done with (delivered or sent to on-failure). */
  checkpoints: Record<string, string>;
  /** SubscribeToShard sessions opened, over all shards. */
  subscriptions: number;
}
