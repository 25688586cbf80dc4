import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as cr from 'aws-cdk-lib/custom-resources';
import type { Construct } from 'constructs';

/** The engine orders by the records' creation times: milliseconds would tie within one. */
const PRECISION = 'MICROSECOND';

/**
 * Makes an existing `table` write every item change to `stream` (Kinesis Data Streams for DynamoDB, microsecond
 * creation times). A `dynamodb.Table` of this app gets the setting on its own resource, so CloudFormation owns it like
 * the rest of the table; any other table (imported by name or ARN, same account and region) is switched on by a
 * custom resource, which switches it off again when removed.
 */
export function streamTableChanges(scope: Construct, id: string, table: dynamodb.ITable, stream: kinesis.IStream): void {
  if (table instanceof dynamodb.Table) {
    const resource = table.node.defaultChild as dynamodb.CfnTable;
    // A table writes to one Kinesis stream at most: a second one would silently replace the first.
    if (resource.kinesisStreamSpecification !== undefined) {
      throw new Error(`${table.node.path} already writes its changes to a Kinesis stream: pass that stream as \`stream\``);
    }
    resource.kinesisStreamSpecification = { streamArn: stream.streamArn, approximateCreationDateTimePrecision: PRECISION };
    return;
  }
  const destination = { TableName: table.tableName, StreamArn: stream.streamArn };
  const streaming = new cr.AwsCustomResource(scope, id, {
    onCreate: {
      service: 'DynamoDB',
      action: 'enableKinesisStreamingDestination',
      parameters: { ...destination, EnableKinesisStreamingConfiguration: { ApproximateCreationDateTimePrecision: PRECISION } },
      physicalResourceId: cr.PhysicalResourceId.of(`${table.tableName}|kinesis`),
    },
    onDelete: { service: 'DynamoDB', action: 'disableKinesisStreamingDestination', parameters: destination },
    policy: cr.AwsCustomResourcePolicy.fromStatements([
      new iam.PolicyStatement({
        actions: ['dynamodb:EnableKinesisStreamingDestination', 'dynamodb:DisableKinesisStreamingDestination', 'dynamodb:DescribeKinesisStreamingDestination'],
        resources: [table.tableArn],
      }),
      new iam.PolicyStatement({ actions: ['kinesis:DescribeStream', 'kinesis:PutRecord', 'kinesis:PutRecords'], resources: [stream.streamArn] }),
    ]),
    installLatestAwsSdk: false,
  });
  stream.encryptionKey?.grant(streaming, 'kms:GenerateDataKey');
}
