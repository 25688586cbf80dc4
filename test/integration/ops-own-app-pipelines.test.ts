import { existsSync, mkdtempSync } from 'node:fs';
import { replayReadStart } from '../../infra/config/consumer-environment';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PipelineSelectionError, selectPipelineOutputs } from '../../infra/config/operator-outputs';
import { OutputPrefixError } from '../../infra/constructs/operator-outputs';
import { OrderedFanout } from '../../infra/ordered-fanout';
import { replay } from '../../ops/commands/replay';
import { recordingIO } from '../../ops/io';
import { awsTarget, resolveTarget, stackDestinations, type PipelineTarget } from '../../ops/target';
import { EMPTY_TABLES } from '../support/replay-target';
import { cdkJsonContext } from '../infra/cdk-context';
import { synth } from '../infra/synth';
import { startAwsStandIn, type AwsStandIn } from '../support/aws-stand-in';

/**
 * A CDK app of its own with two pipelines in one stack, each publishing the outputs `fanout` reads
 * (`addOperatorOutputs`): what the construct writes is what the CLI reads, `--pipeline` picks one, and a replay of
 * such a pipeline says what to change in the app instead of writing the bundled app's configuration file.
 */

const STACK = 'Shared';

function ownAppStack(): Stack {
  const app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, STACK, { env: { account: '123456789012', region: 'eu-west-1' } });
  const table = (id: string) => new dynamodb.Table(stack, id, { partitionKey: { name: 'account_id', type: dynamodb.AttributeType.STRING } });
  const accounts = new OrderedFanout(stack, 'Accounts', { pipelineName: 'accounts', table: table('AccountsTable'), destinations: { fraud: {}, search: {} } });
  const cards = new OrderedFanout(stack, 'Cards', { pipelineName: 'cards', table: table('CardsTable'), destinations: { audit: { epoch: 'replay-7' } } });
  accounts.addOperatorOutputs();
  cards.addOperatorOutputs('Cards');
  return stack;
}

/** The template's outputs as DescribeStacks would give them; a token's value stands in as its intrinsic, as JSON. */
function outputsOf(template: Template): Map<string, string> {
  const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
  return new Map(Object.entries(outputs).map(([key, { Value }]) => [key, typeof Value === 'string' ? Value : JSON.stringify(Value)]));
}

describe('addOperatorOutputs: two pipelines in one stack of your own app', () => {
  const outputs = outputsOf(Template.fromStack(ownAppStack()));

  it("publishes each pipeline's outputs under its prefix, and fanout reads back each one's own resources", () => {
    expect(outputs.get('OrderedFanoutPipeline')).toBe('accounts');
    expect(outputs.get('CardsOrderedFanoutPipeline')).toBe('cards');
    expect(() => selectPipelineOutputs(outputs, STACK)).toThrow(PipelineSelectionError);
    expect(() => selectPipelineOutputs(outputs, STACK)).toThrow('stack Shared holds 2 pipelines (accounts, cards): name one with --pipeline');
    expect(() => selectPipelineOutputs(outputs, STACK, 'loans')).toThrow('stack Shared has no pipeline "loans": it has accounts, cards');

    const accounts = selectPipelineOutputs(outputs, STACK, 'accounts');
    const cards = selectPipelineOutputs(outputs, STACK, 'cards');
    const accountsDestinations = stackDestinations(accounts.outputs, STACK);
    const cardsDestinations = stackDestinations(cards.outputs, STACK);
    expect(Object.keys(accountsDestinations)).toEqual(['search', 'fraud']);
    expect(Object.keys(cardsDestinations)).toEqual(['audit']);
    expect(cardsDestinations.audit?.epoch).toBe('replay-7');
    expect(accountsDestinations.fraud?.sweeperFunctionName).toBeDefined();
    expect(accountsDestinations.search?.sweeperFunctionName).toBeUndefined();
    // Each pipeline's outputs name its own resources: its own table, ledger and functions.
    expect(accounts.outputs.get('AccountsTableName')).toContain('AccountsTable');
    expect(cards.outputs.get('AccountsTableName')).toContain('CardsTable');
    expect(accounts.outputs.get('LedgerTableName')).not.toBe(cards.outputs.get('LedgerTableName'));
    expect(cardsDestinations.audit?.functionName).toContain('CardsAuditConsumer');
    expect(accountsDestinations.fraud?.functionName).toContain('AccountsFraudConsumer');
  });

  it('refuses a prefix that cannot start a logical id, and the same prefix twice', () => {
    const app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Bad');
    const one = new OrderedFanout(stack, 'One', { pipelineName: 'one', destinations: { search: {} } });
    const two = new OrderedFanout(stack, 'Two', { pipelineName: 'two', destinations: { search: {} } });
    expect(() => one.addOperatorOutputs('1st')).toThrow(OutputPrefixError);
    expect(() => one.addOperatorOutputs('my-pipe')).toThrow('the output prefix must be empty or a letter followed by letters and digits');
    one.addOperatorOutputs();
    expect(() => two.addOperatorOutputs()).toThrow(/There is already a Construct with name 'OrderedFanoutPipeline'/);
  });

  it("keeps the bundled stack's output keys, and says its settings live in the configuration file", () => {
    const bundled = outputsOf(synth().template);
    for (const key of ['AuditFunctionName', 'FraudSweeperFunctionName', 'SearchEpoch', 'LedgerTableName', 'Destinations', 'AlarmTopicArn', 'AuditBucketName']) {
      expect(bundled.has(key), key).toBe(true);
    }
    expect(bundled.get('OrderedFanoutPipeline')).toBe('OrderedFanout');
    expect(bundled.get('OrderedFanoutConfigFile')).toBe('ordered-fanout:config-file');
    expect(Object.keys(stackDestinations(selectPipelineOutputs(bundled, 'OrderedFanout').outputs, 'OrderedFanout'))).toEqual(['audit', 'search', 'fraud']);
  });
});

describe('fanout against a stack of your own app: CloudFormation answered by a stand-in', () => {
  let standIn: AwsStandIn;
  const saved = { ...process.env };
  const outputs = outputsOf(Template.fromStack(ownAppStack()));

  beforeAll(async () => {
    standIn = await startAwsStandIn(STACK, outputs);
    process.env.AWS_ENDPOINT_URL_CLOUDFORMATION = standIn.endpoint;
    process.env.AWS_ACCESS_KEY_ID = 'test';
    process.env.AWS_SECRET_ACCESS_KEY = 'test';
  });

  afterAll(async () => {
    process.env = saved;
    await standIn.close();
  });

  it('needs --pipeline for a stack of two pipelines, and resolves the one named', async () => {
    await expect(awsTarget(STACK, 'eu-west-1')).rejects.toThrow('name one with --pipeline');
    await expect(resolveTarget({ local: true, pipeline: 'cards' })).rejects.toThrow('--pipeline names a pipeline of a deployed stack');
    const target = await awsTarget(STACK, 'eu-west-1', 'cards');
    try {
      expect(target.description).toBe('stack Shared (pipeline cards) in eu-west-1');
      expect(target.pipelineName).toBe('cards');
      expect(target.settingsInConfigFile).toBe(false);
      expect(Object.keys(target.destinations)).toEqual(['audit']);
      expect(target.accountsTable).toContain('CardsTable');
    } finally {
      await target.close();
    }
  });

  it('plans a replay of a built-in of your own app and says what to change there; --apply writes and deploys nothing', async () => {
    const resolved = await awsTarget(STACK, 'eu-west-1', 'accounts');
    // The stream's retention, which the plan reads, as a 365-day stream answers.
    const kinesis = { send: async () => ({ StreamDescriptionSummary: { RetentionPeriodHours: 8760 } }) } as unknown as PipelineTarget['kinesis'];
    const target: PipelineTarget = { ...resolved, kinesis, dynamodb: EMPTY_TABLES };
    try {
      const file = join(mkdtempSync(join(tmpdir(), 'ops-own-app-')), 'pipeline.json');
      const from = new Date(Date.now() - 3_600_000).toISOString();
      const deploys: string[][] = [];
      const deploy = async (args: string[]) => (deploys.push(args), 0);
      const plan = recordingIO();
      expect(await replay(target, { destination: 'fraud', from, epoch: 'fraud-2', configFile: file, deploy }, plan), plan.errors.join('\n')).toBe(0);
      const text = plan.lines.join('\n');
      expect(text).toMatch(/WARNING\s+this pipeline is deployed by a CDK app of your own, so --apply cannot write its settings/);
      expect(text).toContain(`Set {"epoch":"fraud-2","startingPosition":"AT_TIMESTAMP","startingPositionTimestamp":"${replayReadStart(from)}","replayFrom":"${from}"`);
      expect(text).toContain("destinations.fraud of your OrderedFanout's props");
      expect(text).toContain('npx cdk deploy Shared');

      const io = recordingIO();
      expect(await replay(target, { destination: 'fraud', from, epoch: 'fraud-2', configFile: file, apply: true, deploy }, io)).toBe(2);
      expect(io.errors.join('\n')).toContain('--apply refused for fraud: stack Shared (pipeline accounts) in eu-west-1 is deployed by a CDK app of your own');
      expect(existsSync(file)).toBe(false);
      expect(deploys).toEqual([]);
    } finally {
      await resolved.close();
    }
  });
});
