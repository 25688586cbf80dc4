/**
 * `--destination-faults SPEC`: which faults the destinations' stand-ins inject, and how often.
 *
 * SPEC is a comma list of `destination:fault:rate` (rate in 0..1; `slow` takes `@ms`, e.g. `fraud:slow:0.02@90000`),
 * and `all`, which stands for {@link ALL_FAULTS}. A later item for the same destination and fault replaces an earlier
 * one, so `all,search:slow:0.05@5000` is the mix with faster, more frequent slow searches. The faults, as AWS and
 * OpenSearch answer them (see {@link FAULTS}):
 *
 * | destination | fault | what the stand-in does |
 * |---|---|---|
 * | audit | `503` | PutObject answered 503 SlowDown |
 * | audit | `slow` | PutObject held `@ms` before it is forwarded |
 * | search | `429` | a request answered 429 rejected_execution_exception |
 * | search | `429-item` | a `_bulk` item failing 429 rejected_execution_exception |
 * | search | `503` | a request answered 503 (no cluster-manager) |
 * | search | `403` | a write refused 403 cluster_block_exception (`_bulk`: cluster read-only; a document: index write block) |
 * | search | `403-item` | a `_bulk` item failing 403 cluster_block_exception (index write block) |
 * | search | `flood-item` | a `_bulk` item (not a delete) failing 429 cluster_block_exception (disk flood stage) |
 * | search | `slow` | a write held `@ms` before it is handled |
 * | fraud | `throttle` | a PutEvents call answered ThrottlingException (HTTP 400) |
 * | fraud | `500` | a PutEvents call answered InternalException (HTTP 500) |
 * | fraud | `partial` | a PutEvents entry failing ThrottlingException or InternalFailure (FailedEntryCount) |
 * | fraud | `slow` | a PutEvents call held `@ms` before it is handled |
 *
 * A held request whose client gives up first (an adapter aborts at its deadline) is dropped unhandled.
 */
import { DESTINATION_NAMES, type DestinationName } from '../../infra/config/pipeline-config';
import type { EventBridgeFaults, EventBridgeStandIn } from './eventbridge/server';
import { DEFAULT_SLOW_MS } from './hold';
import type { OpenSearchFaults, OpenSearchStandIn } from './opensearch/server';
import type { S3CreateOnlyProxy, S3ProxyFaults } from './s3-create-only-proxy';

export interface FaultRule {
  readonly destination: DestinationName;
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

/** The stand-ins' fault profiles, per destination; a destination without rules is absent. */
export interface FaultProfiles {
  readonly audit?: S3ProxyFaults;
  readonly search?: OpenSearchFaults;
  readonly fraud?: EventBridgeFaults;
}

type Profile = Record<string, unknown>;

interface FaultKind {
  describe(rule: FaultRule): string;
  apply(profile: Profile, rule: FaultRule): void;
}

const slow = (what: string): FaultKind => ({
  describe: (rule) => `${what} held ${formatMs(rule.delayMs ?? DEFAULT_SLOW_MS)} before they are handled`,
  apply(profile, rule) {
    profile.slowRate = rule.rate;
    profile.slowMs = rule.delayMs ?? DEFAULT_SLOW_MS;
  },
});
const rated = (field: string, text: string, extra: Profile = {}): FaultKind => ({
  describe: () => text,
  apply(profile, rule) {
    Object.assign(profile, extra, { [field]: rule.rate });
  },
});

/** Every fault a destination's stand-in can inject, by destination and name. */
export const FAULTS: Readonly<Record<DestinationName, Readonly<Record<string, FaultKind>>>> = {
  audit: {
    '503': rated('slowDownRate', 'PutObject requests answered 503 SlowDown'),
    slow: slow('PutObject requests'),
  },
  search: {
    '429': rated('throttleRate', 'requests answered 429 rejected_execution_exception'),
    '429-item': rated('itemThrottleRate', '_bulk items failing 429 rejected_execution_exception'),
    '503': rated('unavailableRate', 'requests answered 503 cluster_block_exception (no cluster-manager)'),
    '403': rated('writeBlockRate', 'writes refused 403 cluster_block_exception (_bulk: cluster read-only)'),
    '403-item': rated('itemWriteBlockRate', '_bulk items failing 403 cluster_block_exception (index write block)'),
    'flood-item': rated('itemFloodStageRate', '_bulk items failing 429 cluster_block_exception (disk flood stage)'),
    slow: slow('writes'),
  },
  fraud: {
    throttle: rated('throttleRate', 'PutEvents calls answered ThrottlingException (HTTP 400)'),
    '500': rated('callFailureRate', 'PutEvents calls answered InternalException (HTTP 500)', { callError: 'InternalException' }),
    partial: rated('entryFailureRate', 'PutEvents entries failing ThrottlingException or InternalFailure', {
      entryErrorCode: ['ThrottlingException', 'InternalFailure'],
    }),
    slow: slow('PutEvents calls'),
  },
};

/**
 * What `all` stands for: every fault of every destination, at rates low enough that the adapters' retries mostly get
 * through (0.05 for whole requests and PutEvents entries, 0.02 for each of the three `_bulk` item faults, which add up),
 * and 1 % slow requests held 20 s: longer than the 10 s claim of an `npm start` fault run (a fraud call outlives its
 * claim and is cut off at its deadline), short enough that a run with `all` converges in a couple of minutes. Hold
 * them longer, e.g. `all,fraud:slow:0.01@90000`, to outlive the default 60 s claim.
 */
export const ALL_FAULTS =
  'audit:503:0.05,audit:slow:0.01@20000,' +
  'search:429:0.05,search:429-item:0.02,search:503:0.05,search:403:0.05,search:403-item:0.02,search:flood-item:0.02,' +
  'search:slow:0.01@20000,' +
  'fraud:throttle:0.05,fraud:500:0.05,fraud:partial:0.05,fraud:slow:0.01@20000';

/** Parses SPEC; throws a RangeError naming the part that is wrong. */
export function parseDestinationFaults(spec: string): DestinationFaults {
  const items = spec.split(',').map((item) => item.trim());
  if (items.every((item) => item === '')) throw new RangeError('--destination-faults: the spec is empty');
  const rules = new Map<string, FaultRule>();
  for (const item of items) {
    if (item === '') throw new RangeError(`--destination-faults: an empty item in "${spec}"`);
    const parsed = item.toLowerCase() === 'all' ? parseDestinationFaults(ALL_FAULTS).rules : [parseRule(item)];
    for (const rule of parsed) rules.set(`${rule.destination}:${rule.fault}`, rule);
  }
  return { rules: [...rules.values()] };
}

function parseRule(item: string): FaultRule {
  const bad = (why: string): RangeError => new RangeError(`--destination-faults: "${item}" ${why}`);
  const parts = item.split(':');
  if (parts.length !== 3) throw bad('is not destination:fault:rate (or all)');
  const [destination, fault, rateText] = parts as [string, string, string];
  if (!DESTINATION_NAMES.includes(destination as DestinationName)) {
    throw bad(`names an unknown destination "${destination}" (${DESTINATION_NAMES.join(', ')})`);
  }
  const kinds = FAULTS[destination as DestinationName];
  if (!Object.hasOwn(kinds, fault)) throw bad(`names an unknown ${destination} fault "${fault}" (${Object.keys(kinds).join(', ')})`);
  const [rateOnly, delayText, ...more] = rateText.split('@');
  const rate = Number(rateOnly);
  if (rateOnly === undefined || rateOnly.trim() === '' || !(rate >= 0 && rate <= 1)) {
    throw bad(`has a rate "${rateOnly ?? ''}" that is not a number in 0..1`);
  }
  if (delayText === undefined) return { destination: destination as DestinationName, fault, rate };
  if (fault !== 'slow') throw bad('has an @ms delay, which only slow takes');
  const delayMs = Number(delayText);
  if (more.length > 0 || !/^\d+$/.test(delayText) || !Number.isSafeInteger(delayMs)) {
    throw bad(`has a delay "@${[delayText, ...more].join('@')}" that is not a whole number of milliseconds`);
  }
  return { destination: destination as DestinationName, fault, rate, delayMs };
}

/** The fault profile each destination's stand-in gets, with the PRNG seed. */
export function destinationFaultProfiles(faults: DestinationFaults, options: { seed?: number } = {}): FaultProfiles {
  const profiles: Partial<Record<DestinationName, Profile>> = {};
  for (const rule of faults.rules) {
    const profile = (profiles[rule.destination] ??= { seed: options.seed ?? 1 });
    FAULTS[rule.destination][rule.fault]?.apply(profile, rule);
  }
  return profiles as FaultProfiles;
}

/**
 * Sets the fault profile of each destination that has rules (replacing what it had) and leaves the others alone.
 * Seeded (`seed`, default 1), so a run replays.
 */
export function applyDestinationFaults(
  standins: {
    readonly s3Proxy: Pick<S3CreateOnlyProxy, 'setFaults'>;
    readonly openSearch: Pick<OpenSearchStandIn, 'setFaults'>;
    readonly eventBridge: Pick<EventBridgeStandIn, 'setFaults'>;
  },
  faults: DestinationFaults,
  options: { seed?: number } = {},
): void {
  const profiles = destinationFaultProfiles(faults, options);
  if (profiles.audit) standins.s3Proxy.setFaults(profiles.audit);
  if (profiles.search) standins.openSearch.setFaults(profiles.search);
  if (profiles.fraud) standins.eventBridge.setFaults(profiles.fraud);
}

/** One line per fault, for a report, e.g. `search 403-item 2%: _bulk items failing 403 cluster_block_exception (index write block)`. */
export function describeDestinationFaults(faults: DestinationFaults): string[] {
  return faults.rules.map((rule) => {
    const kind = FAULTS[rule.destination][rule.fault];
    const percent = `${Number((rule.rate * 100).toFixed(3))}%`;
    return `${rule.destination} ${rule.fault} ${percent}: ${kind?.describe(rule) ?? rule.fault}`;
  });
}

function formatMs(ms: number): string {
  return ms >= 1_000 && ms % 1_000 === 0 ? `${ms / 1_000} s` : `${ms} ms`;
}
