import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { DESTINATION_NAMES, type DestinationName, type PipelineConfig } from './config/pipeline-config';
import { accessLogsBucket } from './constructs/access-logs';
import { AccountsTable } from './constructs/accounts-table';
import { AuditLog } from './constructs/audit-log';
import { ChangeStream } from './constructs/change-stream';
import type { DestinationConsumer } from './constructs/destination-consumer';
import { FraudBus } from './constructs/fraud-bus';
import type { GapSweeper } from './constructs/gap-sweeper';
import { SearchIndex } from './constructs/search-index';
import { OrderedFanout, titleOf } from './ordered-fanout';

export interface OrderedFanoutStackProps extends StackProps {
  readonly config: PipelineConfig;
}

/**
 * The bundled app's stack: one `OrderedFanout` with the three destinations, configured from `PipelineConfig`, and the
 * outputs the operations tooling (`fanout`) reads.
 *
 * The table, stream, access-log bucket and destinations are made here and handed to the construct, which takes them
 * as its "existing" ones; the construct's id `Default` adds nothing to logical ids. Together these keep every
 * resource's logical id, and the construct tree the tests walk, as they were before the construct existed: a
 * deployed stack updates in place.
 */
export class OrderedFanoutStack extends Stack {
  readonly pipeline: OrderedFanout;
  readonly consumers: Readonly<Record<DestinationName, DestinationConsumer>>;
  /** The gap sweepers, one per destination of `SWEPT_DESTINATIONS`. */
  readonly sweepers: Readonly<Partial<Record<DestinationName, GapSweeper>>>;
  readonly alarmTopic: sns.ITopic;

  constructor(scope: Construct, id: string, props: OrderedFanoutStackProps) {
    super(scope, id, props);
    // Set here too, not only in the construct: the access-log bucket below is the stack's.
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    this.node.setContext('@aws-cdk/customresources:installLatestAwsSdkDefault', false);
    const { config } = props;

    const accessLogs = accessLogsBucket(this);
    const changeStream = new ChangeStream(this, 'ChangeStream', { config: config.stream });
    const accounts = new AccountsTable(this, 'Accounts', { changeStream: changeStream.stream, config: config.accountsTable });
    const { audit, search, fraud } = config.destinations;
    const auditLog = new AuditLog(this, 'AuditLog', { settings: audit, accessLogs });
    const searchIndex = new SearchIndex(this, 'SearchIndex', { settings: search });
    const fraudBus = new FraudBus(this, 'FraudBus', { settings: fraud });

    this.pipeline = new OrderedFanout(this, 'Default', {
      table: accounts.table,
      stream: changeStream.stream,
      accessLogsBucket: accessLogs,
      alarmEmails: config.alarmEmails,
      destinations: {
        audit: { ...audit, target: auditLog },
        search: { ...search, target: searchIndex },
        fraud: { ...fraud, target: fraudBus },
      },
    });
    this.consumers = this.pipeline.consumers as Record<DestinationName, DestinationConsumer>;
    this.sweepers = this.pipeline.sweepers;
    this.alarmTopic = this.pipeline.alarmTopic;

    for (const name of DESTINATION_NAMES) {
      const { epoch, startingPosition, startingPositionTimestamp } = config.destinations[name];
      this.outputs(name, this.consumers[name], epoch, startingPosition, startingPositionTimestamp);
      const sweeper = this.sweepers[name];
      if (sweeper) new CfnOutput(this, `${titleOf(name)}SweeperFunctionName`, { value: sweeper.function.functionName });
    }
    new CfnOutput(this, 'AccountsTableName', { value: accounts.table.tableName });
    new CfnOutput(this, 'ChangeStreamArn', { value: changeStream.stream.streamArn });
    new CfnOutput(this, 'LedgerTableName', { value: this.pipeline.ledgerTable.tableName });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarmTopic.topicArn });
    new CfnOutput(this, 'AuditBucketName', { value: auditLog.bucket.bucketName });
    new CfnOutput(this, 'SearchEndpoint', { value: searchIndex.domainEndpoint });
    new CfnOutput(this, 'SearchIndexName', { value: searchIndex.index });
    if (searchIndex.operatorRole) new CfnOutput(this, 'SearchOperatorRoleArn', { value: searchIndex.operatorRole.roleArn });
    new CfnOutput(this, 'FraudEventBusArn', { value: fraudBus.bus.eventBusArn });
  }

  /** What the operations tooling reads back to find a destination's moving parts. */
  private outputs(name: DestinationName, consumer: DestinationConsumer, epoch: string, position: string, timestamp?: string): void {
    const prefix = titleOf(name);
    new CfnOutput(this, `${prefix}FunctionName`, { value: consumer.function.functionName });
    new CfnOutput(this, `${prefix}StreamConsumerArn`, { value: consumer.streamConsumer.streamConsumerArn });
    new CfnOutput(this, `${prefix}EventSourceMappingId`, { value: consumer.eventSource.eventSourceMappingId });
    new CfnOutput(this, `${prefix}DeadLetterQueueUrl`, { value: consumer.deadLetterQueue.queueUrl });
    new CfnOutput(this, `${prefix}FailedBatchesBucket`, { value: consumer.failedBatches.bucketName });
    new CfnOutput(this, `${prefix}Epoch`, { value: epoch });
    new CfnOutput(this, `${prefix}StartingPosition`, { value: timestamp ? `${position} ${timestamp}` : position });
  }
}
