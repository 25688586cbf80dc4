import { DEFAULT_HOME_BOUND_MS } from '../../shared/ordering/engine';
import { LOCAL_SWEEP_EVERY_MS } from './local-sweeper';
import type { LocalEventSourceMapping } from '../esm';
import type { AnyDestination, LocalEnvironment } from './environment';
import { acceptedSoFar } from './read-back';
import type { PipelineOptions } from './run-pipeline';

/** How a local run waits for its destinations (built-ins and plug-ins alike, by mode) to converge. */

export type { AnyDestination } from './environment';

/**
 * Waits until every destination holds what it should (every version, or where only the newest matters, every
 * account's final version), or until nothing has moved for a while after the mappings caught up (a failing
 * destination), or the time limit. Returns whether all destinations completed.
 */
export async function converge(
  env: LocalEnvironment,
  mappings: Record<AnyDestination, LocalEventSourceMapping>,
  finalVersions: ReadonlyMap<string, number>,
  expected: number,
  dropped: ReadonlyMap<string, ReadonlySet<number>>,
  options: PipelineOptions,
  started: number,
): Promise<boolean> {
  // Quiet this long is stuck, not slow: a record parked behind a home lane that went quiet (a duplicate on another
  // shard made that lane the home) waits for a sweep to find the home quiet (its bound), for the fence the sweep
  // writes (the bound again), and for the next sweep.
  const QUIET_MS = 2 * DEFAULT_HOME_BOUND_MS + 2 * LOCAL_SWEEP_EVERY_MS;
  let last = '';
  let lastChange = Date.now();
  // Versions dropped before the stream (`--permanent-gap-rate`) cannot arrive; an account whose last version was
  // dropped leaves a latest-state destination behind until the operator repairs it.
  let droppedCount = 0;
  for (const versions of dropped.values()) droppedCount += versions.size;
  let lastDropped = 0;
  for (const [accountId, final] of finalVersions) if (dropped.get(accountId)?.has(final)) lastDropped += 1;
  // Every version, except where only the newest matters.
  const totals = new Map(env.destinations.map(({ name, mode }) => [name, mode === 'latest-state' ? finalVersions.size - lastDropped : expected - droppedCount]));
  for (;;) {
    options.signal?.throwIfAborted();
    const done = await progressOf(env, finalVersions);
    for (const [destination, total] of totals) {
      options.onProgress?.({ phase: 'converge', destination, done: Math.min(done[destination] ?? 0, total), total });
    }
    if ([...totals].every(([destination, total]) => (done[destination] ?? 0) >= total)) return true;
    const fingerprint = JSON.stringify(done);
    if (fingerprint !== last) {
      last = fingerprint;
      lastChange = Date.now();
    } else if (Date.now() - lastChange > QUIET_MS) {
      // Nothing moved for a while: if every mapping has also read its shards to the end, this is where it stays.
      const caughtUp = await Promise.all(env.destinations.map(({ name }) => (mappings[name] as LocalEventSourceMapping).drain(5_000)));
      if (caughtUp.every(Boolean) && JSON.stringify(await progressOf(env, finalVersions)) === fingerprint) return false;
      lastChange = Date.now();
    }
    if (Date.now() - started > options.convergeTimeoutMs) return false;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * How far each destination got, from what it accepted so far: distinct versions, or for a latest-state destination
 * the accounts whose newest accepted version is the table's final one.
 */
async function progressOf(env: LocalEnvironment, finalVersions: ReadonlyMap<string, number>): Promise<Record<AnyDestination, number>> {
  const progress = {} as Record<AnyDestination, number>;
  for (const { name, mode } of env.destinations) {
    const accepted = await acceptedSoFar(env, name);
    if (mode === 'latest-state') {
      const newest = new Map<string, number>();
      for (const { accountId, version } of accepted) newest.set(accountId, Math.max(version, newest.get(accountId) ?? 0));
      progress[name] = [...finalVersions].filter(([accountId, final]) => newest.get(accountId) === final).length;
    } else progress[name] = new Set(accepted.map(({ accountId, version }) => `${accountId}#${version}`)).size;
  }
  return progress;
}
