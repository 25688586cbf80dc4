/**
 * `--destination-faults SPEC`: which faults the destinations' stand-ins inject, and how often.
 *
 * SPEC is a comma list of `destination:fault:rate` (rate in 0..1; `slow` takes `@ms`, e.g. `fraud:slow:0.02@90000`),
 * and `all`, which stands for every destination's share of it ({@link allFaults}). A later item for the same
 * destination and fault replaces an earlier one, so `all,search:slow:0.05@5000` is the mix with faster, more frequent
 * slow searches. The faults themselves are the destinations': each local half that can inject faults declares them
 * (`LocalPlugin.faults`, e.g. `destinations/search/local.ts`), with what its stand-in does for each. A held request
 * whose client gives up first (an adapter aborts at its deadline) is dropped unhandled.
 */
import { DEFAULT_SLOW_MS } from './hold';

/** One fault a stand-in can inject: what it does, and how a rule for it sets the stand-in's fault profile. */
export interface FaultKind {
  describe(rule: FaultRule): string;
  apply(profile: Record<string, unknown>, rule: FaultRule): void;
}

/** The faults one destination's stand-in can inject, by name, and what `all` turns on for it. */
export interface DestinationFaultKinds {
  readonly kinds: Readonly<Record<string, FaultKind>>;
  /**
   * Its share of `all`, as `fault:rate[@ms]` items: rates low enough that the adapters' retries mostly get through,
   * and slow requests held longer than a fault run's claim.
   */
  readonly all: string;
}

/**
 * The destinations a spec may name, in the order `all` lists them: their fault kinds, or `undefined` for a destination
 * whose stand-in has none (named, it is refused with that reason rather than called unknown).
 */
export type FaultCatalog = ReadonlyMap<string, DestinationFaultKinds | undefined>;

export interface FaultRule {
  readonly destination: string;
  readonly fault: string;
  /** Fraction 0..1 of the requests (or `_bulk` items, or PutEvents entries) the fault hits. */
  readonly rate: number;
  /** For `slow`: how long a held request waits (ms). */
  readonly delayMs?: number;
}

export interface DestinationFaults {
  /** One rule per destination and fault, in the order first named. */
  readonly rules: readonly FaultRule[];
}

/** A fault that holds requests `@ms` (default {@link DEFAULT_SLOW_MS}) before the stand-in handles them. */
export const slowFault = (what: string): FaultKind => ({
  describe: (rule) => `${what} held ${formatMs(rule.delayMs ?? DEFAULT_SLOW_MS)} before they are handled`,
  apply(profile, rule) {
    profile.slowRate = rule.rate;
    profile.slowMs = rule.delayMs ?? DEFAULT_SLOW_MS;
  },
});

/** A fault that sets one rate of the stand-in's profile (and `extra`, e.g. which error to answer). */
export const ratedFault = (field: string, text: string, extra: Record<string, unknown> = {}): FaultKind => ({
  describe: () => text,
  apply(profile, rule) {
    Object.assign(profile, extra, { [field]: rule.rate });
  },
});

/** What `all` stands for with these destinations: each one's share, in catalog order. */
export function allFaults(catalog: FaultCatalog): string {
  return [...catalog]
    .flatMap(([destination, faults]) => (faults ? faults.all.split(',').map((item) => `${destination}:${item.trim()}`) : []))
    .join(',');
}

/** Parses SPEC against the destinations of `catalog`; throws a RangeError naming the part that is wrong. */
export function parseDestinationFaults(spec: string, catalog: FaultCatalog): DestinationFaults {
  const items = spec.split(',').map((item) => item.trim());
  if (items.every((item) => item === '')) throw new RangeError('--destination-faults: the spec is empty');
  const rules = new Map<string, FaultRule>();
  for (const item of items) {
    if (item === '') throw new RangeError(`--destination-faults: an empty item in "${spec}"`);
    for (const rule of item.toLowerCase() === 'all' ? allRules(catalog) : [parseRule(item, catalog)]) rules.set(`${rule.destination}:${rule.fault}`, rule);
  }
  return { rules: [...rules.values()] };
}

function allRules(catalog: FaultCatalog): readonly FaultRule[] {
  const all = allFaults(catalog);
  if (all === '') throw new RangeError(`--destination-faults: all: no destination of the run has fault profiles (${[...catalog.keys()].join(', ')})`);
  return parseDestinationFaults(all, catalog).rules;
}

function parseRule(item: string, catalog: FaultCatalog): FaultRule {
  const bad = (why: string): RangeError => new RangeError(`--destination-faults: "${item}" ${why}`);
  const parts = item.split(':');
  if (parts.length !== 3) throw bad('is not destination:fault:rate (or all)');
  const [destination, fault, rateText] = parts as [string, string, string];
  const withFaults = [...catalog].filter(([, faults]) => faults !== undefined).map(([name]) => name);
  if (!catalog.has(destination)) throw bad(`names an unknown destination "${destination}" (${withFaults.join(', ')})`);
  const kinds = catalog.get(destination)?.kinds;
  if (!kinds) {
    throw bad(
      `names ${destination}, whose local stand-in has no fault profiles (only ${withFaults.join(', ') || 'none'} have); ` +
        'fault it with --fail, --crash-rate or --permanent-gap-rate',
    );
  }
  if (!Object.hasOwn(kinds, fault)) throw bad(`names an unknown ${destination} fault "${fault}" (${Object.keys(kinds).join(', ')})`);
  const [rateOnly, delayText, ...more] = rateText.split('@');
  const rate = Number(rateOnly);
  if (rateOnly === undefined || rateOnly.trim() === '' || !(rate >= 0 && rate <= 1)) {
    throw bad(`has a rate "${rateOnly ?? ''}" that is not a number in 0..1`);
  }
  if (delayText === undefined) return { destination, fault, rate };
  if (fault !== 'slow') throw bad('has an @ms delay, which only slow takes');
  const delayMs = Number(delayText);
  if (more.length > 0 || !/^\d+$/.test(delayText) || !Number.isSafeInteger(delayMs)) {
    throw bad(`has a delay "@${[delayText, ...more].join('@')}" that is not a whole number of milliseconds`);
  }
  return { destination, fault, rate, delayMs };
}

/** One destination's stand-in profile from its rules (the others' are ignored), with the PRNG seed. */
export function faultProfile(kinds: DestinationFaultKinds['kinds'], rules: readonly FaultRule[], seed: number): Record<string, unknown> {
  const profile: Record<string, unknown> = { seed };
  for (const rule of rules) if (Object.hasOwn(kinds, rule.fault)) kinds[rule.fault]?.apply(profile, rule);
  return profile;
}

/** The rules by destination, in the order first named. */
export function rulesByDestination(faults: DestinationFaults): Map<string, FaultRule[]> {
  const by = new Map<string, FaultRule[]>();
  for (const rule of faults.rules) by.set(rule.destination, [...(by.get(rule.destination) ?? []), rule]);
  return by;
}

/** One line per fault, for a report, e.g. `search 403-item 2%: _bulk items failing 403 cluster_block_exception (index write block)`. */
export function describeDestinationFaults(faults: DestinationFaults, catalog: FaultCatalog): string[] {
  return faults.rules.map((rule) => {
    const kind = catalog.get(rule.destination)?.kinds[rule.fault];
    const percent = `${Number((rule.rate * 100).toFixed(3))}%`;
    return `${rule.destination} ${rule.fault} ${percent}: ${kind?.describe(rule) ?? rule.fault}`;
  });
}

/** A stand-in's counters of what it injected, named ones only and zeros left out. */
export function injectedOf(stats: Readonly<Record<string, number>>, names: readonly string[]): Record<string, number> {
  return Object.fromEntries(names.map((name) => [name, stats[name] ?? 0]).filter(([, value]) => (value as number) > 0));
}

function formatMs(ms: number): string {
  return ms >= 1_000 && ms % 1_000 === 0 ? `${ms / 1_000} s` : `${ms} ms`;
}
