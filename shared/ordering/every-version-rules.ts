import type { ChangeRecord } from '../change-record/change-record';
import { recentKind, withRecentAll } from './contract';
import { changeDigest } from './change-digest';
import { MAX_HEAL_MARKS, MAX_RANGES, MAX_SKIP_NOTES, MAX_SKIP_REASON_LENGTH } from './limits';
import {
  above,
  addVersions,
  capRanges,
  hasVersion,
  highestVersion,
  holesBetween,
  lowestVersion,
  rangeOf,
  removeVersions,
  unionVersions,
  NO_VERSIONS,
  describeVersions,
  type VersionRanges,
} from './version-ranges';
import { belowFloor, hasNoStart } from './window';
import { patched, type Watermark } from './watermark';

/**
 * The rules of `every-version`, free of I/O. The account never waits: every version goes out when it arrives. The
 * watermark is bookkeeping: the highest version with everything at or below it delivered or owed (dead-lettered, timed
 * out, before the account's baseline), with what was delivered above it kept in `ahead` and what is owed in `owed`, so
 * a copy of a delivered version is skipped and a copy of an owed one is delivered, however late.
 */

/** True when the destination has `version`, as far as the ledger knows (a version written off it does not have). */
export function isDelivered(w: Watermark, version: number): boolean {
  if (hasVersion(w.ahead, version)) return true;
  return version <= w.version && !hasVersion(w.owed, version) && (w.skipped.length === 0 || !hasVersion(w.skipped, version));
}

/** What an operator's write-off came to: the versions written off, or why nothing was. */
export type WriteOffOutcome = { readonly writtenOff: VersionRanges } | { readonly refused: string };

/**
 * An operator accepts versions as lost (`fanout redrive --acknowledge`): those of `versions` the account owes are
 * written off (moved to `skipped`, with a note and its reason), so status and reconcile stop counting them missing. A
 * copy that turns up later is still delivered (`isDelivered`). Versions not owed (delivered since, or not yet given up
 * on) are left as they are; when none is owed, nothing changes.
 */
export function writtenOff(w: Watermark, versions: VersionRanges, reason: string, at: number): { readonly watermark: Watermark; readonly written: VersionRanges } | { readonly refused: string } {
  let written: VersionRanges = NO_VERSIONS;
  for (const [from, to] of versions) {
    const inside = removeVersions(removeVersions(w.owed, 0, from - 1), to + 1, Number.MAX_SAFE_INTEGER);
    written = unionVersions(written, inside);
  }
  const lowest = lowestVersion(written);
  const highest = highestVersion(written);
  if (lowest === undefined || highest === undefined) {
    return { refused: `the account owes none of versions ${describeVersions(versions)}: delivered since, or not given up on yet` };
  }
  let owed = w.owed;
  let skipped = w.skipped;
  for (const [from, to] of written) {
    owed = removeVersions(owed, from, to);
    skipped = addVersions(skipped, from, to);
  }
  // Cut by characters, not UTF-16 units, so a reason at the limit stays valid text.
  const note = { from: lowest, to: highest, reason: Array.from(reason).slice(0, MAX_SKIP_REASON_LENGTH).join(''), at };
  const skips = [...w.skips, note].slice(-MAX_SKIP_NOTES);
  // Written off above the watermark (owed there behind a hole), the versions let it move on as owed ones do.
  return { watermark: withGapClock(advance(patched(w, { owed, skipped: capRanges(skipped, MAX_RANGES), skips })), at), written };
}

/** True when nothing right above the account's start has been settled: it may still be baselined (the window rule). */
export const neverStarted = hasNoStart;

/** What one batch settled for the account. */
export interface Settled {
  /** Records the destination accepted (or already held), one per version, in ascending version order. */
  readonly delivered: readonly ChangeRecord[];
  /** Versions among them that were healed. */
  readonly healed: ReadonlySet<number>;
  /** Versions whose delivery failed and whose letters are stored: owed. */
  readonly lettered: readonly number[];
}

/** Merges what a batch settled into the watermark; the watermark only ever moves forward. */
export function settled(w: Watermark, batch: Settled, now: number): Watermark {
  const delivered = batch.delivered;
  let ahead = w.ahead;
  let owed = w.owed;
  let skipped = w.skipped;
  // Where the watermark moves over what was delivered right above it: those runs never enter `ahead`.
  let top = w.version;
  // One range operation per run of consecutive versions, not one per version: a hot batch is a few runs.
  for (let start = 0; start < delivered.length; ) {
    let end = start;
    while (end + 1 < delivered.length && (delivered[end + 1] as ChangeRecord).version === (delivered[end] as ChangeRecord).version + 1) end += 1;
    const from = (delivered[start] as ChangeRecord).version;
    const to = (delivered[end] as ChangeRecord).version;
    if (from <= top + 1) top = Math.max(top, to);
    else if (to > w.version) ahead = addVersions(ahead, Math.max(from, w.version + 1), to);
    if (owed.length > 0) owed = removeVersions(owed, from, to);
    // A late copy of a version written off: the destination has it after all.
    if (skipped.length > 0) skipped = removeVersions(skipped, from, to);
    start = end + 1;
  }
  let newest = w.newestCreatedAt;
  let heals = w.heals;
  for (const record of delivered) {
    const version = record.version;
    if (record.createdAtMicros > (newest ?? 0)) newest = record.createdAtMicros;
    if (batch.healed.has(version) && !heals.some((mark) => mark.version === version)) {
      heals = [...heals, { version, digest: changeDigest(record) }].slice(-MAX_HEAL_MARKS);
    }
  }
  const recent = withRecentAll(w.recent, delivered, batch.healed);
  for (const version of batch.lettered) owed = addVersions(owed, version);
  owed = capRanges(owed, MAX_RANGES);
  // One copy of the watermark for the whole batch: the move over what was settled and the gap clock are worked out
  // first (a copy per step was most of this function's cost).
  const accounted = skipped.length === 0 ? owed : unionVersions(owed, skipped);
  const version = advancedVersion(top, ahead, accounted);
  let { lastImage, lastKind } = w;
  if (version !== w.version) {
    ahead = above(ahead, version);
    const at = delivered.find((record) => record.version === version);
    lastImage = at?.newImage;
    // Delivered ahead in an earlier batch: its image is gone, its kind is remembered (a deletion stays known).
    lastKind = at ? at.kind : recentKind(recent, version);
  }
  const holes = ahead.length > 0 && hasHoles(version, ahead, accounted);
  const gapSince = holes ? (w.gapSince ?? now) : undefined;
  const gapNotice = holes ? w.gapNotice : undefined;
  // One literal of every field, in `emptyWatermark`'s order, rather than a patch applied with `patched`: this runs for
  // every account of every batch, and the patch was a second object of half the watermark's size.
  return {
    accountId: w.accountId,
    version,
    revision: w.revision,
    ahead,
    parked: w.parked,
    owed,
    skipped,
    lastImage,
    lastKind,
    newestCreatedAt: newest,
    heals,
    recent,
    skips: w.skips,
    claim: w.claim,
    home: w.home,
    homeActiveAt: w.homeActiveAt,
    homeCandidate: w.homeCandidate,
    gapSince,
    gapNotice,
    floor: w.floor,
    updatedAt: w.updatedAt,
  };
}

/** Versions the watermark may pass without the destination having them: owed, or written off by an operator. */
function accountedOf(w: Watermark): VersionRanges {
  return w.skipped.length === 0 ? w.owed : unionVersions(w.owed, w.skipped);
}

/** The version the watermark moves to over every version right above `version` that is delivered (`ahead`) or owed. */
function advancedVersion(version: number, ahead: VersionRanges, owed: VersionRanges): number {
  for (;;) {
    const end = Math.max(rangeOf(ahead, version + 1)?.[1] ?? version, rangeOf(owed, version + 1)?.[1] ?? version);
    if (end === version) return version;
    version = end;
  }
}

/**
 * Moves the watermark over every version right above it that is delivered or owed. The image at the new watermark is
 * not known here (the caller that delivered it sets it).
 */
function advance(w: Watermark): Watermark {
  const version = advancedVersion(w.version, w.ahead, accountedOf(w));
  if (version === w.version) return w;
  return patched(w, { version, ahead: above(w.ahead, version), owed: capRanges(w.owed, MAX_RANGES), lastImage: undefined, lastKind: recentKind(w.recent, version) });
}

/** The versions between the watermark and the highest delivered one that are neither delivered nor owed. */
export function holesOf(w: Watermark): VersionRanges {
  const top = highestVersion(w.ahead);
  if (top === undefined) return NO_VERSIONS;
  return holesBetween(unionVersions(w.ahead, above(accountedOf(w), w.version)), w.version + 1, top);
}

/** True when some version between `version` and the highest delivered one is neither delivered nor owed. */
function hasHoles(version: number, ahead: VersionRanges, owed: VersionRanges): boolean {
  const top = highestVersion(ahead);
  return top !== undefined && holesBetween(unionVersions(ahead, above(owed, version)), version + 1, top).length > 0;
}

/** The gap clock runs exactly while there are holes below what was delivered; a notice belongs to its holes. */
function withGapClock(w: Watermark, now: number): Watermark {
  const holes = w.ahead.length > 0 && hasHoles(w.version, w.ahead, accountedOf(w));
  const gapSince = holes ? (w.gapSince ?? now) : undefined;
  const gapNotice = holes ? w.gapNotice : undefined;
  return gapSince === w.gapSince && gapNotice === w.gapNotice ? w : patched(w, { gapSince, gapNotice });
}

/**
 * Holes given up on (after the maximum gap age, or because `ahead` grew past its bound): they become owed, so the
 * watermark moves over them and a copy that turns up later is still delivered.
 */
export function gapTimedOut(w: Watermark, holes: VersionRanges, now: number): Watermark {
  let owed = w.owed;
  for (const [from, to] of holes) owed = addVersions(owed, from, to);
  return withGapClock(advance(patched(w, { owed, gapSince: undefined, gapNotice: undefined })), now);
}

/**
 * After the maximum gap age, an account that never saw its first version (its history predates the pipeline, or a
 * replay's start never came) starts right below its lowest delivered version. The versions below are owed: one that
 * turns up later is delivered, never dropped.
 */
export function baselined(w: Watermark, now: number): Watermark {
  const lowest = lowestVersion(w.ahead);
  if (lowest === undefined) return w;
  return startedAt(w, lowest - 1, w.lastImage, now);
}

/** The account's start (a replay's first version in the window, or a baseline) is right above `floor`. */
export function startedAt(w: Watermark, floor: number, image: Watermark['lastImage'], now: number): Watermark {
  if (floor <= (w.floor ?? 0) && w.floor !== undefined) return w;
  const owed = capRanges(belowFloor(w, floor, w.owed), MAX_RANGES);
  return withGapClock(advance(patched(w, { floor, version: Math.max(w.version, floor), owed, lastImage: image, lastKind: undefined })), now);
}
