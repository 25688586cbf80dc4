import { describe, expect, test } from 'vitest';
import { runPerKeyScheduler } from './per-key-scheduler';

// Lanes per partition key (a parallelizationFactor above 1) against a scheduler that keeps only Lambda's promise: no
// two batches holding one key in flight, each key's records in order (see per-key-scheduler.ts).
describe('in-order lanes per partition key under an adversarial per-key scheduler', () => {
  for (const commit of ['per-batch', 'per-version'] as const) {
    test(`never two engines' calls for one account at once, in order, nothing lost or left (${commit})`, async () => {
      const all: string[] = [];
      for (let seed = 1; seed <= 60; seed += 1) {
        const problems = await runPerKeyScheduler(seed * 7919, commit);
        if (problems.length > 0) all.push(`seed ${seed * 7919}: ${problems.slice(0, 5).join(' | ')}`);
      }
      expect(all).toEqual([]);
    }, 600_000);
  }

  test('the model catches a lane the scheduler does not serialize: the whole shard, under a factor above 1', async () => {
    let caught = 0;
    for (let seed = 1; seed <= 60; seed += 1) if ((await runPerKeyScheduler(seed * 104729, 'per-batch', 'shard')).length > 0) caught += 1;
    expect(caught).toBeGreaterThan(0);
  }, 600_000);
});
