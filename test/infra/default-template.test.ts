import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ledgerQueueInfra } from '../../destinations/ledger-queue/infra';
import { OrderedFanout } from '../../infra/ordered-fanout';
import { pluginDestination } from '../../infra/plugins/infra-plugin';
import { cdkJsonContext } from './cdk-context';
import { ownMetrics, serviceNames } from './pipeline-metrics';
import { synth } from './synth';

/**
 * The built-ins became plug-ins without a deployed stack noticing: the resources (counted by type), the logical ids of
 * everything the built-in plug-ins now place (targets, consumer roles, the search domain's alarms) and the outputs are
 * those the template had before, but for the one new output, `Destinations`. The ids and counts below were read off
 * the template synthesized before the change.
 */
const defaultTemplate = synth().template;

describe('the default bundled template', () => {
  const template = defaultTemplate.toJSON() as { Resources: Record<string, { Type: string }>; Outputs: Record<string, { Value: unknown }> };

  it('has the same resources, by type', () => {
    const counts: Record<string, number> = {};
    for (const { Type } of Object.values(template.Resources)) counts[Type] = (counts[Type] ?? 0) + 1;
    expect(counts).toEqual({
      'AWS::CloudWatch::Alarm': 33, 'AWS::CloudWatch::Dashboard': 1, 'AWS::DynamoDB::Table': 2, 'AWS::Events::Archive': 1,
      'AWS::Events::EventBus': 1, 'AWS::Events::Rule': 2, 'AWS::IAM::Policy': 8, 'AWS::IAM::Role': 6, 'AWS::KMS::Key': 9,
      'AWS::Kinesis::Stream': 1, 'AWS::Kinesis::StreamConsumer': 3, 'AWS::Lambda::EventInvokeConfig': 2,
      'AWS::Lambda::EventSourceMapping': 3, 'AWS::Lambda::Function': 7, 'AWS::Lambda::Permission': 2, 'AWS::Lambda::Version': 3,
      'AWS::Logs::LogGroup': 11, 'AWS::OpenSearchService::Domain': 1, 'AWS::S3::Bucket': 5, 'AWS::S3::BucketPolicy': 5,
      'AWS::SNS::Topic': 1, 'AWS::SNS::TopicPolicy': 1, 'AWS::SQS::Queue': 3, 'AWS::SQS::QueuePolicy': 3,
      'Custom::CloudwatchLogResourcePolicy': 1, 'Custom::OpenSearchAccessPolicy': 1, 'Custom::OpenSearchSecurityRoles': 1,
    });
  });

  it('keeps the logical ids of what the built-in plug-ins place', () => {
    expect(Object.keys(template.Resources)).toEqual(expect.arrayContaining([
      'AuditLogBucket338C7405', 'SearchIndexDomain79AB342E', 'SearchIndexOperatorRoleE293D4EA', 'SearchIndexSecurityRolesFunctionC664F835', 'FraudBus618D6A92',
      'AuditConsumerRoleA1E877B2', 'SearchConsumerRoleB415D507', 'FraudConsumerRoleBE77A21E',
      'AuditConsumerFunction4274FC9E', 'SearchConsumerFunctionC9DF34B9', 'FraudConsumerFunction2528495F',
      'AuditSweeperFunctionC38D9ACA', 'FraudSweeperFunction3CFEF178',
      'SearchDomainAlarmsClusterRedA14326D5', 'SearchDomainAlarmsWritesBlockedC2C3B0F7', 'SearchDomainAlarmsLowStorage4A5C1DA5', 'SearchDomainAlarmsJvmMemoryPressureE6E69071',
    ]));
  });

  it('has the same outputs plus Destinations (the destinations and their modes), the pipeline name and the configuration file marker', () => {
    const perDestination = (prefix: string, swept: boolean) => [
      ...['FunctionName', 'StreamConsumerArn', 'EventSourceMappingId', 'DeadLetterQueueUrl', 'FailedBatchesBucket', 'Epoch', 'StartingPosition'].map((o) => `${prefix}${o}`),
      ...(swept ? [`${prefix}SweeperFunctionName`] : []),
    ];
    expect(Object.keys(template.Outputs).sort()).toEqual([
      ...perDestination('Audit', true), ...perDestination('Search', false), ...perDestination('Fraud', true),
      'AccountsTableName', 'ChangeStreamArn', 'LedgerTableName', 'AlarmTopicArn', 'AuditBucketName', 'SearchEndpoint', 'SearchIndexName',
      'SearchOperatorRoleArn', 'FraudEventBusArn', 'Destinations', 'OrderedFanoutPipeline', 'OrderedFanoutConfigFile',
    ].sort());
    expect(template.Outputs.OrderedFanoutPipeline?.Value).toBe('OrderedFanout');
    expect(template.Outputs.Destinations?.Value).toBe(
      '[{"name":"audit","mode":"every-version"},{"name":"search","mode":"latest-state"},{"name":"fraud","mode":"in-order"}]',
    );
  });
});

/**
 * Pipelines got a name (`pipelineName`, by default the stack's). Deliberately changed in the default template, and
 * nothing else (checked against the template synthesized before, with those three differences taken out): every
 * consumer and sweeper function has `POWERTOOLS_SERVICE_NAME` = the stack's name; every `OrderedFanout` metric its
 * alarms and dashboard read has `service` = the stack's name instead of `ordered-fanout`; and so each consumer
 * function's published version (`CurrentVersion<hash>`, which the mapping invokes) has a new logical id. The alarm and
 * EFO consumer names below were read off the template before the change.
 */
describe('the default bundled template, named after its stack', () => {
  const template = defaultTemplate;
  const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>;
  const named = (type: string, key: string) =>
    Object.values(resources).filter((resource) => resource.Type === type).map((resource) => resource.Properties[key] as string);

  it('keeps every alarm name', () => {
    const kinds = {
      audit: ['DeadLetterAge', 'DeadLetters', 'Errors', 'FailedBatches', 'GapTimeouts', 'IteratorAge', 'OldestParkedAge', 'ParkedTooLong', 'SweeperErrors', 'Throttles'],
      fraud: ['DeadLetterAge', 'DeadLetters', 'Errors', 'FailedBatches', 'GapTimeouts', 'IteratorAge', 'OldestParkedAge', 'ParkedTooLong', 'SweeperErrors', 'Throttles'],
      replication: ['FailedToReplicate', 'ThrottledPuts', 'UnreplicatedAge'],
      search: ['ClusterRed', 'DeadLetterAge', 'DeadLetters', 'Errors', 'FailedBatches', 'IteratorAge', 'JvmMemoryPressure', 'LowStorage', 'Throttles', 'WritesBlocked'],
    };
    const expected = Object.entries(kinds).flatMap(([prefix, names]) => names.map((name) => `OrderedFanout-${prefix}-${name}`));
    expect(named('AWS::CloudWatch::Alarm', 'AlarmName').sort()).toEqual(expected.sort());
  });

  it('keeps every EFO consumer name', () => {
    expect(named('AWS::Kinesis::StreamConsumer', 'ConsumerName')).toEqual([
      'OrderedFanout-audit-live-28334456', 'OrderedFanout-search-live-28334456', 'OrderedFanout-fraud-live-28334456',
    ]);
  });

  it("publishes and reads its metrics with service = the stack's name, from every consumer and sweeper", () => {
    expect(serviceNames(template)).toEqual({
      AuditConsumerFunction4274FC9E: 'OrderedFanout', AuditSweeperFunctionC38D9ACA: 'OrderedFanout', SearchConsumerFunctionC9DF34B9: 'OrderedFanout',
      FraudConsumerFunction2528495F: 'OrderedFanout', FraudSweeperFunction3CFEF178: 'OrderedFanout',
    });
    const metrics = ownMetrics(template);
    // The parked and gap alarms of audit and fraud, and the dashboard's widgets.
    expect(metrics.filter(({ reader }) => resources[reader]?.Type === 'AWS::CloudWatch::Alarm')).toHaveLength(6);
    expect(metrics.length).toBeGreaterThan(40);
    for (const { dimensions } of metrics) expect(Object.keys(dimensions).sort()).toEqual(['destination', 'service']);
    expect(new Set(metrics.map(({ dimensions }) => dimensions.service))).toEqual(new Set(['OrderedFanout']));
  });
});

describe('the construct with the built-ins and a plug-in', () => {
  it('keeps the logical ids it gave each before the built-ins were plug-ins', () => {
    const app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Platform', { env: { account: '123456789012', region: 'eu-west-1' } });
    new OrderedFanout(stack, 'Fanout', { destinations: { audit: {}, search: {}, fraud: {} }, plugins: [pluginDestination(ledgerQueueInfra, {})] });
    const ids = Object.keys(Template.fromStack(stack).toJSON().Resources as object);
    expect(ids).toEqual(expect.arrayContaining([
      'FanoutAuditLogBucket83306BE5', 'FanoutSearchIndexDomain3C787C3E', 'FanoutFraudBus237FE14A',
      'FanoutAuditConsumerRoleF3BBBDE1', 'FanoutSearchConsumerRole7ACC591D', 'FanoutFraudConsumerRole1C3CFF30',
      'FanoutSearchDomainAlarmsClusterRedA6F4A938', 'FanoutSearchDomainAlarmsJvmMemoryPressure9F7C0AC7',
      'FanoutLedgerQueueTargetQueueC449B0BA', 'FanoutLedgerQueueConsumerRoleE49D3949', 'FanoutLedgerQueueAlarmsQueueAgeCEAE4419',
      'FanoutLedgerQueueSweeperFunction2B5CD93A',
    ]));
  });
});
