import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { DeliveryMode } from '../../shared/ordering/delivery-mode';
import type { InMemoryLedger } from '../../shared/ledger/in-memory-ledger';
import { drive, inMemoryBackend } from './drive';
import { violations } from './invariants';
import { crashRates, fullShapes, RUNS } from './shapes';
import { buildStream } from './stream-model';
import { seededYields } from './yields';

describe('every-version and latest-state on a duplicated, permuted, batched, sharded stream with crashes', () => {
  test.each<DeliveryMode>(['every-version', 'latest-state'])(
    '%s: nothing lost, nothing left parked, and the mode holds',
    async (mode) => {
      await fc.assert(
        fc.asyncProperty(fullShapes, crashRates, async (shape, crashRate) => {
          const stream = buildStream(shape);
          const result = await drive(stream, { mode, crashRate, seed: shape.seed, interleave: seededYields(shape.seed) });
          expect(violations(stream, result)).toEqual([]);
        }),
        { numRuns: RUNS },
      );
    },
    900_000,
  );

  test('latest-state, destination-enforced: the same promises with no ledger request at all', async () => {
    await fc.assert(
      fc.asyncProperty(fullShapes, crashRates, async (shape, crashRate) => {
        const stream = buildStream(shape);
        const backend = inMemoryBackend();
        const ledger = backend.ledger() as InMemoryLedger;
        const result = await drive(stream, { mode: 'latest-state', crashRate, seed: shape.seed, destinationEnforced: true, backend, interleave: seededYields(shape.seed) });
        expect(violations(stream, result)).toEqual([]);
        expect(ledger.store.requests).toEqual({ reads: 0, writes: 0 });
      }),
      { numRuns: Math.ceil(RUNS / 4) },
    );
  }, 900_000);

  test('latest-state with one engine and no crash never sends the destination a stale version', async () => {
    await fc.assert(
      fc.asyncProperty(fullShapes, async (shape) => {
        const stream = buildStream({ ...shape, shards: 1 });
        const result = await drive(stream, { mode: 'latest-state', crashRate: 0, seed: shape.seed });
        expect(result.destination.refusedStale).toBe(0);
        expect(violations(stream, result)).toEqual([]);
      }),
      { numRuns: Math.ceil(RUNS / 4) },
    );
  }, 900_000);
});
