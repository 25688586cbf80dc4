import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { DESTINATION_NAMES } from '../../infra/config/pipeline-config';
import { synth } from './synth';

/** The alarms an operator needs beyond each consumer's own: the on-failure buckets, replication, the search domain. */

const { template } = synth();
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>;
const alarm = (name: string) => {
  const found = Object.values(resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm' && r.Properties.AlarmName === `OrderedFanout-${name}`);
  expect(found, name).toHaveLength(1);
  return found[0]!.Properties;
};
const topic = Object.entries(resources).find(([, r]) => r.Type === 'AWS::SNS::Topic')![0];

describe('on-failure buckets', () => {
  it.each(DESTINATION_NAMES)('%s: request metrics on its bucket and an alarm on any object written to it', (name) => {
    const props = alarm(`${name}-FailedBatches`);
    expect(props).toMatchObject({ Namespace: 'AWS/S3', MetricName: 'PutRequests', Statistic: 'Sum', Threshold: 1, AlarmActions: [{ Ref: topic }] });
    const bucketRef = props.Dimensions.find((d: { Name: string }) => d.Name === 'BucketName').Value.Ref as string;
    const filter = props.Dimensions.find((d: { Name: string }) => d.Name === 'FilterId').Value as string;
    // The metric exists only where the bucket has a request metrics configuration of that id.
    expect(resources[bucketRef]!.Properties.MetricsConfigurations).toEqual([{ Id: filter }]);
    // And it is the bucket the mapping sends failed batches to.
    const mapping = Object.values(resources).find(
      (r) => r.Type === 'AWS::Lambda::EventSourceMapping' && JSON.stringify(r.Properties.DestinationConfig).includes(bucketRef),
    );
    expect(mapping).toBeDefined();
  });
});

describe('DynamoDB → Kinesis replication', () => {
  it.each([
    ['replication-UnreplicatedAge', 'AgeOfOldestUnreplicatedRecord', 'MAX', 'GreaterThanThreshold'],
    ['replication-FailedToReplicate', 'FailedToReplicateRecordCount', 'SUM', 'GreaterThanOrEqualToThreshold'],
    ['replication-ThrottledPuts', 'ThrottledPutRecordCount', 'SUM', 'GreaterThanOrEqualToThreshold'],
  ])('%s queries %s of the Accounts table whatever its DelegatedOperation', (name, metric, statistic, comparison) => {
    const props = alarm(name);
    expect(props.ComparisonOperator).toBe(comparison);
    expect(props.AlarmActions).toEqual([{ Ref: topic }]);
    const query = JSON.stringify(props.Metrics[0].Expression);
    expect(query).toContain(`SELECT ${statistic}(${metric}) FROM SCHEMA(\\"AWS/DynamoDB\\", DelegatedOperation, TableName) WHERE TableName = '`);
    const accounts = Object.entries(resources).find(
      ([, r]) => r.Type === 'AWS::DynamoDB::Table' && JSON.stringify(r.Properties.KeySchema).includes('account_id'),
    )![0];
    expect(query).toContain(`{"Ref":"${accounts}"}`);
    expect(props.Metrics[0].Period).toBe(300);
  });
});

describe('search domain (owned)', () => {
  it.each([
    ['search-ClusterRed', 'ClusterStatus.red', 'Maximum', 1, 'GreaterThanOrEqualToThreshold'],
    ['search-WritesBlocked', 'ClusterIndexWritesBlocked', 'Maximum', 1, 'GreaterThanOrEqualToThreshold'],
    ['search-LowStorage', 'FreeStorageSpace', 'Minimum', 5_120, 'LessThanOrEqualToThreshold'],
    ['search-JvmMemoryPressure', 'JVMMemoryPressure', 'Maximum', 95, 'GreaterThanOrEqualToThreshold'],
  ])('%s on %s', (name, metric, statistic, threshold, comparison) => {
    expect(alarm(name)).toMatchObject({ Namespace: 'AWS/ES', MetricName: metric, Statistic: statistic, Threshold: threshold, ComparisonOperator: comparison, AlarmActions: [{ Ref: topic }] });
  });

  it('has none for an imported domain (its owner watches it)', () => {
    const imported = synth({ destinations: { search: { domainEndpoint: 'https://search.example.com', domainArn: 'arn:aws:es:eu-west-1:123456789012:domain/accounts' } } }).template;
    expect(Object.keys(imported.findResources('AWS::CloudWatch::Alarm', { Properties: { Namespace: 'AWS/ES' } }))).toEqual([]);
    expect(Object.keys(imported.findResources('AWS::CloudWatch::Alarm', { Properties: { AlarmName: Match.stringLikeRegexp('search-ClusterRed') } }))).toEqual([]);
  });
});
