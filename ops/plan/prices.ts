/**
 * The one price table `fanout plan` uses: us-east-1, list prices, no free tier, no savings plans, no tiering beyond
 * the first tier. To update, change a line's `usd`, `source` and `status`, and `CHECKED`; the plan prints the date.
 *
 * `status`:
 * - `verified`: the figure was read on an AWS page (pricing page or AWS documentation) on `CHECKED`;
 * - `secondary`: the figure was read on a dated third-party page that quotes the AWS price (the AWS page itself did not
 *   show the figure to the checker); the source given is the AWS page, the third-party page is in `note`;
 * - `unverified`: best-known figure, not confirmed on `CHECKED`: check it before relying on the total.
 */

export const PRICE_REGION = 'us-east-1';
/** When the figures below were checked. */
export const CHECKED = '2026-12-03';

export type PriceStatus = 'verified' | 'secondary' | 'unverified';

export interface PriceLine {
  readonly usd: number;
  readonly unit: string;
  readonly source: string;
  readonly status: PriceStatus;
  readonly note?: string;
}

const KDS = 'https://aws.amazon.com/kinesis/data-streams/pricing/';
const DDB = 'https://aws.amazon.com/dynamodb/pricing/on-demand/';
const LAMBDA = 'https://aws.amazon.com/lambda/pricing/';
const EVENTS = 'https://aws.amazon.com/eventbridge/pricing/';
const S3 = 'https://aws.amazon.com/s3/pricing/';
const SQS = 'https://aws.amazon.com/sqs/pricing/';

export const PRICES = {
  // Kinesis Data Streams, on-demand (standard) mode.
  kdsOnDemandStreamHour: { usd: 0.04, unit: 'stream-hour', source: KDS, status: 'unverified' },
  kdsOnDemandIngestGb: { usd: 0.08, unit: 'GB ingested (records rounded up to 1 KB)', source: KDS, status: 'unverified' },
  kdsOnDemandEfoRetrievalGb: { usd: 0.05, unit: 'GB retrieved per EFO consumer', source: KDS, status: 'unverified' },
  kdsOnDemandExtendedRetentionGbMonth: { usd: 0.1, unit: 'GB-month stored, 24 h to 7 days', source: KDS, status: 'unverified' },
  // Kinesis Data Streams, provisioned mode.
  kdsShardHour: {
    usd: 0.015, unit: 'shard-hour', source: KDS, status: 'secondary',
    note: 'c3x.dev/resources/aws/aws_kinesis_stream; awsnegotiations.com/kinesis-pricing-optimization.html',
  },
  kdsPutPayloadUnitMillion: {
    usd: 0.014, unit: 'million PUT payload units (25 KB)', source: KDS, status: 'secondary',
    note: 'awsnegotiations.com/kinesis-pricing-optimization.html',
  },
  kdsEfoConsumerShardHour: {
    usd: 0.015, unit: 'consumer-shard-hour', source: KDS, status: 'secondary', note: 'c3x.dev/resources/aws/aws_kinesis_stream',
  },
  kdsEfoRetrievalGb: { usd: 0.013, unit: 'GB retrieved per EFO consumer', source: KDS, status: 'secondary', note: 'c3x.dev/resources/aws/aws_kinesis_stream' },
  kdsExtendedRetentionShardHour: {
    usd: 0.02, unit: 'shard-hour, 24 h to 7 days', source: KDS, status: 'secondary', note: 'c3x.dev/resources/aws/aws_kinesis_stream',
  },
  // Both modes.
  kdsLongTermRetentionGbMonth: {
    usd: 0.023, unit: 'GB-month stored beyond 7 days', source: KDS, status: 'unverified',
    note: 'one third-party page (awsnegotiations.com) gives $0.10; not confirmed on the AWS page',
  },
  kdsLongTermRetrievalGb: { usd: 0.023, unit: 'GB read of data older than 7 days', source: KDS, status: 'unverified' },
  // DynamoDB.
  ddbWriteRequestMillion: {
    usd: 0.625, unit: 'million write request units (on-demand)', source: DDB, status: 'secondary',
    note: 'airbyte.com/data-engineering-resources/dynamodb-pricing (after the Nov 2024 on-demand price cut)',
  },
  ddbReadRequestMillion: {
    usd: 0.125, unit: 'million read request units (on-demand)', source: DDB, status: 'secondary',
    note: 'airbyte.com/data-engineering-resources/dynamodb-pricing',
  },
  ddbKdsCdcUnitMillion: { usd: 0.1, unit: 'million change data capture units (Kinesis Data Streams)', source: DDB, status: 'unverified' },
  // Lambda, arm64, first tier.
  lambdaArmGbSecond: {
    usd: 0.0000133334, unit: 'GB-second (arm64, first 7.5 billion/month)', source: LAMBDA, status: 'secondary',
    note: 'cloudchipr.com/blog/aws-lambda-pricing',
  },
  lambdaRequestMillion: { usd: 0.2, unit: 'million requests', source: LAMBDA, status: 'unverified' },
  // Destinations.
  eventBridgeCustomEventMillion: {
    usd: 1.0, unit: 'million custom events (64 KB chunks)', source: EVENTS, status: 'secondary',
    note: 'cloudburn.io/blog/amazon-eventbridge-pricing (March 2026); blog.awsfundamentals.com/aws-eventbridge-pricing-guide',
  },
  s3PutThousand: {
    usd: 0.005, unit: 'thousand PUT requests (S3 Standard)', source: S3, status: 'secondary',
    note: 'c3x.dev/blog/s3-request-fees-explained',
  },
  sqsRequestMillion: {
    usd: 0.4, unit: 'million standard-queue requests', source: SQS, status: 'secondary',
    note: 'factualminds.com/blog/amazon-sqs-pricing-64kb-rule-fifo-vs-standard',
  },
  sqsFifoRequestMillion: {
    usd: 0.5, unit: 'million FIFO-queue requests (64 KB chunks)', source: SQS, status: 'secondary',
    note: 'factualminds.com/blog/amazon-sqs-pricing-64kb-rule-fifo-vs-standard (June 2026); cloudburn.io/blog/amazon-sqs-pricing (March 2026)',
  },
} as const satisfies Record<string, PriceLine>;

export type PriceKey = keyof typeof PRICES;

const SQS_QUOTAS = 'https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html';

/** Quotas and limits the plan checks, with where they come from. */
export const LIMITS = {
  shardWriteBytesPerSecond: { value: 1_048_576, source: 'https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html' },
  shardWriteRecordsPerSecond: { value: 1_000, source: 'https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html' },
  /** On-demand stream default maximum write throughput (adjustable). */
  onDemandStreamWriteBytesPerSecond: { value: 200 * 1_048_576, source: 'https://docs.aws.amazon.com/streams/latest/dev/how-do-i-size-a-stream.html' },
  onDemandStreamWriteRecordsPerSecond: { value: 200_000, source: 'https://docs.aws.amazon.com/streams/latest/dev/how-do-i-size-a-stream.html' },
  efoReadBytesPerSecondPerShard: { value: 2_097_152, source: 'https://docs.aws.amazon.com/streams/latest/dev/enhanced-consumers.html' },
  efoConsumersPerStream: { value: 20, source: 'https://docs.aws.amazon.com/streams/latest/dev/enhanced-consumers.html' },
  /** us-east-1 default, adjustable; checked in the EventBridge quotas page on CHECKED. */
  eventBridgePutEventsPerSecond: { value: 10_000, source: 'https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html' },
  lambdaAccountConcurrency: { value: 1_000, source: 'https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html' },
  /** SendMessageBatch: at most 10 messages per call, and 1 MiB of bodies in all (256 KiB until August 2025). */
  sqsBatchEntries: { value: 10, source: SQS_QUOTAS },
  sqsBatchBytes: { value: 1_048_576, source: SQS_QUOTAS },
  /** High-throughput FIFO, us-east-1: API requests per second per action (a batch call is one), not messages. */
  sqsFifoHighThroughputRequestsPerSecond: { value: 70_000, source: SQS_QUOTAS },
} as const;

/** Lines not `verified`, for the plan's footnote. */
export function unconfirmedPrices(): { key: PriceKey; line: PriceLine }[] {
  return (Object.entries(PRICES) as [PriceKey, PriceLine][])
    .filter(([, line]) => line.status !== 'verified')
    .map(([key, line]) => ({ key, line }));
}
