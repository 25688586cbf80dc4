import { describe, expect, it } from 'vitest';
import { parsePipelineConfig } from '../../infra/config/load-config';
import { PipelineConfigError } from '../../infra/config/pipeline-config';
import { synth } from './synth';

/** The smaller deploy-time defects of the review: each pinned by the template it produces. */

type Resources = Record<string, { Type: string; Properties: Record<string, any>; DeletionPolicy?: string }>;
const resourcesOf = (raw: unknown = {}) => synth(raw).template.toJSON().Resources as Resources;
const base = resourcesOf();
const consumerFn = (resources: Resources, name: string) =>
  Object.values(resources).find((r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Description === `ordered-fanout ${name} consumer`)!;

const IMPORTED_BUCKET = 'arn:aws:s3:::neighbour-audit-log';
const OWNER_KEY = 'arn:aws:kms:eu-west-1:210987654321:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0';

describe('an imported audit bucket encrypted with its owner\'s KMS key', () => {
  const resources = resourcesOf({ destinations: { audit: { bucketArn: IMPORTED_BUCKET, bucketKeyArn: OWNER_KEY } } });

  it('lets the audit role ask that key for data keys and decrypt (a refused write is read back), and nothing more', () => {
    const role = consumerFn(resources, 'audit').Properties.Role['Fn::GetAtt'][0];
    const statements = Object.values(resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles).includes(role))
      .flatMap((r) => r.Properties.PolicyDocument.Statement);
    // CDK merges it with the statement for the consumer's own key, which grants the same two actions.
    const onKey = statements.filter((s) => JSON.stringify(s.Resource).includes(OWNER_KEY));
    expect(onKey).toHaveLength(1);
    expect(onKey[0]).toMatchObject({ Effect: 'Allow' });
    expect([onKey[0].Action].flat().sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
  });

  it('is refused without bucketArn (a created bucket has its own key)', () => {
    expect(() => parsePipelineConfig({ destinations: { audit: { bucketKeyArn: OWNER_KEY } } }, 'test')).toThrow(PipelineConfigError);
    expect(() => parsePipelineConfig({ destinations: { audit: { bucketArn: IMPORTED_BUCKET, bucketKeyArn: 'alias/x' } } }, 'test')).toThrow(
      /destinations\.audit\.bucketKeyArn: must be a KMS key ARN/,
    );
  });
});

describe('an imported search domain in another region', () => {
  it('signs for the domain\'s region (SEARCH_REGION), not the function\'s', () => {
    const resources = resourcesOf({
      destinations: { search: { domainEndpoint: 'https://search.example.com', domainArn: 'arn:aws:es:us-west-2:210987654321:domain/accounts' } },
    });
    expect(consumerFn(resources, 'search').Properties.Environment.Variables.SEARCH_REGION).toBe('us-west-2');
    // A created domain is in the stack's region: nothing to override.
    expect(consumerFn(base, 'search').Properties.Environment.Variables.SEARCH_REGION).toBeUndefined();
  });
});

describe('the alarm topic key', () => {
  it('lets CloudWatch use it only for alarms of this account (aws:SourceAccount)', () => {
    const statements = Object.values(base)
      .filter((r) => r.Type === 'AWS::KMS::Key')
      .flatMap((r) => r.Properties.KeyPolicy.Statement)
      .filter((s) => s.Principal?.Service === 'cloudwatch.amazonaws.com');
    expect(statements).toHaveLength(1);
    expect(statements[0].Condition).toEqual({ StringEquals: { 'aws:SourceAccount': '123456789012' } });
  });
});

describe('functions and their logs', () => {
  it('have X-Ray off: the code is not instrumented, so tracing would cost without telling anything', () => {
    const functions = Object.values(base).filter((r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Runtime === 'nodejs22.x');
    expect(functions.length).toBeGreaterThanOrEqual(5);
    for (const fn of functions) expect(fn.Properties.TracingConfig).toBeUndefined();
  });

  it('keep their log groups (one year) when the stack is deleted: they are the evidence of what was delivered', () => {
    for (const name of ['audit', 'search', 'fraud']) {
      const logGroup = consumerFn(base, name).Properties.LoggingConfig.LogGroup.Ref as string;
      expect(base[logGroup]).toMatchObject({ DeletionPolicy: 'Retain', Properties: { RetentionInDays: 365 } });
    }
  });
});

describe('dead-letter queues', () => {
  it.each(['audit', 'search', 'fraud'])('%s: an alarm a week before SQS deletes a letter (14-day retention)', (name) => {
    const alarm = Object.values(base).find((r) => r.Type === 'AWS::CloudWatch::Alarm' && r.Properties.AlarmName === `OrderedFanout-${name}-DeadLetterAge`)!;
    expect(alarm.Properties).toMatchObject({ MetricName: 'ApproximateAgeOfOldestMessage', Statistic: 'Maximum', Threshold: 604_800 });
    const queue = alarm.Properties.Dimensions[0].Value['Fn::GetAtt'][0] as string;
    expect(base[queue]!.Properties.MessageRetentionPeriod).toBe(1_209_600);
  });
});
