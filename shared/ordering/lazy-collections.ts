/**
 * Empty collections every account run starts with and shares until it adds to one. Most runs never park, dead-letter,
 * unpark or see a copy: allocating their sets and maps up front was a measurable share of the engine's cost (and of
 * its garbage) at one or two records per account per batch. The readonly types keep anyone from adding to the shared
 * ones: `added` and `stored` hand back a collection of the run's own.
 */
export const NO_VERSIONS: ReadonlySet<number> = new Set<number>();

export function added(set: ReadonlySet<number>, version: number): Set<number> {
  const own = set === NO_VERSIONS ? new Set<number>() : (set as Set<number>);
  own.add(version);
  return own;
}

export function removed(set: ReadonlySet<number>, version: number): ReadonlySet<number> {
  if (set !== NO_VERSIONS) (set as Set<number>).delete(version);
  return set;
}

export function noEntries<V>(): ReadonlyMap<number, V> {
  return NO_ENTRIES as ReadonlyMap<number, V>;
}

export function withEntry<V>(map: ReadonlyMap<number, V>, version: number, value: V): Map<number, V> {
  const own = map === NO_ENTRIES ? new Map<number, V>() : (map as Map<number, V>);
  own.set(version, value);
  return own;
}

const NO_ENTRIES: ReadonlyMap<number, unknown> = new Map<number, unknown>();
