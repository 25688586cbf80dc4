import type { DestinationPlugin } from '../../destinations/plugin';
import { BUILT_IN_DESTINATIONS, KNOWN_DESTINATIONS, runnable, type RunnableDestination } from './local-destinations';

/** A `--destinations` list the local pipeline cannot run: names what is wrong with it. */
export class DestinationListError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DestinationListError';
  }
}

/**
 * Parses `--destinations audit,ledger-queue`: any non-empty set of the destinations `npm start` knows
 * (`KNOWN_DESTINATIONS`), each with a local half. The run has them built-ins first, in their own order, then the
 * plug-ins in the order named, so a report reads the same however the list was written.
 */
export function parseDestinationList(value: string): readonly RunnableDestination[] {
  const names = value.split(',').map((name) => name.trim()).filter((name) => name !== '');
  if (names.length === 0) throw new DestinationListError(`name at least one destination (known: ${[...KNOWN_DESTINATIONS.keys()].join(', ')})`);
  const unknown = names.filter((name) => !KNOWN_DESTINATIONS.has(name));
  if (unknown.length > 0) throw new DestinationListError(`unknown destination ${unknown.join(', ')}; known: ${[...KNOWN_DESTINATIONS.keys()].join(', ')}`);
  if (new Set(names).size !== names.length) throw new DestinationListError(`a destination is named twice in ${value}`);
  const chosen = names.map((name) => runnable(KNOWN_DESTINATIONS.get(name) as DestinationPlugin<never, never>));
  const rank = (destination: RunnableDestination): number => {
    const builtIn = BUILT_IN_DESTINATIONS.indexOf(destination);
    return builtIn >= 0 ? builtIn : BUILT_IN_DESTINATIONS.length + chosen.indexOf(destination);
  };
  return [...chosen].sort((a, b) => rank(a) - rank(b));
}
