import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { KinesisConsumerEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DESTINATION_MODES, type PluginName } from '../../shared/config/consumer-config';
import { METRICS_NAMESPACE, type MetricName } from '../../shared/observability/telemetry';
import type { DeliveryMode } from '../../shared/ordering/delivery-mode';
import { consumerEnvironment, consumerGeneration, streamConsumerName } from '../config/consumer-environment';
import type { DestinationName, DestinationSettings } from '../config/pipeline-config';
import type { DestinationTarget } from './destination-target';
import { encryptionKey } from './encryption-key';
import { FailedBatchDestination } from './failed-batch-destination';
import { pipelineFunction } from './function-code';
import type { LedgerTable } from './ledger-table';
import { checkPipelineName } from './pipeline-name';

/** The id of the failed-batches bucket's request metrics filter (the whole bucket). */
export const FAILED_BATCHES_METRICS_ID = 'EntireBucket';

export interface DestinationConsumerProps {
  /** A built-in destination, or a plug-in's name. */
  readonly destination: DestinationName | PluginName;
  /**
   * The pipeline's name (`OrderedFanoutProps.pipelineName`): the start of the EFO consumer's name, and the `service`
   * dimension of the function's metrics (`POWERTOOLS_SERVICE_NAME`) and of `metric()`. @default the stack's name
   */
  readonly pipelineName?: string;
  /** How the destination wants an account's versions. @default the built-in's mode (required for a plug-in) */
  readonly mode?: DeliveryMode;
  /** Every setting, defaults included (`parsePipelineConfig` gives them). */
  readonly settings: DestinationSettings;
  /** The stream the source table writes its changes to; the consumer reads it through its own EFO consumer. */
  readonly stream: kinesis.IStream;
  /** The source table: records of any other table are quarantined (`WRONG_TABLE`). */
  readonly accountsTable: dynamodb.ITable;
  readonly ledger: LedgerTable;
  /** The destination the handler writes to. */
  readonly target: DestinationTarget;
  /**
   * The function's role. It gets exactly what the consumer needs: its EFO consumer, its ledger keys, its destination,
   * its dead-letter queue, its on-failure bucket and its log group. @default a new role
   */
  readonly role?: iam.Role;
  /** Where the on-failure bucket writes its server access logs. */
  readonly accessLogs: s3.IBucket;
  /** The handler, relative to the package root. @default `consumers/<destination>/handler.ts` */
  readonly entry?: string;
}

/**
 * One destination's consumer: an EFO stream consumer, the Lambda function that runs the destination's handler, the
 * event source mapping between them, a dead-letter queue, and an on-failure bucket for batches Lambda gives up on.
 *
 * The stream consumer's and the mapping's logical ids contain the ledger epoch and a hash of the starting position, so
 * a replay (a new epoch, a new position) replaces both together: Lambda refuses a second mapping from one consumer to
 * one function, and a mapping's starting position cannot change in place.
 */
export class DestinationConsumer extends Construct {
  readonly destination: DestinationName | PluginName;
  /** The `service` dimension of this consumer's metrics, and the start of its EFO consumer's name. */
  readonly pipelineName: string;
  readonly mode: DeliveryMode;
  /** Every setting in force, defaults included: the epoch and starting position `fanout` reads among them. */
  readonly settings: DestinationSettings;
  readonly function: lambda.Function;
  /** The function's role, shared with the destination's gap sweeper. */
  readonly role: iam.Role;
  /**
   * The published version the mapping invokes: one per generation of the function's code and configuration. A new
   * epoch publishes a new version for its new mapping, while the old mapping keeps invoking the old version (and its
   * old `LEDGER_EPOCH`) until CloudFormation deletes both in its clean-up: no live record ever runs with a replay's
   * settings, or the other way round.
   */
  readonly generation: lambda.Version;
  readonly streamConsumer: kinesis.StreamConsumer;
  readonly eventSource: KinesisConsumerEventSource;
  readonly deadLetterQueue: sqs.Queue;
  readonly failedBatches: s3.Bucket;
  /** The function's environment variables (`consumerEnvironment`): whatever else runs this destination's code uses them. */
  readonly environment: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: DestinationConsumerProps) {
    super(scope, id);
    const { destination, settings } = props;
    this.destination = destination;
    this.settings = settings;
    this.pipelineName = checkPipelineName(props.pipelineName ?? Stack.of(this).stackName, `the props of ${this.node.path}`);
    const mode = props.mode ?? DESTINATION_MODES[destination as DestinationName];
    if (mode === undefined) throw new Error(`${this.node.path}: a plug-in destination (${destination}) needs its mode`);
    this.mode = mode;
    this.role =
      props.role ??
      new iam.Role(this, 'Role', {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        description: `ordered-fanout ${destination} consumer: its own EFO consumer, ledger keys, destination and dead-letter queue`,
      });
    const key = encryptionKey(this, 'Key', `${destination} dead letters and failed batches`);

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: key,
      retentionPeriod: Duration.days(14),
      enforceSSL: true,
      // Letters wait here for a redrive: they outlive the stack like every other data store of the pipeline.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.failedBatches = new s3.Bucket(this, 'FailedBatches', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: key,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      versioned: true,
      serverAccessLogsBucket: props.accessLogs,
      serverAccessLogsPrefix: `failed-batches/${destination}/`,
      // Request metrics: the only prompt signal that Lambda gave up on a batch (storage metrics come once a day).
      metrics: [{ id: FAILED_BATCHES_METRICS_ID }],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.streamConsumer = new kinesis.StreamConsumer(this, `Consumer-${settings.epoch}-${consumerGeneration(settings)}`, {
      stream: props.stream,
      streamConsumerName: streamConsumerName(this.pipelineName, destination, settings),
    });

    this.environment = consumerEnvironment(
      settings,
      {
        pipelineName: this.pipelineName,
        accountsTable: props.accountsTable.tableName,
        ledgerTable: props.ledger.table.tableName,
        deadLetterQueueUrl: this.deadLetterQueue.queueUrl,
      },
      props.target.environment,
    );
    const logGroup = new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_YEAR, removalPolicy: RemovalPolicy.RETAIN });
    logGroup.grantWrite(this.role);
    // A target that must know its writer (a created search domain maps it in fine-grained access control) learns it here.
    props.target.bindWriter?.(this.role);
    this.function = pipelineFunction(this, 'Function', {
      source: props.entry ?? `consumers/${destination}/handler.ts`,
      description: `ordered-fanout ${destination} consumer`,
      memorySize: settings.memorySize,
      timeout: Duration.seconds(settings.timeoutSeconds),
      // Unset by default: a new account (concurrency quota 10) cannot reserve any, Lambda keeps 100 unreserved.
      ...(settings.reservedConcurrency !== undefined ? { reservedConcurrentExecutions: settings.reservedConcurrency } : {}),
      role: this.role,
      logGroup,
      environment: { ...this.environment },
    });

    this.eventSource = new KinesisConsumerEventSource(this.streamConsumer, {
      enabled: settings.enabled,
      startingPosition: lambda.StartingPosition[settings.startingPosition],
      ...(settings.startingPositionTimestamp !== undefined
        ? { startingPositionTimestamp: Date.parse(settings.startingPositionTimestamp) / 1000 }
        : {}),
      batchSize: settings.batchSize,
      maxBatchingWindow: Duration.seconds(settings.maxBatchingWindowSeconds),
      parallelizationFactor: settings.parallelizationFactor,
      retryAttempts: settings.retryAttempts,
      // -1 (no limit) is Lambda's default and CDK's when unset; the config check keeps a set limit above the replay window.
      ...(settings.maxRecordAgeSeconds === -1 ? {} : { maxRecordAge: Duration.seconds(settings.maxRecordAgeSeconds) }),
      bisectBatchOnError: true,
      reportBatchItemFailures: true,
      onFailure: new FailedBatchDestination(this.failedBatches),
    });
    this.generation = this.function.currentVersion;
    this.generation.addEventSource(this.eventSource);

    props.ledger.grantDestination(this.role, destination);
    props.target.grantDeliver(this.role);
    this.deadLetterQueue.grantSendMessages(this.role);
  }

  /** Lets `grantee` read, and delete, this destination's dead letters: what `fanout redrive` does as it redelivers. */
  grantConsumeDeadLetters(grantee: iam.IGrantable): iam.Grant {
    return this.deadLetterQueue.grantConsumeMessages(grantee);
  }

  /** Lets `grantee` read the invocation records of the batches Lambda gave up on (to find what to replay). */
  grantReadFailedBatches(grantee: iam.IGrantable): iam.Grant {
    return this.failedBatches.grantRead(grantee);
  }

  /** EFO lag: the age of the newest record read, per the event source mapping (Lambda's `IteratorAge`, maximum). */
  metricIteratorAge(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.function.metric('IteratorAge', { statistic: 'Maximum', period: Duration.minutes(1), ...props });
  }

  metricErrors(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.function.metricErrors({ period: Duration.minutes(5), ...props });
  }

  metricThrottles(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.function.metricThrottles({ period: Duration.minutes(5), ...props });
  }

  /** How long the oldest letter has waited, seconds: SQS deletes it at the queue's 14-day retention. */
  metricOldestDeadLetterAge(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.deadLetterQueue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period: Duration.minutes(5), ...props });
  }

  /** Letters waiting in the dead-letter queue. */
  metricDeadLetterDepth(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(1), ...props });
  }

  /**
   * Batches Lambda gave up on: objects written to the on-failure bucket (S3 request metrics, `PutRequests`). Each is a
   * run of records that reached no destination; `fanout` lists them for a replay.
   */
  metricFailedBatches(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/S3',
      metricName: 'PutRequests',
      dimensionsMap: { BucketName: this.failedBatches.bucketName, FilterId: FAILED_BATCHES_METRICS_ID },
      statistic: 'Sum',
      period: Duration.minutes(5),
      ...props,
    });
  }

  /**
   * One of the consumer's own metrics (README, *Logs and metrics*), summed per minute unless told otherwise: this
   * pipeline's series only (`service` = the pipeline's name), whatever other pipelines the account and region run.
   */
  metric(name: MetricName, props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName: name,
      dimensionsMap: { service: this.pipelineName, destination: this.destination },
      statistic: 'Sum',
      period: Duration.minutes(1),
      ...props,
    });
  }
}
