import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { DESTINATION_NAMES, type DestinationName, type PipelineConfig } from './config/pipeline-config';
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
import { acknowledgeNagFindings } from './nag-suppressions';

export interface OrderedFanoutStackProps extends StackProps {
  readonly config: PipelineConfig;
}

/**
 * The whole pipeline: the Accounts table streaming into a 365-day Kinesis stream, the ledger, and per destination an
 * EFO consumer, a Lambda function, a dead-letter queue, alarms, and the destination itself (created or imported);
 * for the destinations that wait on gaps (audit, fraud), a gap sweeper every minute.
 */
export class OrderedFanoutStack extends Stack {
  readonly consumers: Readonly<Record<DestinationName, DestinationConsumer>>;
  /** The gap sweepers, one per destination of `SWEPT_DESTINATIONS`. */
  readonly sweepers: Readonly<Partial<Record<DestinationName, GapSweeper>>>;
  readonly alarmTopic: sns.Topic;

  constructor(scope: Construct, id: string, props: OrderedFanoutStackProps) {
    super(scope, id, props);
    // Access logs are delivered under a bucket policy, not the legacy log-delivery ACL (ACLs stay disabled).
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    // The domain's log-policy custom resource only needs the SDK that Lambda provides.
    this.node.setContext('@aws-cdk/customresources:installLatestAwsSdkDefault', false);
    const { config } = props;

    const accessLogs = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: Duration.days(365) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const changeStream = new ChangeStream(this, 'ChangeStream', { config: config.stream });
    const accounts = new AccountsTable(this, 'Accounts', { changeStream: changeStream.stream, config: config.accountsTable });
    const ledger = new LedgerTable(this, 'Ledger');

    const topicKey = encryptionKey(this, 'AlarmTopicKey', 'ordered-fanout alarm topic');
    topicKey.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        // Only on behalf of this account's alarms (the confused-deputy guard).
        conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
      }),
    );
    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', { masterKey: topicKey, enforceSSL: true });
    for (const email of config.alarmEmails) this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(email));

    // Roles first: a created search domain names its writer's role as master user before the function exists.
    const roles = Object.fromEntries(
      DESTINATION_NAMES.map((name) => [
        name,
        new iam.Role(this, `${title(name)}ConsumerRole`, {
          assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
          description: `ordered-fanout ${name} consumer: its own EFO consumer, ledger keys, destination and dead-letter queue`,
        }),
      ]),
    ) as Record<DestinationName, iam.Role>;
    const { audit, search, fraud } = config.destinations;
    const auditLog = new AuditLog(this, 'AuditLog', { settings: audit, accessLogs });
    const searchIndex = new SearchIndex(this, 'SearchIndex', { settings: search, writer: roles.search });
    const fraudBus = new FraudBus(this, 'FraudBus', { settings: fraud });
    const targets: Record<DestinationName, DestinationTarget> = { audit: auditLog, search: searchIndex, fraud: fraudBus };

    const consumers = {} as Record<DestinationName, DestinationConsumer>;
    const sweepers: Partial<Record<DestinationName, GapSweeper>> = {};
    for (const name of DESTINATION_NAMES) {
      const settings = config.destinations[name];
      const consumer = new DestinationConsumer(this, `${title(name)}Consumer`, {
        destination: name,
        settings,
        stream: changeStream.stream,
        accountsTable: accounts.table,
        ledger,
        target: targets[name],
        role: roles[name],
        accessLogs,
      });
      new DestinationAlarms(this, `${title(name)}Alarms`, { consumer, thresholds: settings.alarms, topic: this.alarmTopic });
      consumers[name] = consumer;
      this.outputs(name, consumer, settings.epoch, settings.startingPosition, settings.startingPositionTimestamp);
      if (SWEPT_DESTINATIONS.includes(name)) {
        const sweeper = new GapSweeper(this, `${title(name)}Sweeper`, { consumer, enabled: settings.enabled });
        new CfnOutput(this, `${title(name)}SweeperFunctionName`, { value: sweeper.function.functionName });
        // A broken sweeper is silent exactly when it matters: an idle stream with records parked.
        const sweeperErrors = new cloudwatch.Alarm(this, `${title(name)}SweeperErrors`, {
          alarmName: `${this.stackName}-${name}-SweeperErrors`,
          alarmDescription: 'The gap sweeper failed: parked records are not revisited and the waiting metrics stop',
          metric: sweeper.function.metricErrors({ period: Duration.minutes(5) }),
          threshold: 1,
          evaluationPeriods: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        });
        sweeperErrors.addAlarmAction(new actions.SnsAction(this.alarmTopic));
        sweepers[name] = sweeper;
      }
    }
    this.consumers = consumers;
    this.sweepers = sweepers;
    new ReplicationAlarms(this, 'ReplicationAlarms', { table: accounts.table, topic: this.alarmTopic });
    if (searchIndex.domain) new SearchDomainAlarms(this, 'SearchDomainAlarms', { domain: searchIndex.domain, topic: this.alarmTopic });
    new PipelineDashboard(this, 'Dashboard', { consumers: DESTINATION_NAMES.map((name) => consumers[name]) });

    new CfnOutput(this, 'AccountsTableName', { value: accounts.table.tableName });
    new CfnOutput(this, 'ChangeStreamArn', { value: changeStream.stream.streamArn });
    new CfnOutput(this, 'LedgerTableName', { value: ledger.table.tableName });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarmTopic.topicArn });
    new CfnOutput(this, 'AuditBucketName', { value: auditLog.bucket.bucketName });
    new CfnOutput(this, 'SearchEndpoint', { value: searchIndex.domainEndpoint });
    new CfnOutput(this, 'SearchIndexName', { value: searchIndex.index });
    if (searchIndex.operatorRole) new CfnOutput(this, 'SearchOperatorRoleArn', { value: searchIndex.operatorRole.roleArn });
    new CfnOutput(this, 'FraudEventBusArn', { value: fraudBus.bus.eventBusArn });
    acknowledgeNagFindings({
      stack: this,
      consumers: Object.values(consumers),
      sweepers: Object.values(sweepers),
      changeStream: changeStream.stream,
      auditBucket: auditLog.owned ? auditLog.bucket : auditLog.bucket.bucketArn,
      searchDomain: searchIndex.domain ?? searchIndex.domainArn,
      searchIndex: searchIndex.index,
      ...(searchIndex.operatorRole ? { searchOperatorRole: searchIndex.operatorRole } : {}),
      ...(searchIndex.securityRolesFunction ? { searchSecurityRolesFunction: searchIndex.securityRolesFunction } : {}),
    });
  }

  /** What the operations tooling reads back to find a destination's moving parts. */
  private outputs(name: DestinationName, consumer: DestinationConsumer, epoch: string, position: string, timestamp?: string): void {
    const prefix = title(name);
    new CfnOutput(this, `${prefix}FunctionName`, { value: consumer.function.functionName });
    new CfnOutput(this, `${prefix}StreamConsumerArn`, { value: consumer.streamConsumer.streamConsumerArn });
    new CfnOutput(this, `${prefix}EventSourceMappingId`, { value: consumer.eventSource.eventSourceMappingId });
    new CfnOutput(this, `${prefix}DeadLetterQueueUrl`, { value: consumer.deadLetterQueue.queueUrl });
    new CfnOutput(this, `${prefix}FailedBatchesBucket`, { value: consumer.failedBatches.bucketName });
    new CfnOutput(this, `${prefix}Epoch`, { value: epoch });
    new CfnOutput(this, `${prefix}StartingPosition`, { value: timestamp ? `${position} ${timestamp}` : position });
  }
}

function title(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}
