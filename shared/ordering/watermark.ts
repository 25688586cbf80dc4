import type { AccountImage } from '../accounts/account';
import type { ChangeKind } from '../change-record/change-record';
import { NO_VERSIONS, highestVersion, type VersionRange, type VersionRanges } from './version-ranges';

/**
 * The owner of a fence: a claim nobody holds, written by an engine that found the account homed on another lane. Until
 * it expires no engine delivers (the home lane may still be finishing a delivery it began before the fence); then any
 * engine may claim the account.
 */
export const FENCE_OWNER = '(fence)';

/** A delivery in flight: while it is live, no other engine delivers to this account. */
export interface Claim {
  readonly owner: string;
  /** Unique per claim taken: the fencing token. A run whose token is gone from the ledger has lost its claim. */
  readonly token: string;
  /** The first version delivered under this claim. */
  readonly version: number;
  /** The last version this claim covers (a `per-batch` run); absent means `version` alone. */
  readonly through?: number;
  /** Milliseconds since the epoch; after this another engine may take over (and re-deliver this version). */
  readonly expiresAt: number;
}

/** A version that was rebuilt from its neighbours, remembered so that its real record can be checked when it comes. */
export interface HealMark {
  readonly version: number;
  /** `imageDigest` of the old image the heal assumed. */
  readonly digest: string;
}

/**
 * A version recently delivered as a real change, with that change's creation time (µs): its identity; and its kind,
 * so a watermark that moves onto it later (over versions delivered ahead of it) still knows what it was (a deletion).
 * Absent from entries written by earlier releases.
 */
export interface RecentDelivery {
  readonly version: number;
  readonly createdAt: number;
  readonly kind?: ChangeKind;
}

/** An operator's `--skip-gap`, kept with the account: what was given up on, why, and when. */
export interface SkipNote {
  readonly from: number;
  readonly to: number;
  readonly reason: string;
  readonly at: number;
}

/**
 * The GAP_TIMEOUT notice for the account's current gap: one notice per gap, never one per record. It is written as
 * `pending` before it is sent, so of two engines that find the gap timed out only the one whose write wins sends it;
 * a notice left pending (a crash after the write) is sent again by the next sweep.
 */
export interface GapNotice {
  readonly from: number;
  readonly to: number;
  readonly at: number;
  readonly pending?: boolean;
}

/**
 * Everything the ledger knows about one account for one destination in one epoch.
 *
 * `version` is the watermark: the highest version with nothing unaccounted for at or below it (for `latest-state`: the
 * highest version delivered). Every change to this item is a conditional write on `revision`, so two engines can never
 * move it backwards or skip a version: the loser of a race re-reads and re-plans.
 *
 * All version sets are ranges and every list is capped (see `limits.ts`), so the item stays far below DynamoDB's
 * 400 KB whatever the stream does.
 */
export interface Watermark {
  readonly accountId: string;
  readonly version: number;
  readonly revision: number;
  /** `every-version`: versions delivered above the watermark, so a redelivery of one is skipped. */
  readonly ahead: VersionRanges;
  /** `in-order`: versions parked in the ledger, waiting for a predecessor. */
  readonly parked: VersionRanges;
  /**
   * Versions the destination does not have although they are accounted for: dead-lettered, timed out, or (for
   * `every-version`) before the account's baseline. Any copy that arrives is delivered. `in-order` waits for an owed
   * watermark+1 without ever timing it out (blocked on failure) until it is redriven or skipped.
   */
  readonly owed: VersionRanges;
  /** `in-order`: versions at or below the watermark that were never delivered (baseline, operator skips). */
  readonly skipped: VersionRanges;
  /** The new image of `version`, when known: the old image of a healed change. */
  readonly lastImage?: AccountImage;
  /** What the change at `version` did; after a REMOVE only an INSERT may follow. */
  readonly lastKind?: ChangeKind;
  /** The newest creation time (µs) among the delivered changes: a lower version created later reuses a version. */
  readonly newestCreatedAt?: number;
  readonly heals: readonly HealMark[];
  /** The last versions delivered as real changes: a different change of one of them is a version written twice. */
  readonly recent: readonly RecentDelivery[];
  readonly skips: readonly SkipNote[];
  readonly claim?: Claim;
  /**
   * `in-order`: the stream lane (a shard of one mapping) that delivers this account without claiming first. Lambda
   * runs one batch at a time for an account's partition key on its shard, so the home lane needs no claim write; any
   * other engine fences the home lane off first (see `FENCE_OWNER`).
   */
  readonly home?: string;
  /** When the home lane last delivered (ms): a lane whose home has gone quiet fences it off rather than wait for it. */
  readonly homeActiveAt?: number;
  /**
   * The lane of the last claimed commit while the account has no home: a lane becomes the home on its second claimed
   * commit in a row, so a duplicate that reached another shard before the original does not make that shard the home.
   */
  readonly homeCandidate?: string;
  /** Milliseconds since the epoch at which the account started waiting for a missing version. */
  readonly gapSince?: number;
  readonly gapNotice?: GapNotice;
  /** Versions at or below the floor precede this epoch's window (a replay's start or a baseline). */
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
    ahead: NO_VERSIONS,
    parked: NO_VERSIONS,
    owed: NO_VERSIONS,
    skipped: NO_VERSIONS,
    lastImage: undefined,
    lastKind: undefined,
    newestCreatedAt: undefined,
    heals: [],
    recent: [],
    skips: [],
    claim: undefined,
    home: undefined,
    homeActiveAt: undefined,
    homeCandidate: undefined,
    gapSince: undefined,
    gapNotice: undefined,
    floor: undefined,
    updatedAt: 0,
  };
}

/**
 * `w` with the fields of `patch` replaced (a field given as undefined is cleared). A copy written out as one literal of
 * every field, in `emptyWatermark`'s order, then the patch assigned over it: the engine derives a watermark per
 * delivered version, and V8's object spread of a watermark costs several times this (see the README, *Where the time
 * goes*). A field added to `Watermark` must be added here too, and to the two other full literals, `delivered`
 * (in-order-rules) and `settled` (every-version-rules): the compiler misses an optional field left out, their unit
 * tests do not.
 */
export function patched(w: Watermark, patch: Partial<Watermark>): Watermark {
  const copy: Watermark = {
    accountId: w.accountId,
    version: w.version,
    revision: w.revision,
    ahead: w.ahead,
    parked: w.parked,
    owed: w.owed,
    skipped: w.skipped,
    lastImage: w.lastImage,
    lastKind: w.lastKind,
    newestCreatedAt: w.newestCreatedAt,
    heals: w.heals,
    recent: w.recent,
    skips: w.skips,
    claim: w.claim,
    home: w.home,
    homeActiveAt: w.homeActiveAt,
    homeCandidate: w.homeCandidate,
    gapSince: w.gapSince,
    gapNotice: w.gapNotice,
    floor: w.floor,
    updatedAt: w.updatedAt,
  };
  return Object.assign(copy, patch);
}

/** `w` as written at `revision`: `patched` without a patch object (every account of every batch is written). */
export function revised(w: Watermark, revision: number, updatedAt: number): Watermark {
  const copy: { -readonly [K in keyof Watermark]: Watermark[K] } = patched(w, NO_PATCH);
  copy.revision = revision;
  copy.updatedAt = updatedAt;
  return copy;
}

const NO_PATCH: Partial<Watermark> = Object.freeze({});

/** The highest version the destination is known to have been given (the watermark or above it). */
export function topDelivered(watermark: Watermark): number {
  return Math.max(watermark.version, highestVersion(watermark.ahead) ?? 0);
}

export type { VersionRange, VersionRanges };
