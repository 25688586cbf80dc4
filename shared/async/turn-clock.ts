/**
 * A clock that reads `clock` once per synchronous stretch of work and answers that reading until the next microtask.
 * The engine plans an account's versions, its claims, its gap clock and its write in one synchronous stretch, and
 * asked the time several times per record; on virtual machines without a usable TSC each reading is a clock_gettime
 * of ~70 ns. Nothing happens between two readings of one stretch (no I/O, no timer), so they are the same instant to
 * within that stretch's length, well inside the margins deadlines keep (`reserveMs`). After any await the next
 * reading is fresh.
 */
export function turnClock(clock: () => number): () => number {
  let reading: number | undefined;
  const expire = (): void => {
    reading = undefined;
  };
  return () => {
    if (reading === undefined) {
      reading = clock();
      queueMicrotask(expire);
    }
    return reading;
  };
}
