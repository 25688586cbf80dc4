import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { topicAlarm } from './topic-alarm';

export interface ReplicationAlarmsProps {
  /** The table that streams into Kinesis (Kinesis Data Streams for DynamoDB). */
  readonly table: dynamodb.ITable;
  readonly topic: sns.ITopic;
  /** The start of the alarms' names (`OrderedFanoutProps.pipelineName`). @default the stack's name */
  readonly pipelineName?: string;
  /** Age of the oldest change not yet on the stream that alarms, ms (normally milliseconds). @default 60000 */
  readonly maxUnreplicatedAgeMs?: number;
}

/**
 * The health of DynamoDB → Kinesis, upstream of every destination: a change DynamoDB cannot put on the stream
 * reaches no consumer, so nothing downstream can notice it. These metrics carry the dimensions `TableName` and
 * `DelegatedOperation`; a Metrics Insights query takes them whatever the operation is called.
 */
export class ReplicationAlarms extends Construct {
  readonly alarms: readonly cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: ReplicationAlarmsProps) {
    super(scope, id);
    const pipelineName = props.pipelineName ?? Stack.of(this).stackName;
    const query = (statistic: 'MAX' | 'SUM', metricName: string, label: string): cloudwatch.IMetric =>
      new cloudwatch.MathExpression({
        expression: `SELECT ${statistic}(${metricName}) FROM SCHEMA("AWS/DynamoDB", DelegatedOperation, TableName) WHERE TableName = '${props.table.tableName}'`,
        usingMetrics: {},
        label,
        // DynamoDB publishes these at five-minute granularity.
        period: Duration.minutes(5),
      });
    this.alarms = [
      topicAlarm(this, 'UnreplicatedAge', {
        pipelineName,
        name: 'replication-UnreplicatedAge',
        metric: query('MAX', 'AgeOfOldestUnreplicatedRecord', 'AgeOfOldestUnreplicatedRecord'),
        threshold: props.maxUnreplicatedAgeMs ?? 60_000,
        comparison: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        description: 'Changes wait to reach the Kinesis stream: it is throttling (too few shards) or DynamoDB lost permission to write it',
        topic: props.topic,
      }),
      topicAlarm(this, 'FailedToReplicate', {
        pipelineName,
        name: 'replication-FailedToReplicate',
        metric: query('SUM', 'FailedToReplicateRecordCount', 'FailedToReplicateRecordCount'),
        threshold: 1,
        description: 'DynamoDB skipped changes it could not put on the stream (a record over 1 MB): they reach no destination',
        topic: props.topic,
      }),
      topicAlarm(this, 'ThrottledPuts', {
        pipelineName,
        name: 'replication-ThrottledPuts',
        metric: query('SUM', 'ThrottledPutRecordCount', 'ThrottledPutRecordCount'),
        threshold: 1,
        // A burst is retried by DynamoDB; 15 minutes of it is a stream too small for the table.
        evaluationPeriods: 3,
        description: 'The stream throttled DynamoDB for 15 minutes: add shards (or use on-demand)',
        topic: props.topic,
      }),
    ];
  }
}
