import { auditRuntime } from '../../consumers/audit/runtime';
import { fraudRuntime } from '../../consumers/fraud/runtime';
import { searchRuntime } from '../../consumers/search/runtime';
import { auditInfra } from '../../destinations/audit/infra';
import { auditLocal } from '../../destinations/audit/local';
import { fraudInfra } from '../../destinations/fraud/infra';
import { fraudLocal } from '../../destinations/fraud/local';
import { checkPlugin, type DestinationPlugin } from '../../destinations/plugin';
import { BUILT_IN_PLUGINS } from '../../destinations/registry';
import { searchInfra } from '../../destinations/search/infra';
import { searchLocal } from '../../destinations/search/local';
import type { RunningDestination } from '../pipeline/environment';
import type { FaultCatalog } from '../standins/fault-spec';
import type { LocalPlugin } from './local-plugin';

/** A destination `npm start` can run: a whole plug-in, its local half included. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each destination has its own settings and options types
export type RunnableDestination = DestinationPlugin<any, any> & { readonly local: LocalPlugin<any> };

/**
 * The built-in destinations as the plug-ins they are, all three halves: what `npm start` runs by default, in this
 * order. Their runtime and infrastructure halves are the ones Lambda and `OrderedFanout` use.
 */
export const BUILT_IN_DESTINATIONS: readonly RunnableDestination[] = [
  { runtime: auditRuntime, infra: auditInfra, local: auditLocal },
  { runtime: searchRuntime, infra: searchInfra, local: searchLocal },
  { runtime: fraudRuntime, infra: fraudInfra, local: fraudLocal },
];

/**
 * Every destination `npm start -- --destinations` knows, by name: the built-ins, then the plug-ins of
 * `destinations/registry.ts` (one without a local half is known, and refused when named).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each destination has its own settings and options types
export const KNOWN_DESTINATIONS: ReadonlyMap<string, DestinationPlugin<any, any>> = new Map([
  ...BUILT_IN_DESTINATIONS.map((destination) => [destination.runtime.name, destination] as const),
  ...Object.entries(BUILT_IN_PLUGINS),
]);

/** A destination asked to run locally whose plug-in has no local half. */
export class NoLocalHalfError extends Error {
  constructor(readonly destination: string) {
    super(`${destination} has no local half: it cannot run in npm start`);
    this.name = 'NoLocalHalfError';
  }
}

/** The destination, checked (`checkPlugin`) and known to have a local half; else a `NoLocalHalfError`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each destination has its own settings and options types
export function runnable(destination: DestinationPlugin<any, any>): RunnableDestination {
  if (!destination.local) throw new NoLocalHalfError(destination.runtime.name);
  checkPlugin(destination);
  return destination as RunnableDestination;
}

/**
 * What `--destination-faults` may name with these destinations (to run, or running): each one's fault kinds, if its
 * local half has any.
 */
export function faultCatalog(
  destinations: readonly (Pick<RunnableDestination, 'runtime' | 'local'> | Pick<RunningDestination, 'name' | 'local'>)[] = BUILT_IN_DESTINATIONS,
): FaultCatalog {
  return new Map(destinations.map((destination) => ['runtime' in destination ? destination.runtime.name : destination.name, destination.local.faults]));
}
