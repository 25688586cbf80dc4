import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import type { MetricName } from '../shared/observability/telemetry';
import type { DestinationName, PipelineConfig } from './config/pipeline-config';
import { accessLogsBucket } from './constructs/access-logs';
import { AccountsTable } from './constructs/accounts-table';
import { ChangeStream } from './constructs/change-stream';
import { checkOnDemandConcurrency } from './config/config-rules';
import type { DestinationConsumer } from './constructs/destination-consumer';
import type { DestinationTarget } from './constructs/destination-target';
import { encryptionKey } from './constructs/encryption-key';
import type { GapSweeper } from './constructs/gap-sweeper';
import { LedgerTable } from './constructs/ledger-table';
import { PipelineDashboard } from './constructs/pipeline-dashboard';
import { claimPipelineName } from './constructs/pipeline-name';
import { ReplicationAlarms } from './constructs/replication-alarms';
import { streamTableChanges } from './constructs/table-streaming';
import { acknowledgeNagFindings } from './nag-suppressions';
import { titleOf } from './config/operator-outputs';
import { addOperatorOutputs } from './constructs/operator-outputs';
import { addDestination } from './ordered-fanout-destination';
import type { OrderedFanoutProps } from './ordered-fanout-props';
import { destinationNamesOf, resolvedDestinations, settingsOf } from './ordered-fanout-settings';

/** Consumers a Kinesis stream registers at a time. */
const SIMULTANEOUS_CONSUMER_REGISTRATIONS = 5;

export { titleOf };

/**
 * Per-account ordered fan-out from a DynamoDB table through a Kinesis stream to independent destinations: the table
 * and stream (created, or yours), the ordering ledger, and per destination an EFO consumer, a Lambda function, a
 * dead-letter queue, an on-failure bucket, alarms and the destination itself (created or imported); for the
 * destinations that wait on gaps (audit, fraud), a gap sweeper every minute.
 *
 * Alarm and EFO consumer names start with the pipeline's name, and its metrics carry it as their `service`: a stack
 * may hold several `OrderedFanout`s, each with a `pipelineName` of its own.
 */
export class OrderedFanout<Plugins extends string = never> extends Construct {
  /** The start of its alarm and EFO consumer names, and the `service` dimension of its metrics (`pipelineName`). */
  readonly pipelineName: string;
  /** The source table. */
  readonly table: dynamodb.ITable;
  /** The change stream every consumer reads. */
  readonly stream: kinesis.IStream;
  /** The ordering ledger (every destination's keys start with `<destination>#`). */
  readonly ledgerTable: dynamodb.Table;
  /** The ledger's construct: `grantDestination` scopes a principal to one destination's keys. */
  readonly ledger: LedgerTable;
  /** One consumer per destination named in the props. */
  readonly consumers: Readonly<Partial<Record<DestinationName | Plugins, DestinationConsumer>>>;
  /** The gap sweepers, one per destination that waits on gaps (every mode but `latest-state`). */
  readonly sweepers: Readonly<Partial<Record<DestinationName | Plugins, GapSweeper>>>;
  /** The destinations written, created or imported. */
  readonly targets: Readonly<Partial<Record<DestinationName | Plugins, DestinationTarget>>>;
  readonly alarmTopic: sns.ITopic;
  readonly dashboard?: cloudwatch.Dashboard;
  /** The settings in force: the props merged over the defaults and checked. */
  readonly config: PipelineConfig;

  constructor(scope: Construct, id: string, props: OrderedFanoutProps<Plugins>) {
    super(scope, id);
    this.pipelineName = claimPipelineName(this, props.pipelineName);
    // Access logs are delivered under a bucket policy, not the legacy log-delivery ACL (ACLs stay disabled).
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    // The domain's log-policy custom resource only needs the SDK that Lambda provides.
    this.node.setContext('@aws-cdk/customresources:installLatestAwsSdkDefault', false);
    const names = destinationNamesOf(props, this.node.path);
    this.config = settingsOf(props, names, this.node.path);
    const { config } = this;

    const accessLogs = props.accessLogsBucket ?? accessLogsBucket(this);
    this.stream = props.stream ?? new ChangeStream(this, 'ChangeStream', { config: config.stream }).stream;
    if (props.table === undefined) {
      this.table = new AccountsTable(this, 'Accounts', { changeStream: this.stream, config: config.accountsTable }).table;
    } else {
      this.table = props.table;
      if (props.stream === undefined) streamTableChanges(this, 'TableStreaming', props.table, this.stream);
    }
    this.ledger = new LedgerTable(this, 'Ledger');
    this.ledgerTable = this.ledger.table;
    this.alarmTopic = props.alarmTopic ?? this.createAlarmTopic(config.alarmEmails);

    const destinations = resolvedDestinations(props, names, config, this.node.path);
    // A stream of the user's own is checked only if its mode is given (the bundled stack gives its own).
    if ((props.stream === undefined ? config.stream.mode : props.streamSettings?.mode) === 'ON_DEMAND') {
      checkOnDemandConcurrency(`the props of ${this.node.path}`, destinations.map(({ plugin, settings }) => ({ name: plugin.name, settings })));
    }
    const built = destinations.map((destination) => addDestination(this, destination, accessLogs));
    // Kinesis registers at most 5 consumers of a stream at a time (a sixth gets LimitExceededException): each waits
    // for the one five before it, so a first deploy of many destinations never asks for more at once.
    built.forEach(({ consumer }, index) => {
      const before = built[index - SIMULTANEOUS_CONSUMER_REGISTRATIONS];
      if (before) consumer.streamConsumer.node.addDependency(before.consumer.streamConsumer);
    });
    type ByName<T> = Partial<Record<DestinationName | Plugins, T>>;
    this.targets = Object.fromEntries(built.map(({ consumer, target }) => [consumer.destination, target])) as ByName<DestinationTarget>;
    this.consumers = Object.fromEntries(built.map(({ consumer }) => [consumer.destination, consumer])) as ByName<DestinationConsumer>;
    const sweepers = built.flatMap(({ sweeper }) => (sweeper ? [sweeper] : []));
    this.sweepers = Object.fromEntries(sweepers.map((sweeper) => [sweeper.destination, sweeper])) as ByName<GapSweeper>;
    const consumers = built.map(({ consumer }) => consumer);

    new ReplicationAlarms(this, 'ReplicationAlarms', { table: this.table, topic: this.alarmTopic, pipelineName: this.pipelineName });
    if (props.dashboard !== false) this.dashboard = new PipelineDashboard(this, 'Dashboard', { consumers }).dashboard;
    acknowledgeNagFindings({
      stack: Stack.of(this),
      consumers,
      sweepers,
      ...(this.stream.encryptionKey ? { changeStream: this.stream } : {}),
    });
    // Last: a target's findings may be on what binding its writer created (a created search domain's custom resource).
    for (const { target, consumer } of built) target.acknowledgeNagFindings?.(consumer.role);
  }

  /** The consumer of `destination`; throws if it was not named in the props. */
  consumer(destination: DestinationName | Plugins): DestinationConsumer {
    const consumer = this.consumers[destination];
    if (!consumer) throw new Error(`${this.node.path} has no ${destination} destination (it has ${Object.keys(this.consumers).join(', ')})`);
    return consumer;
  }

  /**
   * Publishes the stack outputs `fanout` works from (`--stack <stack>`, and `--pipeline <pipelineName>` when the stack
   * holds more than one pipeline). Call it once per pipeline.
   * @param prefix starts every output key. @default '' (a second pipeline in the stack needs a prefix of its own)
   */
  addOperatorOutputs(prefix = ''): void {
    const consumers = Object.values(this.consumers).filter((consumer) => consumer !== undefined);
    addOperatorOutputs(this, { pipelineName: this.pipelineName, table: this.table, stream: this.stream, ledgerTable: this.ledgerTable, consumers, sweepers: this.sweepers }, prefix);
  }

  /** Lets `grantee` read the ledger (table and `gaps` index) of every destination: dashboards, audits, `fanout status`. */
  grantReadLedger(grantee: iam.IGrantable): iam.Grant {
    return this.ledgerTable.grantReadData(grantee);
  }

  /** Lets `grantee` write the source table: the service whose changes fan out (it must keep the version contract). */
  grantWriteTable(grantee: iam.IGrantable): iam.Grant {
    return this.table.grantWriteData(grantee);
  }

  /** Lets `grantee` receive and delete the dead letters of `destination`, or of every destination. */
  grantConsumeDeadLetters(grantee: iam.IGrantable, destination?: DestinationName | Plugins): void {
    for (const consumer of this.selected(destination)) consumer.grantConsumeDeadLetters(grantee);
  }

  /** EFO lag of one destination (Lambda `IteratorAge`, maximum per minute), ms. */
  metricIteratorAge(destination: DestinationName | Plugins, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.consumer(destination).metricIteratorAge(props);
  }

  /**
   * The largest EFO lag of all destinations, ms: the one number that says whether the pipeline keeps up. It reads one
   * metric per destination, and a CloudWatch alarm reads at most 10 (PutMetricAlarm; CDK refuses more at synth): with
   * more than 10 destinations, alarm on each destination's `IteratorAge` alarm (a `CompositeAlarm` of them) instead.
   */
  metricMaxIteratorAge(props: cloudwatch.MathExpressionOptions = {}): cloudwatch.IMetric {
    const usingMetrics = Object.fromEntries(this.selected().map((consumer) => [`lag_${consumer.destination}`, consumer.metricIteratorAge()]));
    return new cloudwatch.MathExpression({
      expression: `MAX([${Object.keys(usingMetrics).join(', ')}])`,
      usingMetrics,
      label: 'IteratorAge (max of the destinations)',
      period: Duration.minutes(1),
      ...props,
    });
  }

  /** Letters waiting in the dead-letter queue of one destination. */
  metricDeadLetterDepth(destination: DestinationName | Plugins, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.consumer(destination).metricDeadLetterDepth(props);
  }

  /** Batches Lambda gave up on for one destination (objects put in its on-failure bucket). */
  metricFailedBatches(destination: DestinationName | Plugins, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.consumer(destination).metricFailedBatches(props);
  }

  /** One of a destination's own metrics (README, *Logs and metrics*), summed per minute unless told otherwise. */
  metric(destination: DestinationName | Plugins, name: MetricName, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.consumer(destination).metric(name, props);
  }

  private selected(destination?: DestinationName | Plugins): DestinationConsumer[] {
    return destination === undefined ? Object.values(this.consumers).filter((consumer) => consumer !== undefined) : [this.consumer(destination)];
  }

  private createAlarmTopic(emails: readonly string[]): sns.Topic {
    const topicKey = encryptionKey(this, 'AlarmTopicKey', 'ordered-fanout alarm topic');
    topicKey.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        // Only on behalf of this account's alarms (the confused-deputy guard).
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    const topic = new sns.Topic(this, 'AlarmTopic', { masterKey: topicKey, enforceSSL: true });
    for (const email of emails) topic.addSubscription(new subscriptions.EmailSubscription(email));
    return topic;
  }
}
