import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { ledgerQueue, LedgerQueue } from '../../destinations/ledger-queue';
import { OrderedFanout } from '../../infra/ordered-fanout';
import type { OrderedFanoutProps } from '../../infra/ordered-fanout-props';
import { pluginDestination } from '../../infra/plugins/infra-plugin';
import { cdkJsonContext } from './cdk-context';

function build<Plugins extends string = never>(props: OrderedFanoutProps<Plugins>) {
  const app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Platform', { env: { account: '123456789012', region: 'eu-west-1' } });
  const fanout = new OrderedFanout(stack, 'Fanout', props);
  return { fanout, template: Template.fromStack(stack) };
}

const count = (template: Template, type: string): number => Object.keys(template.findResources(type)).length;

describe('OrderedFanout with the ledger-queue plug-in (SQS FIFO)', () => {
  const { fanout, template: t } = build({
    destinations: { fraud: {} },
    plugins: [pluginDestination(ledgerQueue.infra, {}, { batchSize: 25 })],
  });

  it('gives the plug-in what a built-in gets: EFO consumer, function, mapping, dead-letter queue, sweeper', () => {
    expect(Object.keys(fanout.consumers).sort()).toEqual(['fraud', 'ledger-queue']);
    expect(Object.keys(fanout.sweepers).sort()).toEqual(['fraud', 'ledger-queue']);
    expect(count(t, 'AWS::Kinesis::StreamConsumer')).toBe(2);
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', { BatchSize: 25, FunctionResponseTypes: ['ReportBatchItemFailures'], BisectBatchOnFunctionError: true });
    expect(fanout.consumer('ledger-queue').mode).toBe('in-order');
    expect(fanout.metricIteratorAge('ledger-queue').metricName).toBe('IteratorAge');
    // @ts-expect-error: the plug-in names are inferred from the props: another name is not a destination of this fanout
    expect(() => fanout.consumer('ledger')).toThrow(/has no ledger destination/);
  });

  it('creates a KMS-encrypted FIFO queue, deduplicated by id per account group, with a FIFO dead-letter queue of its own', () => {
    const target = fanout.targets['ledger-queue'] as LedgerQueue;
    expect(target).toBeInstanceOf(LedgerQueue);
    t.hasResourceProperties('AWS::SQS::Queue', {
      FifoQueue: true,
      ContentBasedDeduplication: false,
      DeduplicationScope: 'messageGroup',
      FifoThroughputLimit: 'perMessageGroupId',
      MaximumMessageSize: 1_048_576,
      KmsMasterKeyId: Match.anyValue(),
      RedrivePolicy: { deadLetterTargetArn: Match.anyValue(), maxReceiveCount: 5 },
    });
    expect(Object.values(t.findResources('AWS::SQS::Queue')).filter((queue) => queue.Properties?.FifoQueue === true)).toHaveLength(2);
  });

  it('tells the function its queue, and lets its role send to it and nothing else of it', () => {
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ LEDGER_QUEUE_URL: Match.anyValue(), LEDGER_QUEUE_MAX_MESSAGE_BYTES: '1048576', LEDGER_EPOCH: 'live' }) },
    });
    const policies = JSON.stringify(t.findResources('AWS::IAM::Policy'));
    expect(policies).toContain('sqs:SendMessage');
    expect(policies).not.toContain('sqs:ReceiveMessage');
    // Its ledger keys only.
    expect(policies).toContain('ledger-queue#*');
  });

  it('alarms on the consumer like an in-order built-in, and on the queue backlog and its receiver dead letters', () => {
    const names = Object.values(t.findResources('AWS::CloudWatch::Alarm')).map((alarm) => alarm.Properties?.AlarmName as string);
    for (const suffix of ['IteratorAge', 'DeadLetters', 'OldestParkedAge', 'GapTimeouts', 'QueueAge', 'ReceiverDeadLetters']) {
      expect(names).toContain(`Platform-ledger-queue-${suffix}`);
    }
    expect(names).toContain('Platform-ledger-queue-SweeperErrors');
  });

  it('imports a queue by ARN instead of creating one', () => {
    const arn = 'arn:aws:sqs:eu-west-1:210987654321:ledger.fifo';
    const { template } = build({ destinations: {}, plugins: [pluginDestination(ledgerQueue.infra, { queueArn: arn })] });
    expect(count(template, 'AWS::SQS::Queue')).toBe(1); // the consumer's own dead-letter queue only
    expect(JSON.stringify(template.findResources('AWS::IAM::Policy'))).toContain(arn);
  });

  it("tells the function an imported queue's smaller MaximumMessageSize, so a bigger message is dead-lettered unsent", () => {
    const arn = 'arn:aws:sqs:eu-west-1:210987654321:ledger.fifo';
    const { template } = build({ destinations: {}, plugins: [pluginDestination(ledgerQueue.infra, { queueArn: arn, maxMessageBytes: 262_144 })] });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ LEDGER_QUEUE_MAX_MESSAGE_BYTES: '262144' }) },
    });
    expect(() => ledgerQueue.infra.parseOptions?.({ maxMessageBytes: 2_000_000 }, 'plugins.ledger-queue.options')).toThrow(/maxMessageBytes/);
  });

  it('refuses a plug-in named like a built-in, or bad settings, naming the field', () => {
    const clash = { ...ledgerQueue.infra, name: 'fraud' };
    expect(() => build({ destinations: {}, plugins: [pluginDestination(clash, {})] })).toThrow(/"fraud" is taken/);
    expect(() => build({ destinations: {}, plugins: [pluginDestination(ledgerQueue.infra, {}, { batchSize: 0 })] })).toThrow(
      /destinations\.ledger-queue\.batchSize/,
    );
  });

  it('leaves nothing unacknowledged under cdk-nag', () => {
    // Built here, not by `build`, whose template would synthesize the app before the checks are added.
    const app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Platform', { env: { account: '123456789012', region: 'eu-west-1' } });
    new OrderedFanout(stack, 'Fanout', { destinations: {}, plugins: [pluginDestination(ledgerQueue.infra, {})] });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).not.toThrow();
  });
});
