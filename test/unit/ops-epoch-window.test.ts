import { describe, expect, it } from 'vitest';
import { epochWindowOf, predatesWindow, unchangedSinceWindow } from '../../ops/commands/epoch-window';
import type { PipelineTarget } from '../../ops/target';
import { emptyWatermark } from '../../shared/ordering/watermark';

const from = '2026-03-01T00:00:00.000Z';
const window = { from, fromMs: Date.parse(from) };

function targetOf(epoch: string, environment: Record<string, string>): PipelineTarget {
  const destinations = { search: { name: 'search', functionName: 'f', epoch, startingPosition: 'AT_TIMESTAMP 2026-02-28T23:55:00.000Z', streamConsumerArn: 'a', deadLetterQueueUrl: 'q' } };
  return { description: 't', destinations, environment: async () => environment } as unknown as PipelineTarget;
}

describe("a replay epoch's window, as ops reads it", () => {
  it('is the function environment\'s EPOCH_REPLAY_FROM, not the mapping\'s earlier starting position; none in the live epoch', async () => {
    expect(await epochWindowOf(targetOf('replay-1', { EPOCH_REPLAY_FROM: from }), 'search')).toEqual(window);
    expect(await epochWindowOf(targetOf('live', { EPOCH_REPLAY_FROM: from }), 'search')).toEqual({});
    // A replay epoch without a window owes every version, as the live epoch does.
    expect(await epochWindowOf(targetOf('replay-1', {}), 'search')).toEqual({});
    await expect(epochWindowOf(targetOf('replay-1', { EPOCH_REPLAY_FROM: 'soon' }), 'search')).rejects.toThrow(/not a time/);
  });

  it('an account predates it only when its updated_at says so, strictly before the start', () => {
    expect(predatesWindow(window, '2026-02-28T23:59:59.999Z')).toBe(true);
    expect(predatesWindow(window, from)).toBe(false);
    expect(predatesWindow(window, undefined)).toBe(false);
    expect(predatesWindow(window, 'yesterday')).toBe(false);
    expect(predatesWindow({}, '2020-01-01T00:00:00Z')).toBe(false);
  });

  it('counts an account as unchanged since the start only while it has no watermark in the epoch', () => {
    expect(unchangedSinceWindow(window, undefined, '2026-02-01T00:00:00Z')).toBe(true);
    expect(unchangedSinceWindow(window, emptyWatermark('a'), '2026-02-01T00:00:00Z')).toBe(false);
  });
});
