import type { AccountImage } from '../accounts/account';

/** A delivery in flight: while it is live, no other engine delivers to this account. */
export interface Claim {
  readonly owner: string;
  /** The first version delivered under this claim. */
  readonly version: number;
  /** The last version this claim covers (a `per-batch` run); absent means `version` alone. */
  readonly through?: number;
  /** Milliseconds since the epoch; after this another engine may take over (and re-deliver this version). */
  readonly expiresAt: number;
}

/**
 * Everything the ledger knows about one account for one destination in one epoch.
 *
 * `version` is the watermark: the highest version delivered with nothing missing below it (for `latest-state`: the
 * highest version delivered). Every change to this item is a conditional write on `revision`, so two engines can
 * never move it backwards or skip a version: the loser of a race re-reads and re-plans.
 */
export interface Watermark {
  readonly accountId: string;
  readonly version: number;
  readonly revision: number;
  /** `every-version`: versions delivered above the watermark, so a redelivery of one is skipped. */
  readonly ahead: readonly number[];
  /** `in-order`: versions parked in the ledger, waiting for a predecessor. */
  readonly parked: readonly number[];
  /** Versions sent to the dead-letter queue and not delivered since; any later copy is delivered again. */
  readonly deadLettered: readonly number[];
  /** The new image of `version`, when known: the old image of a healed change. */
  readonly lastImage?: AccountImage;
  readonly claim?: Claim;
  /** Milliseconds since the epoch at which the account started waiting for a missing version. */
  readonly gapSince?: number;
  /** Versions at or below the floor precede this epoch's window (a first-seen start or a baseline). */
  readonly floor?: number;
  readonly updatedAt: number;
}

/**
 * A watermark with no history. Every optional field is present (as undefined) and stays present through every
 * change, so all watermarks share one object shape: the engine copies them on every step, and that stays cheap.
 */
export function emptyWatermark(accountId: string): Watermark {
  return {
    accountId,
    version: 0,
    revision: 0,
    ahead: [],
    parked: [],
    deadLettered: [],
    lastImage: undefined,
    claim: undefined,
    gapSince: undefined,
    floor: undefined,
    updatedAt: 0,
  };
}

/** The highest version reachable from `from` without a hole, given the versions in `present`. */
export function contiguousFrom(from: number, present: ReadonlySet<number>): number {
  let version = from;
  while (present.has(version + 1)) version += 1;
  return version;
}

export function sortedUnique(values: Iterable<number>): number[] {
  return [...new Set(values)].sort((a, b) => a - b);
}

/** True when the account has never been started in this epoch: nothing delivered, no floor. */
export function isUnstarted(watermark: Watermark): boolean {
  return watermark.version === 0 && watermark.floor === undefined && watermark.ahead.length === 0;
}
