import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DESTINATION_NAMES } from '../../infra/config/pipeline-config';
import { replay } from '../../ops/commands/replay';
import { recordingIO } from '../../ops/io';
import type { PipelineTarget } from '../../ops/target';
import { replayTarget } from '../support/replay-target';

const STREAM = 'arn:aws:kinesis:eu-west-1:123456789012:stream/accounts-changes';

/** A deployed stack whose pipeline is named `pipeline`, as `fanout` reads it from the stack's outputs. */
function deployed(stack: string, pipeline: string): PipelineTarget {
  return replayTarget(
    stack,
    STREAM,
    Object.fromEntries(
      DESTINATION_NAMES.map((name) => [
        name,
        {
          name,
          functionName: `${stack}-${name}`,
          epoch: 'live',
          startingPosition: 'TRIM_HORIZON',
          streamConsumerArn: `${STREAM}/consumer/${pipeline}-${name}-live-0a1b2c3d:1790000000`,
          deadLetterQueueUrl: `https://sqs.eu-west-1.amazonaws.com/123456789012/${name}-dlq`,
        },
      ]),
    ) as PipelineTarget['destinations'],
  );
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
});
