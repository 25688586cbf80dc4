import { INDEX_NAME_RULE, isIndexName, isIsoTime, isOrigin, REGION_PATTERN } from '../../shared/config/formats';
import { LEDGER_NAME_PATTERN } from '../../shared/ledger/ledger-table';
import { MAX_WAITING_COUNTED } from '../../shared/consumer/waiting-report';
import { bool, int, object, oneOf, text, type ObjectFields, type ObjectSpec, type TextSpec } from './config-checker';
import type { AuditSettings, DestinationSettings, FraudSettings, PipelineConfig, SearchSettings } from './pipeline-config';

/** The schema of `PipelineConfig`: one spec per field, checked against the types by the compiler. */

const PARTITION = 'aws(?:-[a-z]+)*';
const REGION = REGION_PATTERN;
const ACCOUNT = '\\d{12}';
const BUCKET_ARN = new RegExp(`^arn:${PARTITION}:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`);
const KMS_KEY_ARN = new RegExp(`^arn:${PARTITION}:kms:${REGION}:${ACCOUNT}:key/[A-Za-z0-9-]{1,128}$`);
const EVENT_BUS_ARN = new RegExp(`^arn:${PARTITION}:events:${REGION}:${ACCOUNT}:event-bus/[A-Za-z0-9._/-]{1,256}$`);
const DOMAIN_ARN = new RegExp(`^arn:${PARTITION}:es:${REGION}:${ACCOUNT}:domain/[a-z][a-z0-9-]{2,27}$`);
/** A FIFO queue's name is 1-80 letters, digits, '-' or '_', `.fifo` included. */
const SQS_FIFO_QUEUE_ARN = new RegExp(`^arn:${PARTITION}:sqs:${REGION}:${ACCOUNT}:[A-Za-z0-9_-]{1,75}\\.fifo$`);
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const EMAIL = new RegExp(`^(?=.{3,254}$)[A-Za-z0-9.!#$%&'*+/=?^_\`{|}~-]{1,64}@${LABEL}(?:\\.${LABEL})+$`);
const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.[a-z0-9]+\.search$/;
/** ARNs of resources a destination may import, each with the message that names its form. */
export const ARN: Readonly<Record<'s3Bucket' | 'kmsKey' | 'eventBus' | 'openSearchDomain' | 'sqsFifoQueue', TextSpec>> = {
  s3Bucket: text('an S3 bucket ARN, arn:<partition>:s3:::<bucket>', BUCKET_ARN),
  kmsKey: text('a KMS key ARN, arn:<partition>:kms:<region>:<account>:key/<id>', KMS_KEY_ARN),
  eventBus: text('an event bus ARN, arn:<partition>:events:<region>:<account>:event-bus/<name>', EVENT_BUS_ARN),
  openSearchDomain: text('an OpenSearch domain ARN, arn:<partition>:es:<region>:<account>:domain/<name>', DOMAIN_ARN),
  sqsFifoQueue: text('an SQS FIFO queue ARN, arn:<partition>:sqs:<region>:<account>:<name>.fifo', SQS_FIFO_QUEUE_ARN),
};

const ISO_TIME_SPEC = text('an ISO 8601 time with a time zone, e.g. "2025-01-31T12:00:00Z"', isIsoTime);

/** What every destination has (`destinations.<d>.*`, `plugins.<name>.settings`). */
export const DESTINATION_FIELDS: ObjectFields<DestinationSettings> = {
  enabled: bool,
  batchSize: int(1, 10_000),
  maxBatchingWindowSeconds: int(0, 300),
  parallelizationFactor: int(1, 10),
  // No fixed ceiling on AWS: the account's quota less the 100 Lambda keeps unreserved, which only the deploy knows.
  reservedConcurrency: int(1, 100_000),
  retryAttempts: int(0, 10_000),
  maxRecordAgeSeconds: int(-1, 604_800, ' (-1: no limit; otherwise at least 60)'),
  memorySize: int(128, 10_240),
  timeoutSeconds: int(10, 900),
  delivery: object<DestinationSettings['delivery']>({ maxAttempts: int(1, 100), baseDelayMs: int(0, 60_000), maxDelayMs: int(0, 300_000) }),
  maxGapAgeSeconds: int(1, 31_622_400),
  startingPosition: oneOf('LATEST', 'TRIM_HORIZON', 'AT_TIMESTAMP'),
  startingPositionTimestamp: ISO_TIME_SPEC,
  epoch: text("1-63 letters, digits, '.', '_' or '-', starting with a letter or digit", LEDGER_NAME_PATTERN),
  replayBefore: ISO_TIME_SPEC,
  replayFrom: ISO_TIME_SPEC,
  alarms: object<DestinationSettings['alarms']>({
    iteratorAgeMs: int(1, 604_800_000),
    errors: int(1, 1_000_000),
    throttles: int(1, 1_000_000),
    deadLetters: int(1, 1_000_000),
    oldestParkedAgeSeconds: int(1, 31_622_400),
    // The waiting report stops counting at MAX_WAITING_COUNTED accounts: a higher threshold could never be reached.
    parkedTooLong: int(1, MAX_WAITING_COUNTED, ` (the waiting report counts at most ${MAX_WAITING_COUNTED} accounts, so a higher threshold never fires)`),
    evaluationPeriods: int(1, 1_440),
  }),
};

const INSTANCE_TYPE_SPEC = text('an OpenSearch instance type, <family>.<size>.search', INSTANCE_TYPE);

// `plugins` is keyed by plug-in names the schema cannot list: `checkPlugins` (plugin-config.ts) checks it.
export const SCHEMA: ObjectSpec<Omit<PipelineConfig, 'plugins'>> = object<Omit<PipelineConfig, 'plugins'>>({
  alarmEmails: { kind: 'list', expected: 'an array of email addresses', item: text('an email address', EMAIL) },
  accountsTable: object<PipelineConfig['accountsTable']>({
    billingMode: oneOf('PAY_PER_REQUEST', 'PROVISIONED'),
    readCapacity: int(1, 40_000),
    writeCapacity: int(1, 40_000),
  }),
  stream: object<PipelineConfig['stream']>({ mode: oneOf('ON_DEMAND', 'PROVISIONED'), shardCount: int(1, 500), retentionHours: int(24, 8_760) }),
  destinations: object<PipelineConfig['destinations']>({
    audit: object<AuditSettings>({
      ...DESTINATION_FIELDS,
      bucketArn: ARN.s3Bucket,
      bucketKeyArn: ARN.kmsKey,
      objectLockDays: int(1, 36_500),
      transitionDays: int(1, 3_650),
    }),
    search: object<SearchSettings>({
      ...DESTINATION_FIELDS,
      domainEndpoint: text('an https:// URL without path, query or credentials', (value) => isOrigin(value, ['https:'])),
      domainArn: ARN.openSearchDomain,
      index: text(INDEX_NAME_RULE, isIndexName),
      dataNodes: int(1, 10),
      instanceType: INSTANCE_TYPE_SPEC,
      masterNodes: int(0, 5, ' (0, 3 or 5)'),
      masterInstanceType: INSTANCE_TYPE_SPEC,
    }),
    fraud: object<FraudSettings>({
      ...DESTINATION_FIELDS,
      eventBusArn: ARN.eventBus,
      archiveRetentionDays: int(0, 3_650, ' (0: keep forever)'),
    }),
  }),
});

/**
 * The availability zones a created search domain spreads over: OpenSearch needs the data node count to be a multiple
 * of the zone count, so 1 node → 1 zone, multiples of 3 → 3 zones (every region this stack deploys to has three), other
 * even counts → 2 zones; undefined for counts no zone layout takes (5, 7).
 */
export function searchZones(dataNodes: number): 1 | 2 | 3 | undefined {
  if (dataNodes === 1) return 1;
  if (dataNodes % 3 === 0) return 3;
  if (dataNodes % 2 === 0) return 2;
  return undefined;
}

/** Instance families whose nodes have local storage: OpenSearch refuses an EBS volume on them. */
export function hasInstanceStorage(instanceType: string): boolean {
  return /^(i3|i4g|i4i|im4gn|r6gd|r7gd)\./.test(instanceType);
}
