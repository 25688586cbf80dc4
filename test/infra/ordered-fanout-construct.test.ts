import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { PipelineConfigError } from '../../infra/config/pipeline-config';
import { OrderedFanout } from '../../infra/ordered-fanout';
import { MAX_DESTINATIONS } from '../../infra/ordered-fanout-settings';
import { pluginDestination, type PluginTarget } from '../../infra/plugins/infra-plugin';
import type { OrderedFanoutProps } from '../../infra/ordered-fanout-props';
import { cdkJsonContext } from './cdk-context';
import { synth } from './synth';

/** A stack of someone else's app holding one `OrderedFanout` (bundling skipped: these are assertions on the template). */
function build(props: OrderedFanoutProps, before?: (stack: Stack) => Partial<OrderedFanoutProps>) {
  const app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Platform', { env: { account: '123456789012', region: 'eu-west-1' } });
  const fanout = new OrderedFanout(stack, 'Fanout', { ...props, ...before?.(stack) });
  return { app, stack, fanout, template: () => Template.fromStack(stack) };
}

const count = (template: Template, type: string): number => Object.keys(template.findResources(type)).length;

describe('OrderedFanout with everything created', () => {
  const { fanout, template } = build({ destinations: { audit: {}, fraud: { batchSize: 50 } } });
  const t = template();

  it('creates the table, the stream, the ledger and one consumer per destination named', () => {
    expect(count(t, 'AWS::Kinesis::Stream')).toBe(1);
    expect(count(t, 'AWS::DynamoDB::Table')).toBe(2);
    expect(count(t, 'AWS::Kinesis::StreamConsumer')).toBe(2);
    expect(count(t, 'AWS::Lambda::EventSourceMapping')).toBe(2);
    expect(Object.keys(fanout.consumers).sort()).toEqual(['audit', 'fraud']);
    expect(Object.keys(fanout.sweepers).sort()).toEqual(['audit', 'fraud']);
    expect(count(t, 'AWS::OpenSearchService::Domain')).toBe(0);
  });

  it('applies a destination setting over the defaults', () => {
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', { BatchSize: 50 });
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', { BatchSize: 100 });
  });

  it('streams the created table into the created stream with microsecond precision', () => {
    t.hasResourceProperties('AWS::DynamoDB::Table', {
      KinesisStreamSpecification: { StreamArn: Match.anyValue(), ApproximateCreationDateTimePrecision: 'MICROSECOND' },
    });
  });

  it('offers per-destination metrics, and refuses a destination it does not have', () => {
    expect(fanout.metricIteratorAge('fraud').metricName).toBe('IteratorAge');
    expect(fanout.metricDeadLetterDepth('audit').metricName).toBe('ApproximateNumberOfMessagesVisible');
    expect(() => fanout.metricIteratorAge('search')).toThrow(/no search destination/);
    expect(fanout.metricMaxIteratorAge().toMetricConfig().mathExpression?.expression).toBe('MAX([lag_audit, lag_fraud])');
  });
});

describe('OrderedFanout grants', () => {
  it('grantReadLedger lets a principal read the ledger and its index, and write nothing', () => {
    const { fanout, stack, template } = build({ destinations: { fraud: {} } });
    const reader = new iam.Role(stack, 'Reader', { assumedBy: new iam.AccountRootPrincipal() });
    fanout.grantReadLedger(reader);
    const policies = template().findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: stack.getLogicalId(reader.node.defaultChild as iam.CfnRole) }] } });
    const actions = JSON.stringify(Object.values(policies).map((policy) => policy.Properties.PolicyDocument));
    expect(actions).toContain('dynamodb:GetItem');
    expect(actions).toContain('dynamodb:Query');
    expect(actions).not.toContain('dynamodb:PutItem');
  });

  it('grantConsumeDeadLetters covers every destination, or the one named', () => {
    const { fanout, stack } = build({ destinations: { audit: {}, fraud: {} } });
    const all = new iam.Role(stack, 'All', { assumedBy: new iam.AccountRootPrincipal() });
    const one = new iam.Role(stack, 'One', { assumedBy: new iam.AccountRootPrincipal() });
    fanout.grantConsumeDeadLetters(all);
    fanout.grantConsumeDeadLetters(one, 'fraud');
    const resources = (role: iam.Role) => JSON.stringify(stack.resolve((role.node.tryFindChild('DefaultPolicy') as iam.Policy).document));
    expect(resources(all)).toContain('AuditConsumerDeadLetterQueue');
    expect(resources(all)).toContain('FraudConsumerDeadLetterQueue');
    expect(resources(one)).not.toContain('AuditConsumerDeadLetterQueue');
  });
});

describe('OrderedFanout with an existing table', () => {
  it('takes a table and its stream as they are', () => {
    const { template } = build({ destinations: { search: { domainEndpoint: 'https://search.example.com', domainArn: 'arn:aws:es:eu-west-1:123456789012:domain/accounts' } } }, (stack) => {
      const stream = new kinesis.Stream(stack, 'Theirs');
      const table = new dynamodb.Table(stack, 'TheirTable', { partitionKey: { name: 'account_id', type: dynamodb.AttributeType.STRING }, kinesisStream: stream });
      return { table, stream };
    });
    const t = template();
    expect(count(t, 'AWS::Kinesis::Stream')).toBe(1);
    expect(count(t, 'AWS::DynamoDB::Table')).toBe(2);
    expect(count(t, 'Custom::AWS')).toBe(0);
  });

  it('switches a table of the app without a stream to a new one', () => {
    const { template } = build({ destinations: { fraud: {} } }, (stack) => ({
      table: new dynamodb.Table(stack, 'TheirTable', { partitionKey: { name: 'account_id', type: dynamodb.AttributeType.STRING } }),
    }));
    const t = template();
    expect(count(t, 'AWS::Kinesis::Stream')).toBe(1);
    t.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'account_id', KeyType: 'HASH' }],
      KinesisStreamSpecification: { ApproximateCreationDateTimePrecision: 'MICROSECOND' },
    });
  });

  it('refuses a table of the app that already streams elsewhere, unless given that stream', () => {
    expect(() =>
      build({ destinations: { fraud: {} } }, (stack) => ({
        table: new dynamodb.Table(stack, 'TheirTable', {
          partitionKey: { name: 'account_id', type: dynamodb.AttributeType.STRING },
          kinesisStream: new kinesis.Stream(stack, 'Theirs'),
        }),
      })),
    ).toThrow(/already writes its changes to a Kinesis stream/);
  });

  it('switches an imported table on with a custom resource', () => {
    const { template } = build({ destinations: { fraud: {} } }, (stack) => ({ table: dynamodb.Table.fromTableName(stack, 'Imported', 'accounts') }));
    const t = template();
    expect(count(t, 'AWS::DynamoDB::Table')).toBe(1);
    const create = JSON.stringify(Object.values(t.findResources('Custom::AWS')).map((resource) => resource.Properties.Create));
    expect(create).toContain('enableKinesisStreamingDestination');
    expect(create).toContain('MICROSECOND');
  });
});

describe('OrderedFanout props are checked', () => {
  it('needs a destination', () => {
    expect(() => build({ destinations: {} })).toThrow(/at least one destination/);
  });

  it("refuses a created resource's setting next to an import, which would be ignored", () => {
    const imported = { domainEndpoint: 'https://search.example.com', domainArn: 'arn:aws:es:eu-west-1:123456789012:domain/accounts' };
    expect(() => build({ destinations: { search: { ...imported, dataNodes: 6 } } })).toThrow(/destinations\.search\.dataNodes: is a setting of a created search resource/);
    expect(() => build({ destinations: { search: imported } })).not.toThrow();
  });

  it('names a wrong setting by its path', () => {
    expect(() => build({ destinations: { fraud: { batchSize: 0 } } })).toThrow(PipelineConfigError);
    expect(() => build({ destinations: { fraud: { batchSize: 0 } } })).toThrow(/destinations\.fraud\.batchSize/);
  });
});

describe("OrderedFanout checks a replay's record-age limit against the stream it reads", () => {
  const DAY = 86_400;
  // A replay from TRIM_HORIZON reaches back as far as the stream keeps records: the mapping's limit must cover that.
  const replay = (maxRecordAgeSeconds: number) => ({ fraud: { epoch: 'r1', startingPosition: 'TRIM_HORIZON' as const, maxRecordAgeSeconds } });
  const withStream = (retention: Duration | undefined, extra: Partial<OrderedFanoutProps> = {}) => (stack: Stack) => ({
    stream: new kinesis.Stream(stack, 'Theirs', retention === undefined ? {} : { retentionPeriod: retention }),
    ...extra,
  });

  it('a stream of the app: its own retention', () => {
    expect(() => build({ destinations: replay(2 * DAY) }, withStream(Duration.hours(48)))).not.toThrow();
    expect(() => build({ destinations: replay(DAY) }, withStream(Duration.hours(48)))).toThrow(/maxRecordAgeSeconds: must cover the replay window/);
    // Kinesis keeps 24 hours when the template names no retention.
    expect(() => build({ destinations: replay(DAY) }, withStream(undefined))).not.toThrow();
  });

  it('streamSettings.retentionHours names the retention of a stream given, imported or not', () => {
    const imported = (stack: Stack) => ({ stream: kinesis.Stream.fromStreamArn(stack, 'Imported', 'arn:aws:kinesis:eu-west-1:123456789012:stream/accounts') });
    expect(() => build({ destinations: replay(7 * DAY), streamSettings: { retentionHours: 168 } }, imported)).not.toThrow();
    // Unknown: taken as the longest Kinesis keeps, so only "no limit" covers a replay from TRIM_HORIZON.
    expect(() => build({ destinations: replay(7 * DAY) }, imported)).toThrow(/reaches the stream's retention, 31536000 s back/);
    expect(() => build({ destinations: replay(-1) }, imported)).not.toThrow();
  });

  it('the bundled stack: the configured retention', () => {
    expect(() => synth({ stream: { retentionHours: 24 }, destinations: { fraud: { epoch: 'r1', maxRecordAgeSeconds: DAY } } })).not.toThrow();
    expect(() => synth({ stream: { retentionHours: 48 }, destinations: { fraud: { epoch: 'r1', maxRecordAgeSeconds: DAY } } })).toThrow(/must cover the replay window/);
  });
});

describe('OrderedFanout checks a reservation against an on-demand stream it knows the mode of', () => {
  const reserved = (reservedConcurrency: number, parallelizationFactor = 1) => ({ fraud: { reservedConcurrency, parallelizationFactor } });

  it('a stream it creates on demand starts with 4 shards: less than 4 × parallelizationFactor is refused', () => {
    expect(() => build({ destinations: reserved(3) })).toThrow(/destinations\.fraud\.reservedConcurrency: must be at least 4 × parallelizationFactor = 4 × 1 = 4 on an ON_DEMAND stream/);
    expect(() => build({ destinations: reserved(7, 2) })).toThrow(/= 8 on an ON_DEMAND stream/);
    expect(() => build({ destinations: reserved(8, 2) })).not.toThrow();
  });

  it("a stream of the user's own: only when streamSettings give its mode; the bundled stack gives its own", () => {
    const theirs = (stack: Stack) => ({ stream: new kinesis.Stream(stack, 'Theirs', { streamMode: kinesis.StreamMode.PROVISIONED, shardCount: 1 }) });
    expect(() => build({ destinations: reserved(1) }, theirs)).not.toThrow();
    expect(() => build({ destinations: reserved(1), streamSettings: { mode: 'ON_DEMAND' } }, theirs)).toThrow(/on an ON_DEMAND stream/);
    expect(() => synth({ destinations: reserved(2) })).toThrow(/destinations\.fraud\.reservedConcurrency: must be at least 4/);
    expect(() => synth({ stream: { mode: 'PROVISIONED', shardCount: 1 }, destinations: reserved(1) })).not.toThrow();
  });
});

describe('OrderedFanout under cdk-nag', () => {
  it('leaves nothing unacknowledged with every destination created', () => {
    const { app } = build({ destinations: { audit: {}, search: {}, fraud: {} } });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).not.toThrow();
  });
});

describe('OrderedFanout within Kinesis consumer limits', () => {
  /** A latest-state plug-in (no sweeper needed) named `name`, on the ledger-queue handler: only its consumer matters here. */
  const plugin = (name: string) =>
    pluginDestination<Record<string, never>, string>(
      {
        name,
        mode: 'latest-state',
        handler: 'destinations/ledger-queue/handler.ts',
        createTarget: (): PluginTarget => ({ owned: false, environment: {}, grantDeliver: () => undefined }),
      },
      {},
    );
  // Names made at run time: `build` takes the props of a stack without plug-in names in its type.
  const plugins = (count: number) => Array.from({ length: count }, (_, index) => plugin(`hook${index}`)) as unknown as OrderedFanoutProps['plugins'];

  it('registers at most five consumers at a time: each waits for the one five before it', () => {
    const t = build({ destinations: { audit: {}, search: {}, fraud: {} }, plugins: plugins(5) }).template();
    const consumers = t.findResources('AWS::Kinesis::StreamConsumer');
    const ids = Object.keys(consumers);
    expect(ids).toHaveLength(8);
    const waitsFor = (id: string): string[] => [consumers[id]!.DependsOn ?? []].flat().filter((other: string) => ids.includes(other));
    // In registration order (the props' order): the first five wait for none, the sixth for the first, and so on.
    expect(ids.map((id) => waitsFor(id).length)).toEqual([0, 0, 0, 0, 0, 1, 1, 1]);
    expect(waitsFor(ids[5]!)).toEqual([ids[0]]);
    expect(waitsFor(ids[7]!)).toEqual([ids[2]]);
  });

  it(`refuses more destinations than leave a stream's 20 consumers one free for a replay (${MAX_DESTINATIONS} at most)`, () => {
    expect(() => build({ destinations: { audit: {} }, plugins: plugins(MAX_DESTINATIONS - 1) })).not.toThrow();
    expect(() => build({ destinations: { audit: {} }, plugins: plugins(MAX_DESTINATIONS) })).toThrow(
      /20 destinations, each with its own EFO consumer: a Kinesis stream takes 20 consumers, and a replay needs one free/,
    );
  });
});

describe('OrderedFanout within CloudFormation and CloudWatch limits', () => {
  /** A plug-in with no resources of its own, so that only what every destination gets is counted. */
  const plugin = (name: string, mode: 'in-order' | 'latest-state') =>
    pluginDestination<Record<string, never>, string>(
      {
        name,
        mode,
        handler: 'destinations/ledger-queue/handler.ts',
        sweeper: 'destinations/ledger-queue/sweeper.ts',
        createTarget: (): PluginTarget => ({ owned: false, environment: {}, grantDeliver: () => undefined }),
      },
      {},
    );
  const plugins = (count: number, mode: 'in-order' | 'latest-state') =>
    Array.from({ length: count }, (_, index) => plugin(`hook${index}`, mode)) as unknown as OrderedFanoutProps['plugins'];
  const builtIns = { audit: {}, search: {}, fraud: {} };

  // CloudFormation takes 500 resources a stack (CDK refuses more at synth, TooManyResourcesInStack): the README's
  // count of destinations that fit is this one. A destination that grows by a resource makes it wrong.
  it('fits the three built-ins and 14 plug-ins that wait on gaps in one stack, not 15', () => {
    expect(Object.keys(build({ destinations: builtIns, plugins: plugins(14, 'in-order') }).template().toJSON().Resources)).toHaveLength(495);
    expect(() => build({ destinations: builtIns, plugins: plugins(15, 'in-order') }).template()).toThrow(/TooManyResources|greater than allowed maximum of 500/);
  });

  it(`fits ${MAX_DESTINATIONS} destinations when the plug-ins are latest-state (no sweeper)`, () => {
    const resources = Object.keys(build({ destinations: builtIns, plugins: plugins(MAX_DESTINATIONS - 3, 'latest-state') }).template().toJSON().Resources);
    expect(resources.length).toBeLessThanOrEqual(500);
  });

  // An alarm reads at most 10 metrics (PutMetricAlarm); a dashboard takes more.
  it('alarms on metricMaxIteratorAge() of up to 10 destinations, and refuses more at synth', () => {
    const withAlarm = (count: number) => {
      const { stack, fanout, template } = build({ destinations: builtIns, plugins: plugins(count - 3, 'latest-state') });
      new cloudwatch.Alarm(stack, 'Lag', { metric: fanout.metricMaxIteratorAge(), threshold: 60_000, evaluationPeriods: 3 });
      return template;
    };
    expect(() => withAlarm(10)()).not.toThrow();
    expect(() => withAlarm(11)()).toThrow(/more than 10 individual metrics/);
  });
});
