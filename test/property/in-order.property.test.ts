import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { InOrderCommit } from '../../shared/ordering/delivery-mode';
import { drive } from './drive';
import { violations } from './invariants';
import { crashRates, fullShapes, RUNS } from './shapes';
import { buildStream } from './stream-model';
import { seededYields } from './yields';

describe('in-order on a duplicated, permuted, batched, sharded stream with crashes between delivery and commit', () => {
  test.each<InOrderCommit>(['per-version', 'per-batch'])(
    'delivers 1..n per account in order; repeats only as the commit mode allows, only after crashes (%s)',
    async (inOrderCommit) => {
      await fc.assert(
        fc.asyncProperty(fullShapes, crashRates, async (shape, crashRate) => {
          const stream = buildStream(shape);
          const result = await drive(stream, {
            mode: 'in-order',
            inOrderCommit,
            crashRate,
            seed: shape.seed,
            interleave: seededYields(shape.seed),
          });
          expect(violations(stream, result, inOrderCommit)).toEqual([]);
        }),
        { numRuns: RUNS },
      );
    },
    900_000,
  );

  // A parallelizationFactor above 1: sub-lanes of a shard side by side, lanes by partition key, some keys unstable.
  test.each<InOrderCommit>(['per-version', 'per-batch'])(
    'delivers 1..n per account in order with lanes per partition key, whatever key an account\'s records come with (%s)',
    async (inOrderCommit) => {
      await fc.assert(
        fc.asyncProperty(fullShapes, crashRates, async (shape, crashRate) => {
          const stream = buildStream(shape);
          const result = await drive(stream, { mode: 'in-order', inOrderCommit, crashRate, seed: shape.seed, interleave: seededYields(shape.seed), lanes: 'partition-key' });
          expect(violations(stream, result, inOrderCommit)).toEqual([]);
        }),
        { numRuns: RUNS },
      );
    },
    900_000,
  );
});
