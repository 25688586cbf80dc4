import { describe, expect, it } from 'vitest';
import { measureCrashExposure } from '../../bench/crash-exposure';
import { VARIANTS } from '../../local/engine-variants';
import { ledgerWorkload } from '../../bench/workloads';

// What bench (f) reports for each in-order commit granularity: the README's choice of default rests on it.
describe('crash exposure of in-order (bench f)', () => {
  const hot = ledgerWorkload('hot', { accounts: 10, batches: 30, batchSize: 100, seed: 3 });
  const variant = (key: string) => VARIANTS.find((candidate) => candidate.key === key)!;

  it('per-batch re-delivers at most the account run since its last commit; per-version only the version in flight', async () => {
    const perBatch = await measureCrashExposure(hot, variant('inOrderHomeLanes'), 0.2, 5);
    const perVersion = await measureCrashExposure(hot, variant('inOrderPerVersionHomeLanes'), 0.2, 5);
    for (const exposure of [perBatch, perVersion]) {
      expect(exposure.crashes).toBeGreaterThan(0);
      expect(exposure.complete).toBe(true);
    }
    expect(perBatch.maxRepeatsOfAnAccountPerCrash).toBe(10);
    expect(perVersion.maxRepeatsOfAnAccountPerCrash).toBe(1);
    expect(perVersion.repeatsPerCrash).toBeLessThan(perBatch.repeatsPerCrash);
  });

  it('claims only re-delivers what home lanes do, once the dead claims have run out', async () => {
    const claims = await measureCrashExposure(hot, variant('inOrderPerBatch'), 0.2, 5);
    expect(claims.complete).toBe(true);
    expect(claims.maxRepeatsOfAnAccountPerCrash).toBe(10);
  });

  it('without crashes nothing is delivered twice', async () => {
    const exposure = await measureCrashExposure(hot, variant('inOrderHomeLanes'), 0, 5);
    expect(exposure).toMatchObject({ crashes: 0, repeats: 0, deliveries: 6_000, complete: true });
  });
});
