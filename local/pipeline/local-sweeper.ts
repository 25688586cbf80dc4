import { LocalFunction } from '../functions/local-function';
import type { AnyDestination, LocalEnvironment } from './environment';

/** How often the local pipeline sweeps (the stack: every minute; here sooner, runs are short). */
export const LOCAL_SWEEP_EVERY_MS = 5_000;
/** The sweeper's timeout in the stack. */
const SWEEP_TIMEOUT_MS = 5 * 60_000;
/** The sweeper's memory in the stack (`infra/constructs/gap-sweeper.ts`). */
const SWEEP_MEMORY_MB = 512;

/**
 * Runs one destination's gap sweeper (`entry`: the module Lambda runs, as its infra half names it) every few seconds,
 * one sweep at a time (the stack reserves no concurrency, so there a slow sweep may overlap the next: claims and
 * conditional writes keep that safe), until the returned function stops it.
 */
export function startLocalSweeper(
  destination: AnyDestination,
  env: LocalEnvironment,
  log: (message: string) => void,
  onLogLine: (line: string) => void,
  entry: string,
): () => Promise<void> {
  const fn = new LocalFunction({
    functionName: `ordered-fanout-${destination}-sweeper`,
    entry,
    environment: env.functionEnvironment(destination),
    memoryMb: SWEEP_MEMORY_MB,
    onLogLine,
  });
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let sweeping: Promise<void> = Promise.resolve();
  const sweep = (): void => {
    // A scheduled event carries nothing the sweeper reads: it is invoked with an empty event.
    sweeping = fn
      .invoke({}, { getRemainingTimeInMillis: () => SWEEP_TIMEOUT_MS })
      .then(
        () => undefined,
        (error: unknown) => {
          if (!stopped) log(`${destination} sweeper: ${error instanceof Error ? error.message : String(error)}`);
        },
      )
      .finally(() => {
        if (!stopped) timer = setTimeout(sweep, LOCAL_SWEEP_EVERY_MS);
      });
  };
  timer = setTimeout(sweep, LOCAL_SWEEP_EVERY_MS);
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await fn.stop();
    await sweeping;
  };
}
