import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { BUILT_IN_PLUGINS } from '../../destinations/registry';
import { CONFIG_FILE_CONTEXT_KEY, parsePipelineConfig, readPipelineConfig } from '../../infra/config/load-config';
import { destinationDefaults } from '../../infra/config/defaults';
import { PipelineConfigError } from '../../infra/config/pipeline-config';
import { option, parsePluginOptions } from '../../infra/config/plugin-config';
import { configuredPlugins, OrderedFanoutStack } from '../../infra/ordered-fanout-stack';
import type { InfraPlugin } from '../../infra/plugins/infra-plugin';
import { cdkJsonContext } from './cdk-context';
import { synth } from './synth';

/** The bundled app's registry: the infrastructure halves of `destinations/registry.ts` (as `infra/app.ts` builds it). */
const REGISTRY = Object.fromEntries(Object.entries(BUILT_IN_PLUGINS).map(([name, plugin]) => [name, plugin.infra]));
const WITH_LEDGER_QUEUE = { plugins: { 'ledger-queue': { options: { maxReceiveCount: 3 }, settings: { batchSize: 50, epoch: 'e2' } } } };

describe('the configuration file: plugins', () => {
  it('merges each plug-in\'s settings over the defaults and keeps its options as written', () => {
    const { plugins } = parsePipelineConfig(WITH_LEDGER_QUEUE, 'test');
    expect(plugins?.['ledger-queue']?.options).toEqual({ maxReceiveCount: 3 });
    expect(plugins?.['ledger-queue']?.settings).toMatchObject({ batchSize: 50, epoch: 'e2', retryAttempts: 10, alarms: { evaluationPeriods: 3 } });
    expect(parsePipelineConfig({ plugins: { 'ledger-queue': {} } }, 'test').plugins).toEqual({
      'ledger-queue': { options: {}, settings: destinationDefaults() },
    });
    expect(Object.hasOwn(parsePipelineConfig({}, 'test'), 'plugins')).toBe(false);
  });

  it.each([
    [{ plugins: [] }, /^plugins: must be an object of plug-in destinations by name, got an array/],
    [{ plugins: { fraud: {} } }, /^plugins\.fraud: is a built-in destination: configure it under destinations\.fraud/],
    [{ plugins: { 'ledger-queue': 5 } }, /^plugins\.ledger-queue: must be an object, got 5/],
    [{ plugins: { 'ledger-queue': { setings: {} } } }, /^plugins\.ledger-queue\.setings: unknown setting; did you mean settings\?/],
    [{ plugins: { 'ledger-queue': { options: 'x' } } }, /^plugins\.ledger-queue\.options: must be an object, got "x"/],
    [{ plugins: { 'ledger-queue': { settings: { batchSize: 0 } } } }, /^plugins\.ledger-queue\.settings\.batchSize: must be an integer between 1 and 10000/],
    [{ plugins: { 'ledger-queue': { settings: { batchsize: 5 } } } }, /^plugins\.ledger-queue\.settings\.batchsize: unknown setting; did you mean batchSize\?/],
    [{ plugins: { 'ledger-queue': { settings: { startingPosition: 'AT_TIMESTAMP' } } } }, /^plugins\.ledger-queue\.settings\.startingPositionTimestamp: is required/],
  ])('refuses %j', (raw, message) => {
    expect(() => parsePipelineConfig(raw, 'test')).toThrow(message);
  });

  it('is read from the configuration file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ordered-fanout-config-'));
    try {
      const file = join(dir, 'pipeline.json');
      writeFileSync(file, JSON.stringify(WITH_LEDGER_QUEUE));
      const config = readPipelineConfig(new App({ context: { [CONFIG_FILE_CONTEXT_KEY]: file } }));
      expect(Object.keys(config.plugins ?? {})).toEqual(['ledger-queue']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the configuration file: a plug-in\'s options, checked by its parseOptions', () => {
  const withOptions = (options: unknown) => parsePipelineConfig({ plugins: { 'ledger-queue': { options } } }, 'test');
  /** The error `configuredPlugins` (what the stack calls) throws for the config. */
  const refusal = (options: unknown): PipelineConfigError => {
    try {
      configuredPlugins(withOptions(options), REGISTRY);
    } catch (error) {
      expect(error).toBeInstanceOf(PipelineConfigError);
      return error as PipelineConfigError;
    }
    throw new Error(`accepted ${JSON.stringify(options)}`);
  };
  const queueArn = 'arn:aws:sqs:eu-west-1:210987654321:ledger.fifo';

  it('hands the stack ledger-queue\'s options as its parseOptions returns them: typed, checked, frozen', () => {
    const [entry] = configuredPlugins(withOptions({ queueArn, queueKeyArn: 'arn:aws:kms:eu-west-1:210987654321:key/1234abcd-12ab', maxReceiveCount: 3 }), REGISTRY);
    expect(entry?.options).toEqual({ queueArn, queueKeyArn: 'arn:aws:kms:eu-west-1:210987654321:key/1234abcd-12ab', maxReceiveCount: 3 });
    expect(Object.isFrozen(entry?.options)).toBe(true);
    expect(configuredPlugins(withOptions(undefined), REGISTRY)[0]?.options).toEqual({});
  });

  it.each([
    [{ maxRecieveCount: 3 }, 'plugins.ledger-queue.options.maxRecieveCount', 'unknown setting; did you mean maxReceiveCount?'],
    [{ colour: 'blue' }, 'plugins.ledger-queue.options.colour', 'unknown setting; expected one of queueArn, queueKeyArn, maxReceiveCount, maxMessageBytes'],
    [{ maxReceiveCount: 0 }, 'plugins.ledger-queue.options.maxReceiveCount', 'must be an integer between 1 and 1000, got 0'],
    [{ maxReceiveCount: '3' }, 'plugins.ledger-queue.options.maxReceiveCount', 'must be an integer between 1 and 1000, got "3"'],
    [
      { queueArn: 'arn:aws:sqs:eu-west-1:210987654321:ledger' },
      'plugins.ledger-queue.options.queueArn',
      'must be an SQS FIFO queue ARN, arn:<partition>:sqs:<region>:<account>:<name>.fifo, got "arn:aws:sqs:eu-west-1:210987654321:ledger"',
    ],
    [{ queueKeyArn: 'alias/ledger' }, 'plugins.ledger-queue.options.queueKeyArn', 'must be a KMS key ARN, arn:<partition>:kms:<region>:<account>:key/<id>, got "alias/ledger"'],
  ])('refuses %j, naming the option', (options, path, message) => {
    const error = refusal(options);
    expect(error.path).toBe(path);
    expect(error.message).toBe(`${path}: ${message}`);
  });

  it('fails synth on a misspelt option instead of ignoring it', () => {
    expect(() => synth({ plugins: { 'ledger-queue': { options: { maxRecieveCount: 3 } } } }, { pluginRegistry: REGISTRY })).toThrow(
      /^plugins\.ledger-queue\.options\.maxRecieveCount: unknown setting; did you mean maxReceiveCount\?/,
    );
  });

  it('hands a plug-in without parseOptions its options as written', () => {
    const loose: InfraPlugin<Record<string, unknown>, 'loose'> = {
      name: 'loose',
      mode: 'latest-state',
      handler: 'destinations/ledger-queue/handler.ts',
      createTarget: () => ({ owned: false, environment: {}, grantDeliver: () => undefined }),
    };
    const [entry] = configuredPlugins(parsePipelineConfig({ plugins: { loose: { options: { anything: [1] } } } }, 'test'), { loose });
    expect(entry?.options).toEqual({ anything: [1] });
  });

  it('parsePluginOptions: the configuration\'s specs for a plug-in of your own', () => {
    type WebhookOptions = { url: string; timeoutSeconds?: number; mode?: 'json' | 'form'; signed?: boolean };
    const fields = { url: option.text('an https:// URL', /^https:\/\//), timeoutSeconds: option.int(1, 30), mode: option.oneOf('json', 'form'), signed: option.bool };
    expect(parsePluginOptions<WebhookOptions>({ url: 'https://x.example', mode: 'form' }, 'plugins.webhook.options', fields, ['url'])).toEqual({ url: 'https://x.example', mode: 'form' });
    expect(() => parsePluginOptions<WebhookOptions>({ mode: 'form' }, 'plugins.webhook.options', fields, ['url'])).toThrow(/^plugins\.webhook\.options\.url: is required, got nothing$/);
    expect(() => parsePluginOptions<WebhookOptions>({ url: 'https://x.example', signed: 'yes' }, 'plugins.webhook.options', fields)).toThrow(
      /^plugins\.webhook\.options\.signed: must be true or false, got "yes"$/,
    );
    expect(() => parsePluginOptions<WebhookOptions>([], 'plugins.webhook.options', fields)).toThrow(/^plugins\.webhook\.options: must be an object, got an array$/);
  });
});

describe('the bundled stack with a plug-in from its configuration', () => {
  const { stack, template } = synth(WITH_LEDGER_QUEUE, { pluginRegistry: REGISTRY });
  const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
  /** The logical id an output's `Ref` or `Fn::GetAtt` names. */
  const ref = (value: unknown): string | undefined => {
    const { Ref, 'Fn::GetAtt': getAtt } = value as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
    return Ref ?? getAtt?.[0];
  };

  it('builds it like a built-in, with its settings and options', () => {
    expect(stack.pipeline.consumer('ledger-queue').mode).toBe('in-order');
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { BatchSize: 50 });
    template.hasResourceProperties('AWS::SQS::Queue', { FifoQueue: true, RedrivePolicy: { maxReceiveCount: 3 } });
  });

  it('emits the outputs a built-in gets, each naming the plug-in\'s own resources', () => {
    const consumer = stack.pipeline.consumer('ledger-queue');
    const sweeper = stack.sweepers['ledger-queue'];
    const id = (construct: unknown) => stack.getLogicalId((construct as { node: { defaultChild: never } }).node.defaultChild);
    expect(ref(outputs.LedgerQueueFunctionName?.Value)).toBe(id(consumer.function));
    expect(ref(outputs.LedgerQueueStreamConsumerArn?.Value)).toBe(id(consumer.streamConsumer));
    expect(ref(outputs.LedgerQueueDeadLetterQueueUrl?.Value)).toBe(id(consumer.deadLetterQueue));
    expect(ref(outputs.LedgerQueueFailedBatchesBucket?.Value)).toBe(id(consumer.failedBatches));
    expect(ref(outputs.LedgerQueueSweeperFunctionName?.Value)).toBe(id(sweeper?.function));
    expect(outputs.LedgerQueueEventSourceMappingId?.Value).toBeDefined();
    expect(outputs.LedgerQueueEpoch?.Value).toBe('e2');
    expect(outputs.LedgerQueueStartingPosition?.Value).toBe('TRIM_HORIZON');
  });

  it('lists every destination, the plug-in included, in the Destinations output', () => {
    expect(JSON.parse(outputs.Destinations?.Value as string)).toEqual([
      { name: 'audit', mode: 'every-version' },
      { name: 'search', mode: 'latest-state' },
      { name: 'fraud', mode: 'in-order' },
      { name: 'ledger-queue', mode: 'in-order' },
    ]);
  });

  it('refuses a plug-in its registry does not have', () => {
    expect(() => synth({ plugins: { 'ledger-qeue': {} } }, { pluginRegistry: REGISTRY })).toThrow(
      /^plugins\.ledger-qeue: must name a plug-in of this app \(it has: ledger-queue\), got "ledger-qeue"/,
    );
    expect(() => synth(WITH_LEDGER_QUEUE)).toThrow(/plugins\.ledger-queue: must name a plug-in of this app \(it has: none\)/);
  });

  it('leaves nothing unacknowledged under cdk-nag', () => {
    const app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
    new OrderedFanoutStack(app, 'OrderedFanout', {
      config: parsePipelineConfig(WITH_LEDGER_QUEUE, 'test'),
      pluginRegistry: REGISTRY,
      env: { account: '123456789012', region: 'eu-west-1' },
    });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).not.toThrow();
  });
});
