import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import type { MetricName } from '../shared/observability/telemetry';
import { parseDestinationSettings, parsePipelineConfig, refuseIgnoredSettings } from './config/load-config';
import { DESTINATION_NAMES, type DestinationName, type DestinationSettings, type PipelineConfig } from './config/pipeline-config';
import { accessLogsBucket } from './constructs/access-logs';
import { AccountsTable } from './constructs/accounts-table';
import { ChangeStream, retentionHoursOf } from './constructs/change-stream';
import { DestinationAlarms } from './constructs/destination-alarms';
import { DestinationConsumer } from './constructs/destination-consumer';
import type { DestinationTarget } from './constructs/destination-target';
import { encryptionKey } from './constructs/encryption-key';
import { GapSweeper } from './constructs/gap-sweeper';
import { LedgerTable } from './constructs/ledger-table';
import { PipelineDashboard } from './constructs/pipeline-dashboard';
import { claimPipelineName } from './constructs/pipeline-name';
import { ReplicationAlarms } from './constructs/replication-alarms';
import { streamTableChanges } from './constructs/table-streaming';
import { topicAlarm } from './constructs/topic-alarm';
import { acknowledgeNagFindings } from './nag-suppressions';
import { titleOf } from './config/operator-outputs';
import { addOperatorOutputs } from './constructs/operator-outputs';
import type { OrderedFanoutProps } from './ordered-fanout-props';
import { BUILT_IN_INFRA_PLUGINS } from './plugins/builtin-infra-plugins';
import { checkPluginNames, type InfraPlugin, type PluginTarget } from './plugins/infra-plugin';

/** Consumers one Kinesis stream takes (RegisterStreamConsumer), and how many it registers at a time. */
const MAX_STREAM_CONSUMERS = 20;
const SIMULTANEOUS_CONSUMER_REGISTRATIONS = 5;
/** Destinations one stack feeds: one consumer each, and one free for a replay's switch-over. */
export const MAX_DESTINATIONS = MAX_STREAM_CONSUMERS - 1;

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
    const names = DESTINATION_NAMES.filter((name) => props.destinations[name] !== undefined);
    const plugins = props.plugins ?? [];
    if (names.length === 0 && plugins.length === 0) {
      throw new Error(`${this.node.path}: name at least one destination (${DESTINATION_NAMES.join(', ')}) or plug-in`);
    }
    // Kinesis registers at most 20 consumers of a stream; a replay's new consumer is registered before the old one
    // goes, so one must stay free.
    if (names.length + plugins.length > MAX_DESTINATIONS) {
      throw new Error(
        `${this.node.path}: ${names.length + plugins.length} destinations, each with its own EFO consumer: a Kinesis stream takes ` +
          `${MAX_STREAM_CONSUMERS} consumers, and a replay needs one free for its new consumer while the old one still runs, so at most ${MAX_DESTINATIONS}`,
      );
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

    // One path for every destination: a built-in is its plug-in with its settings as options.
    const destinations: ResolvedDestination[] = [
      ...names.map((name) => ({
        plugin: BUILT_IN_INFRA_PLUGINS[name] as AnyInfraPlugin,
        options: config.destinations[name],
        settings: config.destinations[name],
        target: props.destinations[name]?.target,
      })),
      ...plugins.map(({ plugin, options, settings }) => ({
        plugin,
        options,
        settings: parseDestinationSettings(settings, plugin.name, `the props of ${this.node.path}`, config.stream),
        target: undefined,
      })),
    ];
    const built = destinations.map((destination) => this.addDestination(destination, accessLogs));
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

  /**
   * One destination: its target (the user's, or the plug-in's), its consumer with the consumer alarms and the target's
   * own, and a gap sweeper unless it is `latest-state`.
   */
  private addDestination(
    { plugin, options, settings, target: given }: ResolvedDestination,
    accessLogs: s3.IBucket,
  ): { target: PluginTarget; consumer: DestinationConsumer; sweeper?: GapSweeper } {
    const { name, mode, constructIds: ids = {} } = plugin;
    const title = titleOf(name);
    const target: PluginTarget = given ?? plugin.createTarget(this, ids.target ?? `${title}Target`, { options, settings, accessLogs });
    const consumer = new DestinationConsumer(this, `${title}Consumer`, {
      destination: name,
      pipelineName: this.pipelineName,
      mode,
      settings,
      stream: this.stream,
      accountsTable: this.table,
      ledger: this.ledger,
      target,
      ...(ids.role === undefined ? {} : { role: this.consumerRole(ids.role, name) }),
      accessLogs,
      entry: plugin.handler,
    });
    const alarms = new DestinationAlarms(this, `${title}Alarms`, { consumer, thresholds: settings.alarms, topic: this.alarmTopic });
    // The target's own alarms sit with the consumer's (or in a construct of their own): same topic, same
    // `<pipeline>-<destination>-<id>` names. The construct is made only if there are any.
    let group: Construct | undefined;
    target.alarms?.(
      (id, metric, threshold, description, more = {}) => {
        group ??= ids.alarms === undefined ? alarms : new Construct(this, ids.alarms);
        const named = { pipelineName: this.pipelineName, name: `${name}-${id}` };
        return topicAlarm(group, id, { ...named, metric, threshold, description, topic: this.alarmTopic, ...more });
      },
      settings.alarms,
    );
    if (mode === 'latest-state') return { target, consumer };
    return { target, consumer, sweeper: this.createSweeper(consumer, settings.enabled, plugin.sweeper) };
  }

  /** A consumer's role made beside it rather than in it (`PluginConstructIds.role`). */
  private consumerRole(id: string, name: string): iam.Role {
    return new iam.Role(this, id, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `ordered-fanout ${name} consumer: its own EFO consumer, ledger keys, destination and dead-letter queue`,
    });
  }

  private createSweeper(consumer: DestinationConsumer, enabled: boolean, entry: string | undefined): GapSweeper {
    const name = consumer.destination;
    if (entry === undefined) throw new Error(`${this.node.path}: plug-in ${name} is ${consumer.mode}: it needs a sweeper (InfraPlugin.sweeper)`);
    const sweeper = new GapSweeper(this, `${titleOf(name)}Sweeper`, { consumer, enabled, entry });
    // A broken sweeper is silent exactly when it matters: an idle stream with records parked.
    // Through `topicAlarm` like every other alarm: to the topic on ALARM and on OK (it went on ALARM only, so its
    // recovery never reached the operator).
    topicAlarm(this, `${titleOf(name)}SweeperErrors`, {
      pipelineName: this.pipelineName,
      name: `${name}-SweeperErrors`,
      description: 'The gap sweeper failed: parked records are not revisited and the waiting metrics stop',
      metric: sweeper.function.metricErrors({ period: Duration.minutes(5) }),
      threshold: 1,
      topic: this.alarmTopic,
    });
    return sweeper;
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each plug-in has its own options type
type AnyInfraPlugin = InfraPlugin<any, string>;

/** A destination of the props, built-in or plug-in, as the construct builds it. */
interface ResolvedDestination {
  readonly plugin: AnyInfraPlugin;
  readonly options: unknown;
  /** Every setting, defaults included and checked. */
  readonly settings: DestinationSettings;
  /** A built-in's `target` of the props, built by the user: then the plug-in creates nothing. */
  readonly target: DestinationTarget | undefined;
}

/**
 * The stream's settings as the checks need them. With a stream of the user's own, only its retention counts (a replay
 * from TRIM_HORIZON reaches that far back): `streamSettings.retentionHours` when given, else the stream's own when it
 * is defined in this app; an imported stream is taken to keep the longest Kinesis allows (the default), so a record-age
 * limit shorter than that is refused rather than left to drop a replay's oldest records.
 */
function streamSettingsOf(props: OrderedFanoutProps<string>): { stream?: Partial<PipelineConfig['stream']> } {
  if (props.stream === undefined) return props.streamSettings ? { stream: props.streamSettings } : {};
  const retentionHours = props.streamSettings?.retentionHours ?? retentionHoursOf(props.stream);
  return retentionHours === undefined ? {} : { stream: { retentionHours } };
}

/** The props' settings merged over the defaults and checked, as the bundled app checks its configuration file. */
function settingsOf(props: OrderedFanoutProps<string>, names: readonly DestinationName[], path: string): PipelineConfig {
  const withoutTarget = (options: object): object => Object.fromEntries(Object.entries(options).filter(([key]) => key !== 'target'));
  const source = `the props of ${path}`;
  const config = parsePipelineConfig(
    {
      ...(props.tableSettings ? { accountsTable: props.tableSettings } : {}),
      ...streamSettingsOf(props),
      ...(props.alarmEmails ? { alarmEmails: props.alarmEmails } : {}),
      destinations: Object.fromEntries(names.map((name) => [name, withoutTarget(props.destinations[name] ?? {})])),
    },
    source,
    Date.now(),
    // Settings merged over the defaults may come in (the bundled stack passes its own so, each with its target).
    'merged',
  );
  // A destination given its target creates nothing, so only the others' settings can be ignored ones.
  const untargeted = names.filter((name) => props.destinations[name]?.target === undefined);
  refuseIgnoredSettings({ destinations: Object.fromEntries(untargeted.map((name) => [name, props.destinations[name]])) }, source);
  return config;
}
