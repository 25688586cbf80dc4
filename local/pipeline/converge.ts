import { fileURLToPath } from 'node:url';
import { DESTINATION_NAMES, type DestinationName, type PipelineConfig } from '../../infra/config/pipeline-config';
import type { PluginName } from '../../shared/config/consumer-config';
import { SWEPT_DESTINATIONS } from '../../shared/consumer/sweep-handler';
import type { DeliveryMode } from '../../shared/ordering/delivery-mode';
import { DEFAULT_HOME_BOUND_MS } from '../../shared/ordering/engine';
import { LOCAL_SWEEP_EVERY_MS } from './local-sweeper';
import type { LocalEventSourceMapping } from '../esm';
import type { LocalEnvironment } from './environment';
import type { PipelineOptions } from './run-pipeline';
import { MODES } from './verify-pipeline';

/** Which destinations a local run runs (built-ins and plug-ins alike), and how it waits for them to converge. */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A built-in destination or a plug-in's name. */
export type AnyDestination = DestinationName | PluginName;

/**
 * Waits until every destination holds what it should (audit and fraud: every version; search: every account's final
 * version), or until nothing has moved for a while after the mappings caught up (a failing destination), or the time
 * limit. Returns whether all destinations completed.
 */
export async function converge(
  env: LocalEnvironment,
  names: readonly AnyDestination[],
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
  // dropped leaves search behind until the operator repairs it.
  let droppedCount = 0;
  for (const versions of dropped.values()) droppedCount += versions.size;
  let lastDropped = 0;
  for (const [accountId, final] of finalVersions) if (dropped.get(accountId)?.has(final)) lastDropped += 1;
  for (;;) {
    options.signal?.throwIfAborted();
    const done = await progressOf(env, finalVersions);
    // Every version, except where only the newest matters.
    const totalOf = (destination: AnyDestination): number =>
      modeOf(env, destination) === 'latest-state' ? finalVersions.size - lastDropped : expected - droppedCount;
    for (const destination of names) {
      const total = totalOf(destination);
      options.onProgress?.({ phase: 'converge', destination, done: Math.min(done[destination] ?? 0, total), total });
    }
    if (names.every((destination) => (done[destination] ?? 0) >= totalOf(destination))) return true;
    const fingerprint = JSON.stringify(done);
    if (fingerprint !== last) {
      last = fingerprint;
      lastChange = Date.now();
    } else if (Date.now() - lastChange > QUIET_MS) {
      // Nothing moved for a while: if every mapping has also read its shards to the end, this is where it stays.
      const caughtUp = await Promise.all(names.map((destination) => (mappings[destination] as LocalEventSourceMapping).drain(5_000)));
      if (caughtUp.every(Boolean) && JSON.stringify(await progressOf(env, finalVersions)) === fingerprint) return false;
      lastChange = Date.now();
    }
    if (Date.now() - started > options.convergeTimeoutMs) return false;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** A destination of this run, built-in or plug-in, with what runs it: handler, sweeper, settings. */
export interface RunningDestination {
  readonly name: AnyDestination;
  readonly mode: DeliveryMode;
  readonly settings: PipelineConfig['destinations'][DestinationName];
  readonly handler: string;
  /** Unless `latest-state`. */
  readonly sweeper?: string;
}

export function runningDestinations(config: PipelineConfig, env: LocalEnvironment): RunningDestination[] {
  const builtIns = DESTINATION_NAMES.map((name) => ({
    name,
    mode: MODES[name],
    settings: config.destinations[name],
    handler: `${ROOT}consumers/${name}/handler.ts`,
    ...(SWEPT_DESTINATIONS.includes(name) ? { sweeper: `${ROOT}consumers/${name}/sweeper.ts` } : {}),
  }));
  const plugins = env.plugins.map(({ name, mode, settings, plugin }) => ({
    name,
    mode,
    settings: settings as RunningDestination['settings'],
    handler: `${ROOT}${plugin.infra.handler}`,
    ...(plugin.infra.sweeper ? { sweeper: `${ROOT}${plugin.infra.sweeper}` } : {}),
  }));
  return [...builtIns, ...plugins];
}

function modeOf(env: LocalEnvironment, destination: AnyDestination): DeliveryMode {
  return env.plugins.find((run) => run.name === destination)?.mode ?? MODES[destination as DestinationName];
}

/**
 * How far each destination got, cheaply: distinct versions created (audit), final versions indexed, events; a
 * plug-in by its read-back (distinct versions, or accounts at their final version when `latest-state`).
 */
async function progressOf(env: LocalEnvironment, finalVersions: ReadonlyMap<string, number>): Promise<Record<AnyDestination, number>> {
  const plugins: Record<string, number> = {};
  for (const run of env.plugins) {
    const accepted = await run.standIn.readBack();
    if (run.mode === 'latest-state') {
      const newest = new Map<string, number>();
      for (const { accountId, version } of accepted) newest.set(accountId, Math.max(version, newest.get(accountId) ?? 0));
      plugins[run.name] = [...finalVersions].filter(([accountId, final]) => newest.get(accountId) === final).length;
    } else plugins[run.name] = new Set(accepted.map(({ accountId, version }) => `${accountId}#${version}`)).size;
  }
  return { ...builtInProgress(env, finalVersions), ...plugins };
}

function builtInProgress(env: LocalEnvironment, finalVersions: ReadonlyMap<string, number>): Record<DestinationName, number> {
  const searchFinal = new Map<string, number>();
  for (const write of env.openSearch.writes(env.resources.index)) searchFinal.set(write.id, write.version);
  let search = 0;
  for (const [accountId, final] of finalVersions) if (searchFinal.get(accountId) === final) search += 1;
  const fraud = new Set(env.eventBridge.events(env.resources.eventBus).map((event) => {
    const detail = event.detail as { accountId: string; version: number };
    return `${detail.accountId}#${detail.version}`;
  })).size;
  return { audit: env.s3Proxy.created.length, search, fraud };
}
