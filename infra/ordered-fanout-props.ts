import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type {
  AlarmThresholds,
  AuditSettings,
  DestinationSettings,
  FraudSettings,
  PipelineConfig,
  SearchSettings,
} from './config/pipeline-config';
import type { DestinationTarget } from './constructs/destination-target';
import type { PluginDestination } from './plugins/infra-plugin';

/**
 * A destination's settings as a construct user writes them: any subset, merged over the defaults (each field's
 * `@default` is in `pipeline-config.ts`, the same as the bundled app's configuration) and checked like the bundled
 * app's configuration file, so a wrong value fails synth with a message that names it.
 */
export type DestinationOverrides<S extends DestinationSettings> = Partial<Omit<S, 'delivery' | 'alarms'>> & {
  /** The adapter's retry budget. @default { maxAttempts: 6, baseDelayMs: 100, maxDelayMs: 5000 } */
  readonly delivery?: Partial<S['delivery']>;
  /** Alarm thresholds. @default see `AlarmThresholds` */
  readonly alarms?: Partial<AlarmThresholds>;
};

/** Options shared by every destination: the settings, and optionally the destination resource itself. */
interface TargetOption {
  /**
   * The destination resource, built by you (an `AuditLog`, `SearchIndex` or `FraudBus`, or your own
   * `DestinationTarget`, whose `PluginTarget` hooks are used if it has them); the settings that describe a resource
   * (`bucketArn`, `domainArn`, `eventBusArn`, sizes) are then ignored. @default built by the destination's plug-in
   * from the settings: created, or imported when they name an ARN
   */
  readonly target?: DestinationTarget;
}

/** The audit log (`every-version`, S3): settings from `AuditSettings`. */
export interface AuditDestinationOptions extends DestinationOverrides<AuditSettings>, TargetOption {}

/** The search index (`latest-state`, OpenSearch): settings from `SearchSettings`. */
export interface SearchDestinationOptions extends DestinationOverrides<SearchSettings>, TargetOption {}

/** The fraud feed (`in-order`, EventBridge): settings from `FraudSettings`. */
export interface FraudDestinationOptions extends DestinationOverrides<FraudSettings>, TargetOption {}

/** The destinations to feed: each one named gets its own consumer; `{}` takes every default. */
export interface OrderedFanoutDestinations {
  /** @default no audit destination */
  readonly audit?: AuditDestinationOptions;
  /** @default no search destination */
  readonly search?: SearchDestinationOptions;
  /** @default no fraud destination */
  readonly fraud?: FraudDestinationOptions;
}

/** `Plugins`: the names of the plug-in destinations (`plugins`), inferred from them. */
export interface OrderedFanoutProps<Plugins extends string = never> {
  /**
   * The pipeline's name: the start of its alarm names (`<pipeline>-<destination>-DeadLetters`) and EFO consumer names,
   * and the `service` dimension of its metrics (its functions' `POWERTOOLS_SERVICE_NAME`), which its alarms and
   * dashboard read. It must differ from every other pipeline's in the account and region; a second `OrderedFanout`
   * of the same name in one stack is refused. 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit.
   * @default the stack's name
   */
  readonly pipelineName?: string;
  /**
   * The table whose changes fan out: partition key `account_id` (string), every write carrying the item's `version`
   * (README, *The version contract*). Without `stream`, it is switched to write its changes to a new stream: a
   * `dynamodb.Table` of this app directly, any other (imported) table through a custom resource.
   * @default a new table: on demand, point-in-time recovery, deletion protection, a customer-managed key
   */
  readonly table?: dynamodb.ITable;
  /**
   * The Kinesis stream `table` already writes its changes to (Kinesis Data Streams for DynamoDB, with
   * `ApproximateCreationDateTimePrecision` MICROSECOND: the engine orders by it).
   * @default a new stream: 365 days retention, a customer-managed key, on demand
   */
  readonly stream?: kinesis.IStream;
  /** Capacity of a created table; ignored with `table`. @default { billingMode: 'PAY_PER_REQUEST' } */
  readonly tableSettings?: Partial<PipelineConfig['accountsTable']>;
  /**
   * Mode, shards and retention of a created stream. With `stream`, only `retentionHours` is read: that stream's
   * retention, which a replay from `TRIM_HORIZON` reaches back to (each destination's `maxRecordAgeSeconds` must cover
   * it). @default { mode: 'ON_DEMAND', retentionHours: 8760 }; with `stream`: its own retention when it is defined in
   * this app, 8760 when it is imported
   */
  readonly streamSettings?: Partial<PipelineConfig['stream']>;
  /** The built-in destinations; with `plugins`, at least one destination in all. */
  readonly destinations: OrderedFanoutDestinations;
  /**
   * Destinations beyond the built-ins, each a plug-in (README, *Write your own destination*), e.g.
   * `[pluginDestination(ledgerQueue.infra, {})]`. Each gets what a built-in gets. @default none
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each entry has its own options type
  readonly plugins?: readonly PluginDestination<any, Plugins>[];
  /** Where every alarm goes (on ALARM and on OK). @default a new topic, encrypted with a customer-managed key */
  readonly alarmTopic?: sns.ITopic;
  /** Emails subscribed to the alarm topic this construct creates (not to an `alarmTopic` of yours). @default none */
  readonly alarmEmails?: readonly string[];
  /**
   * Where the buckets created here (on-failure buckets, a created audit bucket) write their server access logs.
   * @default a new bucket, logs kept a year
   */
  readonly accessLogsBucket?: s3.IBucket;
  /** One CloudWatch dashboard with the destinations side by side. @default true */
  readonly dashboard?: boolean;
}
