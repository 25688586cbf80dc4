import fc from 'fast-check';
import type { ChangeRecord } from '../../shared/change-record/change-record';
import type { InOrderCommit } from '../../shared/ordering/delivery-mode';
import { prng } from '../../local/prng';
import { inRanges, versionsIn } from './edge-checks';
import { history, missingRuns, ship, type ShipShape } from './edge-streams';

/**
 * Streams in which some versions never arrive (permanent gaps), and what each mode then owes every account.
 * The last version of an account is always sent: a change that never arrives after the last one that did is
 * indistinguishable from one that was never made, so no consumer can notice it.
 */

export interface GapShape extends ShipShape {
  /** History length per account; account i is `ACC-i`. */
  readonly lengths: readonly number[];
  /** Chance that a run of missing versions starts at a version. */
  readonly gapRate: number;
  /** Longest run of missing versions. */
  readonly maxRun: number;
  readonly crashRate: number;
  readonly maxGapAgeMs: number;
  readonly inOrderCommit: InOrderCommit;
}

/**
 * Small streams (1-5 accounts, 2-24 versions): gap paths need few versions, and the suite's time goes to runs.
 * `moving`: the clock moves between batches, so gaps time out while the stream is still being consumed (gap ages of
 * 1-60 s against steps of up to 2 s); otherwise it stands still until the drain.
 */
export function gapShapes(moving: boolean): fc.Arbitrary<GapShape> {
  return fc.record({
    lengths: fc.array(fc.integer({ min: 2, max: 24 }), { minLength: 1, maxLength: 5 }),
    seed: fc.integer(),
    duplicateRate: fc.constantFrom(0, 0.2),
    shards: fc.integer({ min: 1, max: 3 }),
    maxBatchSize: fc.constantFrom(1, 4, 16),
    gapRate: fc.constantFrom(0.1, 0.3),
    maxRun: fc.integer({ min: 1, max: 3 }),
    crashRate: fc.constantFrom(0, 0.05, 0.2),
    maxGapAgeMs: moving ? fc.constantFrom(1_000, 5_000, 60_000) : fc.constantFrom(1_000, 900_000),
    inOrderCommit: fc.constantFrom<InOrderCommit>('per-version', 'per-batch'),
  });
}

export interface GapAccount {
  readonly id: string;
  readonly n: number;
  /** The whole history, sent or not, by version - 1. */
  readonly records: readonly ChangeRecord[];
  /** Maximal runs of versions that never reach the stream. */
  readonly runs: readonly [number, number][];
  readonly sent: ReadonlySet<number>;
}

export interface GapStream {
  readonly accounts: readonly GapAccount[];
  readonly shards: ChangeRecord[][][];
}

export function buildGapStream(shape: GapShape): GapStream {
  const random = prng(shape.seed);
  const accounts = shape.lengths.map((n, index): GapAccount => {
    const id = `ACC-${index}`;
    const records = history(id, n, { endsWithRemove: random() < 0.2 }).records;
    const runs = missingRuns(n, shape.gapRate, shape.maxRun, random);
    const sent = new Set(versionsIn(1, n).filter((version) => !inRanges(runs, version)));
    return { id, n, records, runs, sent };
  });
  const shards = ship(
    accounts.flatMap((a) => a.records.filter((record) => a.sent.has(record.version))),
    shape,
  );
  return { accounts, shards };
}

/** What `in-order` owes an account whose gaps never fill, once the operator skipped each timed-out gap. */
export interface InOrderPlan {
  /** The first version delivered: 1, or (after a baseline) the first sent version after missing 1 and 2. */
  readonly start: number;
  /** Single missing versions: healed from their neighbours (one write, proven by `last_change`). */
  readonly healed: readonly number[];
  /** Runs of two or more missing versions above the start: each times out once, and the operator skips it. */
  readonly gaps: readonly [number, number][];
  /** Every version the destination receives, in order. */
  readonly delivered: readonly number[];
  readonly baselined: boolean;
}

export function inOrderPlan(a: GapAccount): InOrderPlan {
  const leading = a.runs[0] && a.runs[0][0] === 1 && a.runs[0][1] > 1 ? a.runs[0] : undefined;
  const start = leading ? leading[1] + 1 : 1;
  const healed = a.runs.filter(([from, to]) => from === to).map(([from]) => from);
  const gaps = a.runs.filter(([from, to]) => to > from && from > 1);
  const delivered = versionsIn(start, a.n).filter((version) => !inRanges(gaps, version));
  return { start, healed, gaps, delivered, baselined: leading !== undefined };
}

/** Distinct sent versions above `version`: what waits, parked, behind a gap that ends there. */
export function sentAbove(a: GapAccount, version: number): number {
  return [...a.sent].filter((v) => v > version).length;
}

export function skipReason(accountId: string, gap: readonly [number, number]): string {
  return `lost upstream: ${accountId} ${gap[0]}-${gap[1]}`;
}
