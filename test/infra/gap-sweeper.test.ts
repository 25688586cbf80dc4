import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { DESTINATION_NAMES, type DestinationName } from '../../infra/config/pipeline-config';
import { synth } from './synth';

let template: Template;
let resources: Record<string, { Type: string; Properties: any }>;
let paused: Template;

beforeAll(() => {
  template = synth().template;
  resources = template.toJSON().Resources;
  paused = synth({ destinations: { fraud: { enabled: false } } }).template;
});

const SWEPT = ['audit', 'fraud'] as const;

const ids = (type: string, props: unknown = {}, from: Template = template): string[] => Object.keys(from.findResources(type, props));

function only(type: string, props: unknown = {}, from: Template = template): string {
  const found = ids(type, props, from);
  expect(found, `${type} matching ${JSON.stringify(props)}`).toHaveLength(1);
  return found[0]!;
}

const fnId = (destination: DestinationName, what: 'consumer' | 'gap sweeper', from: Template = template): string =>
  only('AWS::Lambda::Function', { Properties: { Description: `ordered-fanout ${destination} ${what}` } }, from);

describe('gap sweepers', () => {
  it('has a sweeper function for audit and fraud only (search, latest-state, never waits)', () => {
    const sweepers = ids('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('gap sweeper$') } });
    expect(sweepers).toHaveLength(2);
    expect(sweepers.sort()).toEqual(SWEPT.map((name) => fnId(name, 'gap sweeper')).sort());
    expect(ids('AWS::Lambda::Function', { Properties: { Description: 'ordered-fanout search gap sweeper' } })).toEqual([]);
  });

  it.each(SWEPT)('%s sweeper: nodejs22.x, arm64, no reserved concurrency, 5 minutes, its own log group, untraced', (name) => {
    const props = resources[fnId(name, 'gap sweeper')]!.Properties;
    expect(props).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Timeout: 300,
      Handler: 'index.handler',
    });
    // A new account (concurrency quota 10) cannot reserve even one.
    expect(props.ReservedConcurrentExecutions).toBeUndefined();
    const logGroup = props.LoggingConfig.LogGroup.Ref as string;
    expect(resources[logGroup]!.Type).toBe('AWS::Logs::LogGroup');
    expect(logGroup).not.toBe(resources[fnId(name, 'consumer')]!.Properties.LoggingConfig.LogGroup.Ref);
  });

  it.each(SWEPT)("%s sweeper: the consumer's role and exactly the consumer's environment", (name) => {
    const sweeper = resources[fnId(name, 'gap sweeper')]!.Properties;
    const consumer = resources[fnId(name, 'consumer')]!.Properties;
    expect(sweeper.Role).toEqual(consumer.Role);
    expect(sweeper.Environment.Variables).toEqual(consumer.Environment.Variables);
    expect(sweeper.Environment.Variables).toMatchObject({ LEDGER_EPOCH: 'live', MAX_GAP_AGE_SECONDS: '900', DEAD_LETTER_QUEUE_URL: { Ref: expect.any(String) } });
  });

  it("the role may write the sweeper's log group", () => {
    for (const name of SWEPT) {
      const sweeper = resources[fnId(name, 'gap sweeper')]!.Properties;
      const role = sweeper.Role['Fn::GetAtt'][0] as string;
      const logGroup = sweeper.LoggingConfig.LogGroup.Ref as string;
      template.hasResourceProperties('AWS::IAM::Policy', {
        Roles: Match.arrayWith([{ Ref: role }]),
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
              Resource: Match.arrayWith([{ 'Fn::GetAtt': [logGroup, 'Arn'] }]),
            }),
          ]),
        },
      });
    }
  });

  it.each(SWEPT)('%s sweeper: a rule every minute targets it, allowed to invoke it; no retries of a missed sweep', (name) => {
    const fn = fnId(name, 'gap sweeper');
    const rule = only('AWS::Events::Rule', {
      Properties: { ScheduleExpression: 'rate(1 minute)', Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [fn, 'Arn'] } })] },
    });
    expect(resources[rule]!.Properties.State).toBe('ENABLED');
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [fn, 'Arn'] },
      Principal: 'events.amazonaws.com',
      SourceArn: { 'Fn::GetAtt': [rule, 'Arn'] },
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { FunctionName: { Ref: fn }, MaximumRetryAttempts: 0 });
  });

  it('has exactly the two schedule rules', () => {
    expect(ids('AWS::Events::Rule', { Properties: { ScheduleExpression: Match.anyValue() } })).toHaveLength(2);
  });

  it('disables the schedule of a paused destination (its missing versions still wait unread in the stream)', () => {
    const fn = fnId('fraud', 'gap sweeper', paused);
    const rule = only('AWS::Events::Rule', { Properties: { Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [fn, 'Arn'] } })] } }, paused);
    expect(paused.toJSON().Resources[rule].Properties.State).toBe('DISABLED');
    const audit = fnId('audit', 'gap sweeper', paused);
    paused.hasResourceProperties('AWS::Events::Rule', { State: 'ENABLED', Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [audit, 'Arn'] } })] });
  });

  it('outputs each sweeper function name', () => {
    template.hasOutput('FraudSweeperFunctionName', { Value: { Ref: fnId('fraud', 'gap sweeper') } });
    template.hasOutput('AuditSweeperFunctionName', { Value: { Ref: fnId('audit', 'gap sweeper') } });
    expect(Object.keys(template.findOutputs('SearchSweeperFunctionName'))).toEqual([]);
  });
});

describe('GapTimeouts alarms', () => {
  it('search (latest-state) has none: it never waits for a missing version, so the alarm could never fire', () => {
    expect(Object.keys(template.findResources('AWS::CloudWatch::Alarm', { Properties: { AlarmName: 'OrderedFanout-search-GapTimeouts' } }))).toEqual([]);
  });

  it.each(SWEPT)('%s: GapTimeouts summed over 5 minutes, ≥ 1 in one period, to the alarm topic (ALARM and OK)', (name) => {
    const topic = only('AWS::SNS::Topic');
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `OrderedFanout-${name}-GapTimeouts`,
      Namespace: 'OrderedFanout',
      MetricName: 'GapTimeouts',
      Dimensions: Match.arrayWith([
        { Name: 'destination', Value: name },
        // The pipeline's name (by default the stack's), which the functions publish as their service.
        { Name: 'service', Value: 'OrderedFanout' },
      ]),
      Statistic: 'Sum',
      Period: 300,
      Threshold: 1,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: topic }],
      OKActions: [{ Ref: topic }],
    });
  });

  it('shows gap time-outs on the dashboard', () => {
    const id = only('AWS::CloudWatch::Dashboard');
    const body = JSON.stringify(resources[id]!.Properties.DashboardBody);
    for (const name of DESTINATION_NAMES) expect(body).toContain(`${name}: gap time-outs`);
    expect(body).toContain('GapTimeouts');
  });
});
