import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { consumerNameStem, streamConsumerName } from '../../infra/config/consumer-environment';
import { DEFAULT_PIPELINE_CONFIG } from '../../infra/config/defaults';
import { DESTINATION_NAMES } from '../../infra/config/pipeline-config';
import { replay } from '../../ops/commands/replay';
import { recordingIO } from '../../ops/io';
import type { PipelineTarget } from '../../ops/target';
import { replayTarget } from '../support/replay-target';

const STREAM = 'arn:aws:kinesis:eu-west-1:123456789012:stream/accounts-changes';

/** The replay epoch fraud runs on in the stacks below that are not live: the longest name an epoch may have. */
const LONG_EPOCH = `replay-${'e'.repeat(56)}`;

/**
 * A deployed stack whose pipeline is named `pipeline`, as `fanout` reads it from the stack's outputs (which name the
 * pipeline only when `named`), its destinations on `epoch` with the consumers the stack made for them.
 */
function deployed(stack: string, pipeline: string, { named = false, epoch = 'live' } = {}): PipelineTarget {
  const settings = epoch === 'live' ? DEFAULT_PIPELINE_CONFIG.destinations.fraud : { ...DEFAULT_PIPELINE_CONFIG.destinations.fraud, epoch, startingPosition: 'TRIM_HORIZON' as const };
  const target = replayTarget(
    stack,
    STREAM,
    Object.fromEntries(
      DESTINATION_NAMES.map((name) => [
        name,
        {
          name,
          functionName: `${stack}-${name}`,
          epoch,
          startingPosition: 'TRIM_HORIZON',
          streamConsumerArn: `${STREAM}/consumer/${streamConsumerName(pipeline, name, settings)}:1790000000`,
          deadLetterQueueUrl: `https://sqs.eu-west-1.amazonaws.com/123456789012/${name}-dlq`,
        },
      ]),
    ) as PipelineTarget['destinations'],
  );
  return named ? { ...target, pipelineName: pipeline } : target;
}

/** What `fanout replay --json` planned. */
async function plan(target: PipelineTarget, options: { destination: string; from: string; configFile: string }) {
  const io = recordingIO(true);
  expect(await replay(target, options, io), io.errors.join('\n')).toBe(0);
  return JSON.parse(io.lines.at(-1)!).plan as { next: { epoch: string; streamConsumerName: string } };
}

describe("fanout replay's plan", () => {
  const configFile = join(mkdtempSync(join(tmpdir(), 'fanout-replay-')), 'pipeline.json');
  const from = new Date(Date.now() - 3_600_000).toISOString();

  it.each([
    ['a pipeline named after its stack (the default)', 'OrderedFanout', 'OrderedFanout'],
    ['a pipeline of its own name in a stack of another', 'Platform', 'prod.accounts'],
  ])('names the new EFO consumer after the pipeline, read off the current consumer: %s', async (_, stack, pipeline) => {
    const io = recordingIO();
    expect(await replay(deployed(stack, pipeline), { destination: 'fraud', from, configFile }, io), io.errors.join('\n')).toBe(0);
    const text = io.lines.join('\n');
    expect(text).toMatch(new RegExp(`new EFO\\s+${pipeline.replace('.', '\\.')}-fraud-replay-\\d{8}T\\d{6}Z-\\d{8}T\\d{6}Z-[0-9a-f]{8}\\n`));
    expect(text).toContain(`npx cdk deploy ${stack} `);
  });

  describe('of a pipeline whose consumer names are over 128 characters, so shortened', () => {
    const longest = `Prod.${'p'.repeat(123)}`;

    it.each([
      ['named by the stack outputs, in a stack of another name', 'Platform', longest, { named: true }],
      ['named by the stack outputs, its current consumer on the longest epoch', 'Platform', longest, { named: true, epoch: LONG_EPOCH }],
      ['named after its stack (an older stack without the output), told by the stack name', longest, longest, {}],
      ['named after its stack, its current consumer on the longest epoch', longest, longest, { epoch: LONG_EPOCH }],
    ])('names the new one after the pipeline, within 128 characters: %s', async (_, stack, pipeline, shape) => {
      const target = deployed(stack, pipeline, shape);
      expect(target.destinations.fraud?.streamConsumerArn).toMatch(/\/consumer\/[a-zA-Z0-9_.-]{128}:/);
      const { next } = await plan(target, { destination: 'fraud', from, configFile });
      expect(next.streamConsumerName).toHaveLength(128);
      expect(next.streamConsumerName).toMatch(/^[a-zA-Z0-9_.-]+$/);
      expect(next.streamConsumerName.startsWith(`${consumerNameStem(pipeline, 'fraud', next.epoch)}-`)).toBe(true);
    });

    it("names a short one as before: the consumer of a long pipeline whose name fits", async () => {
      const pipeline = `Prod.${'p'.repeat(40)}`;
      const { next } = await plan(deployed('Platform', pipeline), { destination: 'fraud', from, configFile });
      expect(next.streamConsumerName).toMatch(new RegExp(`^${pipeline.replace('.', '\\.')}-fraud-${next.epoch}-[0-9a-f]{8}$`));
    });
  });
});
