import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import type { MetricName } from '../shared/observability/telemetry';
import { parseDestinationSettings, parsePipelineConfig } from './config/load-config';
import { DESTINATION_NAMES, type DestinationName, type PipelineConfig } from './config/pipeline-config';
import { accessLogsBucket } from './constructs/access-logs';
import { AccountsTable } from './constructs/accounts-table';
import { AuditLog } from './constructs/audit-log';
import { ChangeStream } from './constructs/change-stream';
import { DestinationAlarms } from './constructs/destination-alarms';
import { DestinationConsumer } from './constructs/destination-consumer';
import type { DestinationTarget } from './constructs/destination-target';
import { encryptionKey } from './constructs/encryption-key';
import { FraudBus } from './constructs/fraud-bus';
import { GapSweeper, SWEPT_DESTINATIONS } from './constructs/gap-sweeper';
import { LedgerTable } from './constructs/ledger-table';
import { PipelineDashboard } from './constructs/pipeline-dashboard';
import { ReplicationAlarms } from './constructs/replication-alarms';
import { SearchDomainAlarms } from './constructs/search-domain-alarms';
import { SearchIndex } from './constructs/search-index';
import { streamTableChanges } from './constructs/table-streaming';
import { acknowledgeNagFindings } from './nag-suppressions';
import type { OrderedFanoutProps } from './ordered-fanout-props';
import { checkPluginNames, type PluginTarget } from './plugins/infra-plugin';
import { topicAlarm } from './constructs/topic-alarm';

/** `audit` → `Audit`, `ledger-queue` → `LedgerQueue`: the prefix of a destination's construct ids (and logical ids). */
export function titleOf(name: string): string {
  return name.split('-').map((part) => part.charAt(0).toUpperCase() + part.slice(1)).join('');
}


/**
 * Per-account ordered fan-out from a DynamoDB table through a Kinesis stream to independent destinations: the table
 * and stream (created, or yours), the ordering ledger, and per destination an EFO consumer, a Lambda function, a
 * dead-letter queue, an on-failure bucket, alarms and the destination itself (created or imported); for the
 * destinations that wait on gaps (audit, fraud), a gap sweeper every minute.
 *
 * Alarm and EFO consumer names start with the stack's name: one `OrderedFanout` per stack.
 */
export class OrderedFanout<Plugins extends string = never> extends Construct {
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
    // Access logs are delivered under a bucket policy, not the legacy log-delivery ACL (ACLs stay disabled).
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    // The domain's log-policy custom resource only needs the SDK that Lambda provides.
    this.node.setContext('@aws-cdk/customresources:installLatestAwsSdkDefault', false);
    const names = DESTINATION_NAMES.filter((name) => props.destinations[name] !== undefined);
    const plugins = props.plugins ?? [];
    if (names.length === 0 && plugins.length === 0) {
      throw new Error(`${this.node.path}: name at least one destination (${DESTINATION_NAMES.join(', ')}) or plug-in`);
    }
    checkPluginNames(plugins, this.node.path);
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

    // Roles first, as bare roles: a destination may have to name its writer before the function exists.
    const roles = Object.fromEntries(
      names.map((name) => [
        name,
        new iam.Role(this, `${titleOf(name)}ConsumerRole`, {
          assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
          description: `ordered-fanout ${name} consumer: its own EFO consumer, ledger keys, destination and dead-letter queue`,
        }),
      ]),
    ) as Record<DestinationName, iam.Role>;
    const targets: Partial<Record<DestinationName | Plugins, DestinationTarget>> = {};
    for (const name of names) targets[name] = props.destinations[name]?.target ?? this.createTarget(name, accessLogs);
    this.targets = targets;

    const consumers: Partial<Record<DestinationName | Plugins, DestinationConsumer>> = {};
    const sweepers: Partial<Record<DestinationName | Plugins, GapSweeper>> = {};
    for (const name of names) {
      const settings = config.destinations[name];
      const consumer = new DestinationConsumer(this, `${titleOf(name)}Consumer`, {
        destination: name,
        settings,
        stream: this.stream,
        accountsTable: this.table,
        ledger: this.ledger,
        target: targets[name] as DestinationTarget,
        role: roles[name],
        accessLogs,
      });
      new DestinationAlarms(this, `${titleOf(name)}Alarms`, { consumer, thresholds: settings.alarms, topic: this.alarmTopic });
      consumers[name] = consumer;
      if (SWEPT_DESTINATIONS.includes(name)) sweepers[name] = this.createSweeper(consumer, settings.enabled);
    }
    for (const { plugin, options, settings: overrides } of plugins) {
      const { name, mode } = plugin;
      const settings = parseDestinationSettings(overrides, name, `the props of ${this.node.path}`, config.stream.retentionHours);
      const target: PluginTarget = plugin.createTarget(this, `${titleOf(name)}Target`, { options, settings, accessLogs });
      targets[name] = target;
      const consumer = new DestinationConsumer(this, `${titleOf(name)}Consumer`, {
        destination: name,
        mode,
        settings,
        stream: this.stream,
        accountsTable: this.table,
        ledger: this.ledger,
        target,
        accessLogs,
        entry: plugin.handler,
      });
      const alarms = new DestinationAlarms(this, `${titleOf(name)}Alarms`, { consumer, thresholds: settings.alarms, topic: this.alarmTopic });
      // The plug-in's own alarms sit with the consumer's: same topic, same `<stack>-<destination>-<id>` names.
      target.alarms?.(
        (id, metric, threshold, description, more = {}) =>
          topicAlarm(alarms, id, { name: `${name}-${id}`, metric, threshold, description, topic: this.alarmTopic, ...more }),
        settings.alarms,
      );
      consumers[name] = consumer;
      if (mode !== 'latest-state') sweepers[name] = this.createSweeper(consumer, settings.enabled, plugin.sweeper);
    }
    this.consumers = consumers;
    this.sweepers = sweepers;

    new ReplicationAlarms(this, 'ReplicationAlarms', { table: this.table, topic: this.alarmTopic });
    const search = targets.search instanceof SearchIndex ? targets.search : undefined;
    if (search?.domain) new SearchDomainAlarms(this, 'SearchDomainAlarms', { domain: search.domain, topic: this.alarmTopic });
    if (props.dashboard !== false) {
      this.dashboard = new PipelineDashboard(this, 'Dashboard', { consumers: Object.values(consumers).filter((consumer) => consumer !== undefined) }).dashboard;
    }
    const audit = targets.audit instanceof AuditLog ? targets.audit : undefined;
    acknowledgeNagFindings({
      stack: Stack.of(this),
      consumers: Object.values(consumers).filter((consumer) => consumer !== undefined),
      sweepers: Object.values(sweepers).filter((sweeper) => sweeper !== undefined),
      ...(this.stream.encryptionKey ? { changeStream: this.stream } : {}),
      ...(audit ? { auditBucket: audit.owned ? audit.bucket : audit.bucket.bucketArn } : {}),
      ...(search ? { searchDomain: search.domain ?? search.domainArn, searchIndex: search.index } : {}),
      ...(search?.operatorRole ? { searchOperatorRole: search.operatorRole } : {}),
      ...(search?.securityRolesFunction ? { searchSecurityRolesFunction: search.securityRolesFunction } : {}),
    });
  }

  /** The consumer of `destination`; throws if it was not named in the props. */
  consumer(destination: DestinationName | Plugins): DestinationConsumer {
    const consumer = this.consumers[destination];
    if (!consumer) throw new Error(`${this.node.path} has no ${destination} destination (it has ${Object.keys(this.consumers).join(', ')})`);
    return consumer;
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

  /** The largest EFO lag of all destinations, ms: the one number that says whether the pipeline keeps up. */
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

  /** A destination from its settings: created, or imported when they name its ARN. */
  private createTarget(name: DestinationName, accessLogs: s3.IBucket): DestinationTarget {
    const { destinations } = this.config;
    switch (name) {
      case 'audit':
        return new AuditLog(this, 'AuditLog', { settings: destinations.audit, accessLogs });
      case 'search':
        return new SearchIndex(this, 'SearchIndex', { settings: destinations.search });
      case 'fraud':
        return new FraudBus(this, 'FraudBus', { settings: destinations.fraud });
    }
  }

  private createSweeper(consumer: DestinationConsumer, enabled: boolean, entry?: string): GapSweeper {
    const name = consumer.destination;
    if (entry === undefined && !SWEPT_DESTINATIONS.includes(name as DestinationName)) {
      throw new Error(`${this.node.path}: plug-in ${name} is ${consumer.mode}: it needs a sweeper (InfraPlugin.sweeper)`);
    }
    const sweeper = new GapSweeper(this, `${titleOf(name)}Sweeper`, { consumer, enabled, ...(entry ? { entry } : {}) });
    // A broken sweeper is silent exactly when it matters: an idle stream with records parked.
    const sweeperErrors = new cloudwatch.Alarm(this, `${titleOf(name)}SweeperErrors`, {
      alarmName: `${Stack.of(this).stackName}-${name}-SweeperErrors`,
      alarmDescription: 'The gap sweeper failed: parked records are not revisited and the waiting metrics stop',
      metric: sweeper.function.metricErrors({ period: Duration.minutes(5) }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    sweeperErrors.addAlarmAction(new actions.SnsAction(this.alarmTopic));
    return sweeper;
  }
}

/** The props' settings merged over the defaults and checked, as the bundled app checks its configuration file. */
function settingsOf(props: OrderedFanoutProps<string>, names: readonly DestinationName[], path: string): PipelineConfig {
  const withoutTarget = (options: object): object => Object.fromEntries(Object.entries(options).filter(([key]) => key !== 'target'));
  return parsePipelineConfig(
    {
      ...(props.tableSettings ? { accountsTable: props.tableSettings } : {}),
      ...(props.streamSettings ? { stream: props.streamSettings } : {}),
      ...(props.alarmEmails ? { alarmEmails: props.alarmEmails } : {}),
      destinations: Object.fromEntries(names.map((name) => [name, withoutTarget(props.destinations[name] ?? {})])),
    },
    `the props of ${path}`,
  );
}
