import fc from 'fast-check';
import type { DeliveryMode, InOrderCommit } from '../../shared/ordering/delivery-mode';
import type { StreamShape } from './stream-model';

/** Runs per property: at least 1,000 in CI; FAST_CHECK_RUNS changes it for a longer hunt or a quick look. */
export const RUNS = Number(process.env.FAST_CHECK_RUNS ?? 1_000);

/** 1-50 accounts with 1-100 versions each, as generated over the full range (not fast-check's small default). */
export const fullShapes: fc.Arbitrary<StreamShape> = fc.record({
  lengths: fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 50, size: 'max' }),
  seed: fc.integer(),
  duplicateRate: fc.constantFrom(0, 0.1, 0.3),
  shards: fc.integer({ min: 1, max: 4 }),
  maxBatchSize: fc.constantFrom(1, 10, 100),
});

/** Small streams, for exploring interleavings step by step. */
export const smallShapes: fc.Arbitrary<StreamShape> = fc.record({
  lengths: fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 6 }),
  seed: fc.integer(),
  duplicateRate: fc.constantFrom(0, 0.3),
  shards: fc.integer({ min: 1, max: 3 }),
  maxBatchSize: fc.constantFrom(1, 3, 10),
});

export const crashRates = fc.constantFrom(0, 0.05, 0.2);

/** Every mode, and in-order in both commit granularities. */
export const MODE_VARIANTS: readonly (readonly [DeliveryMode, InOrderCommit | undefined])[] = [
  ['every-version', undefined],
  ['latest-state', undefined],
  ['in-order', 'per-version'],
  ['in-order', 'per-batch'],
];
