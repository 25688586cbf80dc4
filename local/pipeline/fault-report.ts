/**
 * The `faults` section of a fault-injected run's report: what was injected (crashes per destination and where they
 * hit, the destination faults with what the stand-ins counted, the versions dropped before the stream), and what
 * became of each dropped gap in each destination.
 */
import type { VersionRanges } from '../../shared/ordering/version-ranges';
import type { DestinationName } from '../../infra/config/pipeline-config';
import type { DeliveryMode } from '../../shared/ordering/delivery-mode';
import { CRASH_POINTS, type CrashPoint } from '../functions/protocol';
import type { LocalEnvironment } from './environment';
import type { DroppedGap, OperatorReport } from './operator';
import type { Accepted } from './read-back';

export interface CrashCount {
  readonly total: number;
  readonly byPoint: Readonly<Record<CrashPoint, number>>;
}

/**
 * Per destination of the run, in the run's order. A built-in's key is typed as always there, as in the stable keys of
 * the report; a run without it (`--destinations`) has no entry.
 */
export type PerDestination<T> = Readonly<Record<DestinationName, T>> & Readonly<Record<string, T>>;

/** What the stand-ins counted of the faults they injected, by kind: every destination whose stand-in counts them. */
export type InjectedCounts = PerDestination<Readonly<Record<string, number>>>;

/** One dropped gap and what each destination made of it. */
export interface GapOutcome extends DroppedGap {
  /** The gap holds the account's last version: nothing came after it. */
  readonly last: boolean;
  /**
   * The built-ins' outcomes under their own keys, as the JSON had them before plug-ins (`-` when the run lacks one);
   * `byDestination` has every destination's.
   */
  readonly fraud: string;
  readonly audit: string;
  readonly search: string;
  readonly byDestination: Readonly<Record<string, string>>;
}

export interface FaultsReport {
  readonly crashRate: number;
  readonly crashes: PerDestination<CrashCount>;
  /** `--destination-faults`, one line per fault (`describeDestinationFaults`). */
  readonly destinationFaults: readonly string[];
  readonly injected: InjectedCounts;
  /**
   * Why a destination may or may not show duplicates, beside its count: in-order ones by their mode (the engine's
   * replay after a crash), the others by their local half's word (`LocalPlugin.duplicates`).
   */
  readonly duplicateNotes?: Readonly<Record<string, string>>;
  readonly permanentGapRate: number;
  readonly dropped: { readonly versions: number; readonly gaps: readonly GapOutcome[] };
  /** The functions' settings the fault run shortened (`MAX_GAP_AGE_SECONDS`, every in-order destination's `CLAIM_TTL_SECONDS`). */
  readonly settings: { readonly maxGapAgeSeconds: number; readonly gapAgeFromConfig: readonly string[]; readonly claimTtlSeconds: number };
}

/** Counts crashes as `LocalFunction` reports them, for every destination of the run. */
export class CrashCounter {
  readonly #counts = new Map<string, Record<CrashPoint, number>>();

  /** `names`: every destination of the run, in its order (each has a count, zero or not). */
  constructor(names: readonly string[]) {
    for (const name of names) this.#counts.set(name, zeros());
  }

  count(destination: string, point: CrashPoint): void {
    let counts = this.#counts.get(destination);
    if (!counts) this.#counts.set(destination, (counts = zeros()));
    counts[point] += 1;
  }

  get total(): number {
    let sum = 0;
    for (const counts of this.#counts.values()) for (const n of Object.values(counts)) sum += n;
    return sum;
  }

  snapshot(): PerDestination<CrashCount> {
    return Object.fromEntries(
      [...this.#counts].map(([name, counts]) => {
        const byPoint = { ...counts };
        return [name, { total: Object.values(byPoint).reduce((a, b) => a + b, 0), byPoint }];
      }),
    ) as PerDestination<CrashCount>;
  }
}

function zeros(): Record<CrashPoint, number> {
  return Object.fromEntries(CRASH_POINTS.map((point) => [point, 0])) as Record<CrashPoint, number>;
}

/** The stand-ins' own counters of injected faults (zeros left out), of every destination whose stand-in keeps them. */
export function injectedCounts(env: Pick<LocalEnvironment, 'destinations'>): InjectedCounts {
  return Object.fromEntries(
    env.destinations.flatMap(({ name, standIn }) => (standIn.injectedCounts ? [[name, standIn.injectedCounts()]] : [])),
  ) as InjectedCounts;
}

export function totalInjected(injected: InjectedCounts): number {
  return Object.values(injected).reduce((sum, counts) => sum + Object.values(counts).reduce((a, b) => a + b, 0), 0);
}

/** A destination of the run, as the gap outcomes need it: what it wants of an account's versions decides the outcome. */
export interface OutcomeDestination {
  readonly name: string;
  readonly mode: DeliveryMode;
}

/**
 * What each destination made of each dropped gap, by its mode, from what was read back and what the operator did:
 * in-order destinations need the gap received or skipped, every-version ones its GAP_TIMEOUT notice acknowledged
 * (unless nothing came after it), latest-state ones only the account's final version.
 */
export function gapOutcomes(
  gaps: readonly DroppedGap[],
  finalVersions: ReadonlyMap<string, number>,
  accepted: Readonly<Record<string, readonly Accepted[]>>,
  operator: OperatorReport | undefined,
  destinations: readonly OutcomeDestination[],
): GapOutcome[] {
  const overlaps = (gap: DroppedGap, missing: VersionRanges): boolean => missing.some(([from, to]) => from <= gap.to && to >= gap.from);
  const outcomeOf = destinations.map(({ name, mode }) => {
    const list = accepted[name] ?? [];
    const has = new Set(list.map(({ accountId, version }) => `${accountId}#${version}`));
    const newest = new Map<string, number>();
    for (const { accountId, version } of list) newest.set(accountId, Math.max(newest.get(accountId) ?? 0, version));
    const all = (gap: DroppedGap): boolean => {
      for (let version = gap.from; version <= gap.to; version += 1) if (!has.has(`${gap.accountId}#${version}`)) return false;
      return true;
    };
    const repaired = (operator?.searchRepairs ?? []).some((repair) => (repair.destination ?? name) === name && repair.delivered > 0);
    return (gap: DroppedGap, last: boolean): [string, string] => {
      if (mode === 'latest-state') {
        if (!last) return [name, 'passed over (latest-state keeps the newest)'];
        if (newest.get(gap.accountId) !== finalVersions.get(gap.accountId)) return [name, 'BEHIND THE TABLE'];
        return [name, repaired ? 'the table state put back by reconcile --repair' : 'at the final version'];
      }
      if (all(gap)) return [name, 'delivered (healed)'];
      if (mode === 'in-order') {
        const skip = operator?.gapsSkipped.find(
          (s) => (s.destination ?? name) === name && s.accountId === gap.accountId && s.from <= gap.from && s.to >= gap.to,
        );
        if (!skip) return [name, 'NOT CLOSED'];
        return [name, `skipped by the operator ("${skip.reason}")${skip.delivered > 0 ? `, then ${skip.delivered} parked versions delivered` : ''}`];
      }
      const acknowledged = operator?.noticesAcknowledged.some((n) => n.destination === name && n.accountId === gap.accountId && overlaps(gap, n.missing));
      if (acknowledged) return [name, 'GAP_TIMEOUT notice acknowledged by the operator'];
      return [name, last ? 'nothing came after it: no gap to time out' : 'NOT ACKNOWLEDGED'];
    };
  });
  return gaps.map((gap) => {
    const last = gap.to === finalVersions.get(gap.accountId);
    const byDestination = Object.fromEntries(outcomeOf.map((outcome) => outcome(gap, last)));
    return { ...gap, last, fraud: byDestination.fraud ?? '-', audit: byDestination.audit ?? '-', search: byDestination.search ?? '-', byDestination };
  });
}
