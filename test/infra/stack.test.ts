import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { DESTINATION_NAMES, type DestinationName } from '../../infra/config/pipeline-config';
import { synth } from './synth';
import { mappingIdsOf } from './mappings';

/** Non-default values for every setting whose flow into the template is checked below. */
const CUSTOM = {
  stream: { mode: 'PROVISIONED', shardCount: 4 },
  destinations: {
    search: { batchSize: 500, parallelizationFactor: 2, maxBatchingWindowSeconds: 5, alarms: { iteratorAgeMs: 120_000 } },
    fraud: { retryAttempts: 3, maxRecordAgeSeconds: 3_600, reservedConcurrency: 4, enabled: false, alarms: { deadLetters: 7 } },
  },
};

let base: Template;
let custom: Template;

beforeAll(() => {
  base = synth().template;
  custom = synth(CUSTOM).template;
});

const ids = (template: Template, type: string, props: unknown = {}): string[] => Object.keys(template.findResources(type, props));

/** The one logical id of `type` matching `props`; fails unless there is exactly one. */
function only(template: Template, type: string, props: unknown = {}): string {
  const found = ids(template, type, props);
  expect(found, `${type} matching ${JSON.stringify(props)}`).toHaveLength(1);
  return found[0]!;
}

/** The logical id `value` (a `Fn::GetAtt` of `attribute`) points at, checked to be a resource of `type`. */
function getAttOf(template: Template, value: unknown, type: string, attribute: string): string {
  expect(value).toEqual({ 'Fn::GetAtt': [expect.any(String), attribute] });
  const id = (value as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  expect(template.toJSON().Resources[id]?.Type, `${id}`).toBe(type);
  return id;
}

/** A destination's function and event source mapping, found through the function's description. */
function consumerOf(template: Template, destination: DestinationName) {
  const functionId = only(template, 'AWS::Lambda::Function', { Properties: { Description: `ordered-fanout ${destination} consumer` } });
  const [mappingId = '', ...others] = mappingIdsOf(template, functionId);
  expect(others).toEqual([]);
  const resources = template.toJSON().Resources;
  return { functionId, mappingId, fn: resources[functionId].Properties, mapping: resources[mappingId].Properties };
}

const kmsKeyArn = (template: Template, value: unknown) => getAttOf(template, value, 'AWS::KMS::Key', 'Arn');

describe('change stream', () => {
  it('keeps 8760 hours, is encrypted with a created KMS key and is on demand by default', () => {
    const id = only(base, 'AWS::Kinesis::Stream');
    const props = base.toJSON().Resources[id].Properties;
    expect(props).toMatchObject({ RetentionPeriodHours: 8760, StreamModeDetails: { StreamMode: 'ON_DEMAND' } });
    expect(props.StreamEncryption.EncryptionType).toBe('KMS');
    kmsKeyArn(base, props.StreamEncryption.KeyId);
    base.hasResourceProperties('AWS::Kinesis::Stream', { ShardCount: Match.absent() });
  });

  it('is PROVISIONED with the configured ShardCount when configured', () => {
    custom.hasResourceProperties('AWS::Kinesis::Stream', {
      StreamModeDetails: { StreamMode: 'PROVISIONED' },
      ShardCount: 4,
      RetentionPeriodHours: 8760,
    });
  });
});

describe('tables', () => {
  it('Accounts: account_id key, on demand, PITR, deletion protection, customer key, changes to the stream in microseconds', () => {
    const streamId = only(base, 'AWS::Kinesis::Stream');
    const id = only(base, 'AWS::DynamoDB::Table', { Properties: { KeySchema: [{ AttributeName: 'account_id', KeyType: 'HASH' }] } });
    base.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', Properties: Match.objectLike({ DeletionProtectionEnabled: true }) });
    const props = base.toJSON().Resources[id].Properties;
    expect(props).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
      KinesisStreamSpecification: { StreamArn: { 'Fn::GetAtt': [streamId, 'Arn'] }, ApproximateCreationDateTimePrecision: 'MICROSECOND' },
    });
    kmsKeyArn(base, props.SSESpecification.KMSMasterKeyId);
  });

  it('ledger: pk/sk, the KEYS_ONLY gaps index on gap_scope/gap_since, PITR, customer key', () => {
    const id = only(base, 'AWS::DynamoDB::Table', {
      Properties: { KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }] },
    });
    const props = base.toJSON().Resources[id].Properties;
    expect(props).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
      GlobalSecondaryIndexes: [
        {
          IndexName: 'gaps',
          KeySchema: [{ AttributeName: 'gap_scope', KeyType: 'HASH' }, { AttributeName: 'gap_since', KeyType: 'RANGE' }],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
      ],
    });
    expect(props.AttributeDefinitions).toEqual(expect.arrayContaining([{ AttributeName: 'gap_since', AttributeType: 'N' }]));
    kmsKeyArn(base, props.SSESpecification.KMSMasterKeyId);
  });
});

describe('stream consumers and event source mappings', () => {
  it('has one EFO consumer and one mapping per destination, each mapping on a different consumer', () => {
    base.resourceCountIs('AWS::Kinesis::StreamConsumer', 3);
    base.resourceCountIs('AWS::Lambda::EventSourceMapping', 3);
    const streamId = only(base, 'AWS::Kinesis::Stream');
    const consumerIds = DESTINATION_NAMES.map((name) =>
      getAttOf(base, consumerOf(base, name).mapping.EventSourceArn, 'AWS::Kinesis::StreamConsumer', 'ConsumerARN'),
    );
    expect(new Set(consumerIds).size).toBe(3);
    for (const [i, name] of DESTINATION_NAMES.entries()) {
      expect(base.toJSON().Resources[consumerIds[i]!].Properties).toEqual({
        ConsumerName: expect.stringContaining(`-${name}-live`),
        StreamARN: { 'Fn::GetAtt': [streamId, 'Arn'] },
      });
    }
  });

  it.each(DESTINATION_NAMES)('%s mapping: TRIM_HORIZON, batching, retries, bisect, partial failures, failures to S3', (name) => {
    const { mapping } = consumerOf(base, name);
    expect(mapping).toMatchObject({
      Enabled: true,
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 0,
      ParallelizationFactor: 1,
      MaximumRetryAttempts: 10,
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    // Unset is Lambda's -1: a consumer paused for days still invokes with every record it then reads.
    expect(mapping.MaximumRecordAgeInSeconds).toBeUndefined();
    expect(mapping.StartingPositionTimestamp).toBeUndefined();
    getAttOf(base, mapping.DestinationConfig.OnFailure.Destination, 'AWS::S3::Bucket', 'Arn');
  });

  it('takes configured values per destination, and a disabled destination has a disabled mapping', () => {
    expect(consumerOf(custom, 'search').mapping).toMatchObject({ BatchSize: 500, ParallelizationFactor: 2, MaximumBatchingWindowInSeconds: 5, Enabled: true });
    expect(consumerOf(custom, 'fraud').mapping).toMatchObject({ MaximumRetryAttempts: 3, MaximumRecordAgeInSeconds: 3_600, Enabled: false });
    expect(consumerOf(custom, 'audit').mapping).toMatchObject({ BatchSize: 100, ParallelizationFactor: 1, MaximumRetryAttempts: 10, Enabled: true });
  });
});

describe('functions and dead-letter queues', () => {
  it('runs three consumer functions on nodejs22.x, arm64, reserving concurrency only when configured', () => {
    const found = ids(base, 'AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('^ordered-fanout \\w+ consumer$') } });
    expect(found).toHaveLength(3);
    for (const name of DESTINATION_NAMES) {
      expect(consumerOf(base, name).fn).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'] });
      // A new account (concurrency quota 10) can reserve nothing: the default must not ask for any.
      expect(consumerOf(base, name).fn.ReservedConcurrentExecutions).toBeUndefined();
    }
    expect(consumerOf(custom, 'fraud').fn.ReservedConcurrentExecutions).toBe(4);
  });

  it.each(DESTINATION_NAMES)('%s function: tables, its own dead-letter queue, the epoch, source maps', (name) => {
    const accounts = only(base, 'AWS::DynamoDB::Table', { Properties: { KeySchema: [{ AttributeName: 'account_id', KeyType: 'HASH' }] } });
    const ledger = only(base, 'AWS::DynamoDB::Table', { Properties: { KeySchema: Match.arrayWith([{ AttributeName: 'pk', KeyType: 'HASH' }]) } });
    const env = consumerOf(base, name).fn.Environment.Variables;
    expect(env).toMatchObject({
      NODE_OPTIONS: '--enable-source-maps',
      ACCOUNTS_TABLE_NAME: { Ref: accounts },
      LEDGER_TABLE_NAME: { Ref: ledger },
      DEAD_LETTER_QUEUE_URL: { Ref: expect.any(String) },
      LEDGER_EPOCH: 'live',
    });
    expect(base.toJSON().Resources[env.DEAD_LETTER_QUEUE_URL.Ref].Type).toBe('AWS::SQS::Queue');
    const queues = DESTINATION_NAMES.map((other) => consumerOf(base, other).fn.Environment.Variables.DEAD_LETTER_QUEUE_URL.Ref);
    expect(new Set(queues).size).toBe(3);
  });

  it('points each function at its destination', () => {
    const bucket = only(base, 'AWS::S3::Bucket', { Properties: { ObjectLockEnabled: true } });
    const domain = only(base, 'AWS::OpenSearchService::Domain');
    const bus = only(base, 'AWS::Events::EventBus');
    expect(consumerOf(base, 'audit').fn.Environment.Variables).toMatchObject({ AUDIT_BUCKET_NAME: { Ref: bucket }, AUDIT_KEY_PREFIX: 'changes/' });
    expect(consumerOf(base, 'search').fn.Environment.Variables).toMatchObject({
      SEARCH_ENDPOINT: { 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [domain, 'DomainEndpoint'] }]] },
      SEARCH_INDEX: 'accounts',
    });
    expect(consumerOf(base, 'fraud').fn.Environment.Variables).toMatchObject({ FRAUD_EVENT_BUS_NAME: { 'Fn::GetAtt': [bus, 'Arn'] } });
    expect(consumerOf(base, 'audit').fn.Environment.Variables).not.toHaveProperty('SEARCH_ENDPOINT');
    expect(consumerOf(base, 'search').fn.Environment.Variables).not.toHaveProperty('FRAUD_EVENT_BUS_NAME');
  });

  it('has three KMS-encrypted dead-letter queues keeping letters 14 days', () => {
    base.resourceCountIs('AWS::SQS::Queue', 3);
    for (const id of ids(base, 'AWS::SQS::Queue')) {
      const props = base.toJSON().Resources[id].Properties;
      expect(props.MessageRetentionPeriod).toBe(1_209_600);
      kmsKeyArn(base, props.KmsMasterKeyId);
    }
  });
});

describe('alarms, topic and dashboard', () => {
  const KINDS = ['IteratorAge', 'Errors', 'Throttles', 'DeadLetters', 'DeadLetterAge', 'FailedBatches'];
  const WAITING = ['OldestParkedAge', 'ParkedTooLong', 'GapTimeouts', 'SweeperErrors'];

  it.each(DESTINATION_NAMES)('%s has its alarms (waiting ones only where it waits), each to the alarm topic', (name) => {
    const topic = only(base, 'AWS::SNS::Topic');
    const mine = ids(base, 'AWS::CloudWatch::Alarm', { Properties: { AlarmName: Match.stringLikeRegexp(`^OrderedFanout-${name}-`) } });
    const swept = name !== 'search';
    const kinds = swept ? [...KINDS, ...WAITING] : KINDS;
    const searchDomain = name === 'search' ? 4 : 0;
    expect(mine).toHaveLength(kinds.length + searchDomain);
    for (const kind of kinds) {
      base.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: `OrderedFanout-${name}-${kind}`, AlarmActions: [{ Ref: topic }] });
    }
    const { functionId } = consumerOf(base, name);
    base.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `OrderedFanout-${name}-IteratorAge`,
      Namespace: 'AWS/Lambda',
      MetricName: 'IteratorAge',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionId } }],
      Threshold: 60_000,
    });
  });

  it('sends every alarm to the topic on ALARM and on OK, so a recovery reaches the operator too', () => {
    const topic = only(base, 'AWS::SNS::Topic');
    const alarms = Object.values(base.findResources('AWS::CloudWatch::Alarm')) as { Properties: { AlarmName: string; AlarmActions?: unknown; OKActions?: unknown } }[];
    expect(alarms.length).toBeGreaterThan(0);
    for (const { Properties: alarm } of alarms) {
      expect(alarm.AlarmActions, alarm.AlarmName).toEqual([{ Ref: topic }]);
      expect(alarm.OKActions, alarm.AlarmName).toEqual([{ Ref: topic }]);
    }
  });

  it('takes thresholds from the configuration', () => {
    base.resourceCountIs('AWS::CloudWatch::Alarm', 33);
    custom.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'OrderedFanout-search-IteratorAge', Threshold: 120_000 });
    custom.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'OrderedFanout-audit-IteratorAge', Threshold: 60_000 });
    custom.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'OrderedFanout-fraud-DeadLetters', Threshold: 7 });
    custom.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'OrderedFanout-search-DeadLetters', Threshold: 1 });
  });

  it('encrypts the alarm topic with a KMS key and has one dashboard', () => {
    const topic = only(base, 'AWS::SNS::Topic');
    kmsKeyArn(base, base.toJSON().Resources[topic].Properties.KmsMasterKeyId);
    base.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });
});

describe('created destinations', () => {
  it('audit bucket: versioned, Object Lock with default retention, SSE-KMS, no public access, lifecycle transition', () => {
    const id = only(base, 'AWS::S3::Bucket', { Properties: { ObjectLockEnabled: true } });
    const props = base.toJSON().Resources[id].Properties;
    expect(props).toMatchObject({
      VersioningConfiguration: { Status: 'Enabled' },
      ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 2555 } } },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      LifecycleConfiguration: {
        TransitionDefaultMinimumObjectSize: 'all_storage_classes_128K',
        Rules: [{ Status: 'Enabled', Transitions: [{ StorageClass: 'GLACIER_IR', TransitionInDays: 90 }] }],
      },
    });
    const [encryption] = props.BucketEncryption.ServerSideEncryptionConfiguration;
    expect(encryption.ServerSideEncryptionByDefault.SSEAlgorithm).toBe('aws:kms');
    kmsKeyArn(base, encryption.ServerSideEncryptionByDefault.KMSMasterKeyID);
  });

  it('audit bucket: the bucket policy denies everything without TLS', () => {
    const id = only(base, 'AWS::S3::Bucket', { Properties: { ObjectLockEnabled: true } });
    base.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: id },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            Resource: Match.arrayWith([{ 'Fn::GetAtt': [id, 'Arn'] }]),
          }),
        ]),
      },
    });
  });

  it('search domain: encrypted at rest with a KMS key, node-to-node TLS, HTTPS with TLS 1.2, fine-grained access', () => {
    const role = getAttOf(base, consumerOf(base, 'search').fn.Role, 'AWS::IAM::Role', 'Arn');
    const props = base.toJSON().Resources[only(base, 'AWS::OpenSearchService::Domain')].Properties;
    expect(props).toMatchObject({
      EncryptionAtRestOptions: { Enabled: true, KmsKeyId: { Ref: expect.any(String) } },
      NodeToNodeEncryptionOptions: { Enabled: true },
      DomainEndpointOptions: { EnforceHTTPS: true, TLSSecurityPolicy: 'Policy-Min-TLS-1-2-2019-07' },
      AdvancedSecurityOptions: { Enabled: true, MasterUserOptions: { MasterUserARN: { 'Fn::GetAtt': [expect.any(String), 'Arn'] } } },
    });
    // The consumer is not the master user (cluster admin): see search-access.test.ts.
    expect(props.AdvancedSecurityOptions.MasterUserOptions.MasterUserARN['Fn::GetAtt'][0]).not.toBe(role);
    expect(base.toJSON().Resources[props.EncryptionAtRestOptions.KmsKeyId.Ref].Type).toBe('AWS::KMS::Key');
  });

  it('fraud bus: one event bus with an archive of our events', () => {
    const bus = only(base, 'AWS::Events::EventBus');
    base.resourceCountIs('AWS::Events::Archive', 1);
    base.hasResourceProperties('AWS::Events::Archive', {
      SourceArn: { 'Fn::GetAtt': [bus, 'Arn'] },
      RetentionDays: 365,
      EventPattern: { source: ['ordered-fanout.accounts'] },
    });
  });
});
