import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { drive } from './drive';
import { violations } from './invariants';
import { crashRates, MODE_VARIANTS, RUNS, smallShapes } from './shapes';
import { buildStream } from './stream-model';


/** fast-check's scheduler decides which ledger operation of which engine goes next: reproducible, shrinkable races. */
describe('small streams under scheduler-chosen interleavings of racing engines', () => {
  test.each(MODE_VARIANTS)('%s %s', async (mode, inOrderCommit) => {
    await fc.assert(
      fc.asyncProperty(smallShapes, crashRates, fc.scheduler(), async (shape, crashRate, scheduler) => {
        const stream = buildStream(shape);
        const result = await scheduler.waitFor(
          drive(stream, {
            mode,
            crashRate,
            seed: shape.seed,
            ...(inOrderCommit ? { inOrderCommit } : {}),
            interleave: () => scheduler.schedule(Promise.resolve()),
          }),
        );
        expect(violations(stream, result, inOrderCommit)).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  }, 900_000);
});
