import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { replayReadStart } from '../../infra/config/consumer-environment';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replay } from '../../ops/commands/replay';
import { parseStackDestinations, StackOutputError, titleOf, UnknownDestinationError } from '../../ops/destinations';
import { recordingIO } from '../../ops/io';
import { awsTarget, stackDestinations, type PipelineTarget } from '../../ops/target';
import { replayTarget } from '../support/replay-target';
import { startAwsStandIn, type AwsStandIn } from '../support/aws-stand-in';

const STREAM = 'arn:aws:kinesis:eu-west-1:123456789012:stream/accounts-changes';
const PLUGINS = [{ name: 'ledger-queue', mode: 'in-order' }];

/** The outputs of a stack with the built-ins and `plugins`, `Destinations` listing them all (unless `list` is false). */
function outputsOf(plugins: readonly { name: string; mode: string }[], list = true): Map<string, string> {
  const destinations = [{ name: 'audit', mode: 'every-version' }, { name: 'search', mode: 'latest-state' }, { name: 'fraud', mode: 'in-order' }, ...plugins];
  const outputs = new Map([['AccountsTableName', 'Accounts'], ['LedgerTableName', 'OrderingLedger'], ['ChangeStreamArn', STREAM]]);
  if (list) outputs.set('Destinations', JSON.stringify(destinations));
  for (const { name, mode } of destinations) {
    const title = titleOf(name);
    outputs.set(`${title}FunctionName`, `OrderedFanout-${title}Consumer-fn`);
    outputs.set(`${title}Epoch`, 'live');
    outputs.set(`${title}StartingPosition`, 'TRIM_HORIZON');
    outputs.set(`${title}StreamConsumerArn`, `${STREAM}/consumer/OrderedFanout-${name}-live-0a1b2c3d:1790000000`);
    outputs.set(`${title}DeadLetterQueueUrl`, `https://sqs.eu-west-1.amazonaws.com/123456789012/${name}-dlq`);
    if (mode !== 'latest-state') outputs.set(`${title}SweeperFunctionName`, `OrderedFanout-${title}Sweeper-fn`);
  }
  return outputs;
}

describe('a deployed stack with a plug-in, from its outputs', () => {
  it('reads every destination listed in Destinations, plug-ins by their PascalCase outputs', () => {
    const destinations = stackDestinations(outputsOf(PLUGINS), 'OrderedFanout');
    expect(Object.keys(destinations)).toEqual(['audit', 'search', 'fraud', 'ledger-queue']);
    expect(destinations['ledger-queue']).toEqual({
      name: 'ledger-queue',
      mode: 'in-order',
      functionName: 'OrderedFanout-LedgerQueueConsumer-fn',
      epoch: 'live',
      startingPosition: 'TRIM_HORIZON',
      streamConsumerArn: `${STREAM}/consumer/OrderedFanout-ledger-queue-live-0a1b2c3d:1790000000`,
      deadLetterQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/ledger-queue-dlq',
      sweeperFunctionName: 'OrderedFanout-LedgerQueueSweeper-fn',
    });
    expect(destinations.search).not.toHaveProperty('sweeperFunctionName');
  });

  it('falls back to the three built-ins when the stack has no Destinations output', () => {
    const destinations = stackDestinations(outputsOf(PLUGINS, false), 'OrderedFanout');
    expect(Object.keys(destinations)).toEqual(['audit', 'search', 'fraud']);
    expect(destinations.fraud?.mode).toBe('in-order');
  });

  it.each([
    ['not JSON', '[{', /is not JSON/],
    ['not a list', '{"name":"audit"}', /is not a list/],
    ['a bad name', '[{"name":"Ledger Queue","mode":"in-order"}]', /\[0\] has no valid name/],
    ['an unknown mode', '[{"name":"ledger-queue","mode":"fifo"}]', /mode "fifo", not one of every-version, latest-state, in-order/],
    ["a built-in's wrong mode", '[{"name":"search","mode":"in-order"}]', /search is in-order, but the built-in is latest-state/],
    ['a name twice', '[{"name":"ledger-queue","mode":"in-order"},{"name":"ledger-queue","mode":"in-order"}]', /names ledger-queue twice/],
  ])('refuses a Destinations output that is %s, naming it', (_what, value, message) => {
    expect(() => parseStackDestinations(value, 'OrderedFanout')).toThrow(StackOutputError);
    expect(() => parseStackDestinations(value, 'OrderedFanout')).toThrow(message);
  });

  it("names the plug-in's missing output; takes a stack with any set of destinations, refuses one with none", () => {
    const outputs = outputsOf(PLUGINS);
    outputs.delete('LedgerQueueDeadLetterQueueUrl');
    expect(() => stackDestinations(outputs, 'OrderedFanout')).toThrow(/stack OrderedFanout has no output LedgerQueueDeadLetterQueueUrl/);
    const partial = outputsOf([]);
    partial.set('Destinations', JSON.stringify([{ name: 'audit', mode: 'every-version' }]));
    expect(Object.keys(stackDestinations(partial, 'OrderedFanout'))).toEqual(['audit']);
    partial.set('Destinations', '[]');
    expect(() => stackDestinations(partial, 'OrderedFanout')).toThrow(/stack OrderedFanout has no destinations/);
  });
});

describe('awsTarget with a plug-in: CloudFormation and Lambda answered by a stand-in', () => {
  let standIn: AwsStandIn;
  const saved = { ...process.env };

  beforeAll(async () => {
    standIn = await startAwsStandIn('OrderedFanout', outputsOf(PLUGINS), (request, response) => {
      const configuration = /^\/2015-03-31\/functions\/([^/]+)\/configuration/.exec(request.url ?? '');
      if (configuration) {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ FunctionName: configuration[1], Environment: { Variables: { LEDGER_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/ledger.fifo' } } }));
        return true;
      }
      if (/^\/2015-03-31\/functions\/[^/]+\/invocations/.test(request.url ?? '')) {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ orderedFanout: { command: 'resume', destination: 'ledger-queue', counts: { delivered: 0 }, accounts: [] } }));
        return true;
      }
      return false;
    });
    process.env.AWS_ENDPOINT_URL_CLOUDFORMATION = standIn.endpoint;
    process.env.AWS_ENDPOINT_URL_LAMBDA = standIn.endpoint;
  });

  afterAll(async () => {
    process.env = saved;
    await standIn.close();
  });

  it("resolves the plug-in, reads its function's environment and runs operator commands in its own function", async () => {
    const target = await awsTarget('OrderedFanout', 'eu-west-1');
    try {
      expect(Object.keys(target.destinations)).toEqual(['audit', 'search', 'fraud', 'ledger-queue']);
      expect(await target.environment('ledger-queue')).toEqual({ LEDGER_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/ledger.fifo' });
      const result = await target.command('ledger-queue', { command: 'resume', accountIds: ['A'] });
      expect(result.orderedFanout.destination).toBe('ledger-queue');
      expect(standIn.calls).toContain('GET /2015-03-31/functions/OrderedFanout-LedgerQueueConsumer-fn/configuration');
      expect(standIn.calls).toContain('POST /2015-03-31/functions/OrderedFanout-LedgerQueueConsumer-fn/invocations');
      await expect(target.environment('nowhere')).rejects.toThrow(UnknownDestinationError);
      await expect(target.environment('nowhere')).rejects.toThrow('no destination "nowhere" in stack OrderedFanout in eu-west-1: it has audit, search, fraud, ledger-queue');
    } finally {
      await target.close();
    }
  });
});

describe('fanout replay of a plug-in on AWS', () => {
  const target = (): PipelineTarget => replayTarget('OrderedFanout', STREAM, stackDestinations(outputsOf(PLUGINS), 'OrderedFanout'));

  it('plans it by its mode and says what to write in the CDK app; --apply writes and deploys nothing', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ops-plugin-aws-')), 'pipeline.json');
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const deploys: string[][] = [];
    const deploy = async (args: string[]) => (deploys.push(args), 0);
    const plan = recordingIO();
    expect(await replay(target(), { destination: 'ledger-queue', from, epoch: 'lq-2', configFile: file, deploy }, plan)).toBe(0);
    const text = plan.lines.join('\n');
    expect(text).toContain('ledger-queue: every version is sent again, in order per account');
    expect(text).toMatch(/WARNING\s+ledger-queue is a plug-in that \S+pipeline.json does not configure \(plugins.ledger-queue\)/);
    expect(text).toContain(`Set {"epoch":"lq-2","startingPosition":"AT_TIMESTAMP","startingPositionTimestamp":"${replayReadStart(from)}","replayFrom":"${from}"`);
    expect(text).toContain('pluginDestination(<ledger-queue infra>, <options>, settings) in your CDK app');
    expect(text).toMatch(/others\s+audit, search, fraud: nothing changes/);

    const io = recordingIO();
    expect(await replay(target(), { destination: 'ledger-queue', from, epoch: 'lq-2', configFile: file, apply: true, deploy }, io)).toBe(2);
    expect(io.errors.join('\n')).toContain('--apply refused for ledger-queue: ');
    expect(existsSync(file)).toBe(false);
    expect(deploys).toEqual([]);
  });

  it('writes the replay into plugins.<name>.settings of a configuration file that configures the plug-in, keeping its options, and deploys', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ops-plugin-aws-')), 'pipeline.json');
    writeFileSync(file, JSON.stringify({ plugins: { 'ledger-queue': { options: { maxReceiveCount: 3 }, settings: { batchSize: 50 } } } }));
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const deploys: string[][] = [];
    const deploy = async (args: string[]) => (deploys.push(args), 0);
    const io = recordingIO(true);
    expect(await replay(target(), { destination: 'ledger-queue', from, epoch: 'lq-3', configFile: file, apply: true, deploy }, io), io.errors.join('\n')).toBe(0);
    const written = JSON.parse(readFileSync(file, 'utf8'));
    expect(written.plugins['ledger-queue']).toEqual({
      options: { maxReceiveCount: 3 },
      settings: { batchSize: 50, epoch: 'lq-3', startingPosition: 'AT_TIMESTAMP', startingPositionTimestamp: replayReadStart(from), replayFrom: from, replayBefore: expect.any(String) },
    });
    expect(written).not.toHaveProperty('destinations');
    expect(deploys).toEqual([['deploy', 'OrderedFanout', '-c', `ordered-fanout:config-file=${file}`, '--require-approval', 'never']]);
    expect(JSON.parse(io.lines.at(-1) as string)).toMatchObject({ applied: true, plan: { destination: 'ledger-queue', warnings: [] } });
  });
});
