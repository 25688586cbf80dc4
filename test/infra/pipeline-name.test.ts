import { App, Aws, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PIPELINE_CONFIG } from '../../infra/config/defaults';
import { pipelineNameOfConsumer, streamConsumerName } from '../../infra/config/consumer-environment';
import { PipelineConfigError } from '../../infra/config/pipeline-config';
import { checkPipelineName, PipelineNameError } from '../../infra/constructs/pipeline-name';
import { OrderedFanout } from '../../infra/ordered-fanout';
import type { OrderedFanoutProps } from '../../infra/ordered-fanout-props';
import { cdkJsonContext } from './cdk-context';
import { literalNames, ownMetrics, serviceNames } from './pipeline-metrics';

/** A stack of someone else's app (bundling skipped: these are assertions on the template). */
function platform(id = 'Platform', app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } })): Stack {
  return new Stack(app, id, { env: { account: '123456789012', region: 'eu-west-1' } });
}

const fraudOnly: OrderedFanoutProps = { destinations: { fraud: {} } };

/** The error `make` throws (the tests then read its type and message). */
function failure(make: () => unknown): Error {
  try {
    make();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}

describe('two OrderedFanouts in one stack, on two tables', () => {
  const stack = platform();
  const all = { destinations: { audit: {}, search: {}, fraud: {} } };
  const staging = new OrderedFanout(stack, 'Staging', { ...all, pipelineName: 'staging' });
  const prod = new OrderedFanout(stack, 'Prod', { ...all, pipelineName: 'prod.accounts_v2' });
  const template = Template.fromStack(stack);
  const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>;
  const under = (prefix: string) => (id: string) => id.startsWith(prefix);

  it('synthesize side by side: two tables, two streams, every destination twice', () => {
    const count = (type: string) => Object.values(resources).filter((resource) => resource.Type === type).length;
    expect(count('AWS::DynamoDB::Table')).toBe(4);
    expect(count('AWS::Kinesis::Stream')).toBe(2);
    expect(count('AWS::Kinesis::StreamConsumer')).toBe(6);
    expect(count('AWS::Lambda::EventSourceMapping')).toBe(6);
    expect(staging.table).not.toBe(prod.table);
  });

  it('share no physical name', () => {
    const names = literalNames(template);
    expect(names.size).toBeGreaterThanOrEqual(40);
    expect([...names].filter(([, ids]) => ids.length > 1)).toEqual([]);
  });

  it('name their alarms and EFO consumers after their pipelines', () => {
    for (const [prefix, pipeline] of [['Staging', 'staging'], ['Prod', 'prod.accounts_v2']] as const) {
      const mine = Object.entries(resources).filter(([id]) => under(prefix)(id));
      const alarms = mine.filter(([, resource]) => resource.Type === 'AWS::CloudWatch::Alarm').map(([, resource]) => resource.Properties.AlarmName as string);
      expect(alarms).toHaveLength(33);
      for (const name of alarms) expect(name.startsWith(`${pipeline}-`)).toBe(true);
      expect(alarms).toContain(`${pipeline}-fraud-DeadLetters`);
      expect(alarms).toContain(`${pipeline}-replication-FailedToReplicate`);
      expect(alarms).toContain(`${pipeline}-search-ClusterRed`);
      const consumers = mine.filter(([, resource]) => resource.Type === 'AWS::Kinesis::StreamConsumer').map(([, resource]) => resource.Properties.ConsumerName);
      expect(consumers.sort()).toEqual(['audit', 'fraud', 'search'].map((name) => `${pipeline}-${name}-live-28334456`));
    }
  });

  it('publish and read each its own metric series', () => {
    const services = serviceNames(template);
    expect(Object.keys(services)).toHaveLength(10);
    for (const [id, service] of Object.entries(services)) expect(service).toBe(under('Staging')(id) ? 'staging' : 'prod.accounts_v2');
    const metrics = ownMetrics(template);
    expect(metrics.length).toBeGreaterThan(80);
    for (const { reader, dimensions } of metrics) expect(dimensions.service).toBe(under('Staging')(reader) ? 'staging' : 'prod.accounts_v2');
    const resolve = (metric: { toMetricConfig(): { metricStat?: { dimensions?: { name: string; value: unknown }[] } } }) =>
      metric.toMetricConfig().metricStat?.dimensions;
    expect(resolve(staging.metric('fraud', 'DeadLettered'))).toEqual(expect.arrayContaining([{ name: 'service', value: 'staging' }]));
    expect(resolve(prod.metric('fraud', 'DeadLettered'))).toEqual(expect.arrayContaining([{ name: 'service', value: 'prod.accounts_v2' }]));
    expect(staging.pipelineName).toBe('staging');
    expect(prod.consumer('audit').pipelineName).toBe('prod.accounts_v2');
  });
});

describe('pipelineName is checked', () => {
  it.each([
    ['a space', 'prod accounts'],
    ['a slash', 'prod/accounts'],
    ['a leading dash', '-prod'],
    ['nothing', ''],
    ['129 characters', 'p'.repeat(129)],
  ])('refuses %s, naming the prop and the construct', (_, name) => {
    const error = failure(() => new OrderedFanout(platform(), 'Fanout', { ...fraudOnly, pipelineName: name }));
    expect(error).toBeInstanceOf(PipelineNameError);
    expect(error).toBeInstanceOf(PipelineConfigError);
    expect(error.message).toBe(
      `pipelineName: must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit, got ${JSON.stringify(name)} (from the props of Platform/Fanout)`,
    );
  });

  it('takes 128 characters, and leaves a name that is still a token to CloudFormation', () => {
    expect(checkPipelineName('p'.repeat(128), 'test')).toBe('p'.repeat(128));
    expect(checkPipelineName('Prod_2.eu-west-1', 'test')).toBe('Prod_2.eu-west-1');
    expect(checkPipelineName(Aws.STACK_NAME, 'test')).toBe(Aws.STACK_NAME);
  });

  it('refuses the same name twice in one stack', () => {
    const stack = platform();
    new OrderedFanout(stack, 'First', { ...fraudOnly, pipelineName: 'prod' });
    const error = failure(() => new OrderedFanout(stack, 'Second', { ...fraudOnly, pipelineName: 'prod' }));
    expect(error).toBeInstanceOf(PipelineNameError);
    expect(error.message).toBe('pipelineName: "prod" is already the pipeline name of Platform/First in stack Platform (from the props of Platform/Second)');
  });

  it("refuses a second pipeline with the default name, the stack's, and says to name each", () => {
    const stack = platform();
    new OrderedFanout(stack, 'First', fraudOnly);
    const error = failure(() => new OrderedFanout(stack, 'Second', fraudOnly));
    expect(error).toBeInstanceOf(PipelineNameError);
    expect(error.message).toMatch(/^pipelineName: "Platform" is already the pipeline name of Platform\/First in stack Platform: set a `pipelineName` of its own on each/);
    const other = platform('Other');
    new OrderedFanout(other, 'Named', { ...fraudOnly, pipelineName: 'Other' });
    expect(() => new OrderedFanout(other, 'Default', fraudOnly)).toThrow(/"Other" is already the pipeline name of Other\/Named/);
  });

  it('takes the longest name with the longest epoch: each EFO consumer name is shortened to a valid 128 characters', () => {
    const pipelineName = `Prod.${'p'.repeat(123)}`;
    const epoch = `replay-${'e'.repeat(56)}`;
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const replaying = { epoch, startingPosition: 'AT_TIMESTAMP', startingPositionTimestamp: from } as const;
    const stack = platform();
    const fanout = new OrderedFanout(stack, 'Fanout', { destinations: { audit: {}, fraud: replaying }, pipelineName });
    const resources = Template.fromStack(stack).toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>;
    const names = Object.values(resources).filter(({ Type }) => Type === 'AWS::Kinesis::StreamConsumer').map(({ Properties }) => Properties.ConsumerName as string);
    expect(names).toHaveLength(2);
    for (const name of names) expect(name).toMatch(/^[a-zA-Z0-9_.-]{1,128}$/);
    const fraud = streamConsumerName(pipelineName, 'fraud', fanout.consumer('fraud').settings);
    expect(fraud).toHaveLength(128);
    expect(names.sort()).toEqual([streamConsumerName(pipelineName, 'audit', fanout.consumer('audit').settings), fraud].sort());
    expect(pipelineNameOfConsumer(fraud, 'fraud', epoch, [pipelineName])).toBe(pipelineName);
  });

  it('takes the same name in two stacks (two accounts, or two regions)', () => {
    const app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
    const one = new OrderedFanout(platform('One', app), 'Fanout', { ...fraudOnly, pipelineName: 'accounts' });
    const two = new OrderedFanout(platform('Two', app), 'Fanout', { ...fraudOnly, pipelineName: 'accounts' });
    expect([one.pipelineName, two.pipelineName]).toEqual(['accounts', 'accounts']);
  });
});

describe('the pipeline name read back from an EFO consumer name', () => {
  const settings = { ...DEFAULT_PIPELINE_CONFIG.destinations.fraud, epoch: 'replay-20261101T000000Z' };

  it('is the name the consumer was made with', () => {
    for (const pipeline of ['OrderedFanout', 'prod.accounts_v2', 'fraud-live']) {
      expect(pipelineNameOfConsumer(streamConsumerName(pipeline, 'fraud', settings), 'fraud', settings.epoch)).toBe(pipeline);
    }
  });

  it('is the candidate a name shortened to 128 characters was made with, and unknown without it', () => {
    const shortened = streamConsumerName('p'.repeat(120), 'fraud', settings);
    expect(shortened).toHaveLength(128);
    expect(pipelineNameOfConsumer(shortened, 'fraud', settings.epoch, ['OrderedFanout', 'p'.repeat(120)])).toBe('p'.repeat(120));
    expect(pipelineNameOfConsumer(shortened, 'fraud', settings.epoch, ['p'.repeat(119)])).toBeUndefined();
    expect(pipelineNameOfConsumer(shortened, 'fraud', settings.epoch)).toBeUndefined();
  });

  it('is unknown for a name cut to its last 128 characters (before names were shortened), or not made by streamConsumerName', () => {
    const cut = `${'p'.repeat(120)}-fraud-${settings.epoch}-0123abcd`.slice(-128);
    expect(pipelineNameOfConsumer(cut, 'fraud', settings.epoch, ['p'.repeat(120)])).toBeUndefined();
    expect(pipelineNameOfConsumer('my-own-consumer', 'fraud', settings.epoch)).toBeUndefined();
    expect(pipelineNameOfConsumer(`-fraud-${settings.epoch}-0123abcd`, 'fraud', settings.epoch)).toBeUndefined();
  });
});
