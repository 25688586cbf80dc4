import { prng } from '../../local/prng';

/**
 * Yields a seeded number of turns before a ledger operation: a cheap way to vary how engines interleave. Mostly
 * microtask turns (cheap, and enough to reorder concurrent continuations); now and then a full event-loop turn, so
 * that whole destination calls of different engines can overtake each other too.
 */
export function seededYields(seed: number): () => Promise<void> {
  const random = prng(seed ^ 0x27d4eb2f);
  return async () => {
    const roll = random();
    if (roll < 0.1) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      return;
    }
    for (let turns = Math.floor(roll * 4); turns > 0; turns -= 1) await Promise.resolve();
  };
}
