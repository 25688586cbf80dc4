/**
 * The `faults` section of a fault-injected run's report: what was injected (crashes per destination and where they
 * hit, the destination faults with what the stand-ins counted, the versions dropped before the stream), and what
 * became of each dropped gap in each destination.
 */
import type { VersionRanges } from '../../shared/ordering/version-ranges';
import { DESTINATION_NAMES, type DestinationName } from '../../infra/config/pipeline-config';
import { CRASH_POINTS, type CrashPoint } from '../functions/protocol';
import type { LocalEnvironment } from './environment';
import type { DroppedGap, OperatorReport } from './operator';
import type { Accepted } from './read-back';

export interface CrashCount {
  readonly total: number;
  readonly byPoint: Readonly<Record<CrashPoint, number>>;
}

/** What the stand-ins counted of the faults they injected (per destination, by kind). */
export interface InjectedCounts {
  readonly audit: Readonly<Record<string, number>>;
  readonly search: Readonly<Record<string, number>>;
  readonly fraud: Readonly<Record<string, number>>;
}

/** One dropped gap and what each destination made of it. */
export interface GapOutcome extends DroppedGap {
  /** The gap holds the account's last version: nothing came after it. */
  readonly last: boolean;
  readonly fraud: string;
  readonly audit: string;
  readonly search: string;
}

export interface FaultsReport {
  readonly crashRate: number;
  readonly crashes: Readonly<Record<DestinationName, CrashCount>>;
  /** `--destination-faults`, one line per fault (`describeDestinationFaults`). */
  readonly destinationFaults: readonly string[];
  readonly injected: InjectedCounts;
  readonly permanentGapRate: number;
  readonly dropped: { readonly versions: number; readonly gaps: readonly GapOutcome[] };
  /** The functions' settings the fault run shortened (`MAX_GAP_AGE_SECONDS`, fraud's `CLAIM_TTL_SECONDS`). */
  readonly settings: { readonly maxGapAgeSeconds: number | null; readonly claimTtlSeconds: number };
}

/** Counts crashes as `LocalFunction` reports them. */
export class CrashCounter {
  readonly #counts = Object.fromEntries(
    DESTINATION_NAMES.map((name) => [name, Object.fromEntries(CRASH_POINTS.map((point) => [point, 0])) as Record<CrashPoint, number>]),
  ) as Record<DestinationName, Record<CrashPoint, number>>;

  count(destination: DestinationName, point: CrashPoint): void {
    this.#counts[destination][point] += 1;
  }

  get total(): number {
    return DESTINATION_NAMES.reduce((sum, name) => sum + Object.values(this.#counts[name]).reduce((a, b) => a + b, 0), 0);
  }

  snapshot(): Record<DestinationName, CrashCount> {
    return Object.fromEntries(
      DESTINATION_NAMES.map((name) => {
        const byPoint = { ...this.#counts[name] };
        return [name, { total: Object.values(byPoint).reduce((a, b) => a + b, 0), byPoint }];
      }),
    ) as Record<DestinationName, CrashCount>;
  }
}

/** The stand-ins' own counters of injected faults (zeros left out). */
export function injectedCounts(env: LocalEnvironment): InjectedCounts {
  const pick = (stats: Readonly<Record<string, number>>, names: readonly string[]): Record<string, number> =>
    Object.fromEntries(names.map((name) => [name, stats[name] ?? 0]).filter(([, value]) => (value as number) > 0));
  return {
    audit: pick(env.s3Proxy.faultStats, ['slowDowns', 'held', 'abandoned']),
    search: pick(env.openSearch.stats, ['throttled', 'itemThrottled', 'unavailable', 'writeBlocked', 'itemWriteBlocked', 'itemFloodBlocked', 'held', 'abandoned']),
    fraud: pick(env.eventBridge.stats, ['failedCalls', 'failedEntries', 'heldCalls', 'abandonedCalls']),
  };
}

export function totalInjected(injected: InjectedCounts): number {
  return DESTINATION_NAMES.reduce((sum, name) => sum + Object.values(injected[name]).reduce((a, b) => a + b, 0), 0);
}

/** What each destination made of each dropped gap, from what was read back and what the operator did. */
export function gapOutcomes(
  gaps: readonly DroppedGap[],
  finalVersions: ReadonlyMap<string, number>,
  accepted: Readonly<Record<DestinationName, readonly Accepted[]>>,
  operator: OperatorReport | undefined,
): GapOutcome[] {
  const has = (destination: DestinationName): Set<string> => new Set(accepted[destination].map(({ accountId, version }) => `${accountId}#${version}`));
  const fraud = has('fraud');
  const audit = has('audit');
  const all = (set: Set<string>, gap: DroppedGap): boolean => {
    for (let version = gap.from; version <= gap.to; version += 1) if (!set.has(`${gap.accountId}#${version}`)) return false;
    return true;
  };
  const overlaps = (gap: DroppedGap, missing: VersionRanges): boolean => missing.some(([from, to]) => from <= gap.to && to >= gap.from);
  const searchFinal = new Map<string, number>();
  for (const { accountId, version } of accepted.search) searchFinal.set(accountId, Math.max(searchFinal.get(accountId) ?? 0, version));
  const repaired = (operator?.searchRepairs ?? []).some((repair) => repair.delivered > 0);
  return gaps.map((gap) => {
    const last = gap.to === finalVersions.get(gap.accountId);
    const skip = operator?.gapsSkipped.find((s) => s.accountId === gap.accountId && s.from <= gap.from && s.to >= gap.to);
    const fraudOutcome = all(fraud, gap)
      ? 'delivered (healed)'
      : skip
        ? `skipped by the operator ("${skip.reason}")${skip.delivered > 0 ? `, then ${skip.delivered} parked versions delivered` : ''}`
        : 'NOT CLOSED';
    const acknowledged = operator?.noticesAcknowledged.some((n) => n.accountId === gap.accountId && overlaps(gap, n.missing));
    const auditOutcome = all(audit, gap)
      ? 'delivered (healed)'
      : acknowledged
        ? 'GAP_TIMEOUT notice acknowledged by the operator'
        : last
          ? 'nothing came after it: no gap to time out'
          : 'NOT ACKNOWLEDGED';
    const searchOutcome = !last
      ? 'passed over (latest-state keeps the newest)'
      : searchFinal.get(gap.accountId) === finalVersions.get(gap.accountId)
        ? repaired
          ? 'the table state put back by reconcile --repair'
          : 'at the final version'
        : 'BEHIND THE TABLE';
    return { ...gap, last, fraud: fraudOutcome, audit: auditOutcome, search: searchOutcome };
  });
}
