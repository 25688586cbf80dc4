import type { ChangeRecord } from '../change-record/change-record';
import { beforeBaseline, judgeDelivered, mayFollow, versionReused, withRecent, withRecentAll, type ContractBreach } from './contract';
import { changeDigest } from './change-digest';
import { isHealedRecord } from './heal';
import { NO_VERSIONS } from './lazy-collections';
import { MAX_HEAL_MARKS, MAX_RANGES, MAX_SKIP_NOTES, MAX_SKIP_REASON_LENGTH } from './limits';
import {
  addVersions,
  capRanges,
  hasVersion,
  lowestVersion,
  removeVersions,
} from './version-ranges';
import { belowFloor } from './window';
import { patched, type Watermark } from './watermark';
import { heldByAnother } from './home-lane-rules';

/**
 * The transitions of `in-order`, free of I/O: how each event changes an account's watermark (what a run does next is
 * `nextInOrderStep`, in-order-steps.ts). `InOrderRun` carries them out against the ledger, the destination and the
 * queue. The states these rules move an account between are named in `account-state.ts` (and tabled in the README).
 */

/**
 * `record` was delivered (or healed): the watermark moves to it. Progress restarts the gap clock. On the account's
 * home lane `homeActiveAt` is when the home delivered.
 */
export function delivered(w: Watermark, record: ChangeRecord, healed: boolean, homeActiveAt = w.homeActiveAt): Watermark {
  const version = record.version;
  return movedTo(
    w,
    record,
    removeVersions(w.parked, version),
    removeVersions(w.owed, version),
    Math.max(w.newestCreatedAt ?? 0, record.createdAtMicros),
    healed ? remember(w.heals, { version, digest: changeDigest(record) }, MAX_HEAL_MARKS) : w.heals,
    withRecent(w.recent, record, healed),
    homeActiveAt,
  );
}

/**
 * A plain run (`isPlainRun`) was delivered: the watermark `delivered` gives after each of its records in turn, as one
 * watermark, not one per version.
 */
export function deliveredRun(w: Watermark, records: readonly ChangeRecord[], homeActiveAt = w.homeActiveAt): Watermark {
  const first = records[0] as ChangeRecord;
  const last = records[records.length - 1] as ChangeRecord;
  let newestCreatedAt = w.newestCreatedAt ?? 0;
  for (const record of records) newestCreatedAt = Math.max(newestCreatedAt, record.createdAtMicros);
  return movedTo(
    w,
    last,
    removeVersions(w.parked, first.version, last.version),
    removeVersions(w.owed, first.version, last.version),
    newestCreatedAt,
    w.heals,
    withRecentAll(w.recent, records, NO_VERSIONS),
    homeActiveAt,
  );
}

/**
 * Whether the batch's `records` (ascending, one per version) are a plain run: they continue `w` one version after
 * another, and none is a heal, breaks the chain or reuses a version; nothing is parked and no other engine's claim
 * is live. The steps (`nextInOrderStep`) would deliver each of them in turn and then be done, so a run with the right
 * to deliver them may plan them at once (`deliveredRun`).
 */
export function isPlainRun(w: Watermark, records: readonly ChangeRecord[], owner: string, now: number): boolean {
  if (records.length === 0 || w.parked.length > 0) return false;
  if (heldByAnother(w.claim, owner, now)) return false;
  let version = w.version;
  let lastKind = w.lastKind;
  for (const record of records) {
    if (record.version !== version + 1 || isHealedRecord(record) || !mayFollow(lastKind, record.kind)) return false;
    if (versionReused(w, record) !== undefined) return false;
    version = record.version;
    lastKind = record.kind;
  }
  return true;
}

/**
 * What a record of a version at or below the watermark is: a copy of what was delivered (a duplicate), or a breach: a
 * reused version, a version the account's start or an operator's skip passed over (BEFORE_BASELINE), a version
 * written twice or differing from its heal (`judgeDelivered`).
 */
export function judgedBelow(w: Watermark, record: ChangeRecord): 'duplicate' | ContractBreach {
  const reused = versionReused(w, record);
  if (reused) return reused;
  const version = record.version;
  if (!hasVersion(w.skipped, version)) return judgeDelivered(w, record);
  return beforeBaseline(w, record, w.skips.some((note) => note.from <= version && version <= note.to) ? 'skip' : 'baseline');
}

/**
 * How many of the batch's leading `records` (ascending, one per version) are copies of versions `w` has delivered: the
 * stream's duplicates, which lead many batches. Judged (`judgedBelow`), each is settled as a duplicate and changes
 * nothing else, so the records after them may still be a plain run (`isPlainRun`). Undefined when one of them is a
 * breach, for the judge to letter.
 */
export function leadingCopies(w: Watermark, records: readonly ChangeRecord[]): number | undefined {
  let count = 0;
  for (; count < records.length; count += 1) {
    const record = records[count] as ChangeRecord;
    if (record.version > w.version) break;
    if (judgedBelow(w, record) !== 'duplicate') return undefined;
  }
  return count;
}

/**
 * The watermark moved to `record`, with what that changes besides the record's own fields. One literal of every field,
 * in `emptyWatermark`'s order, and no object of arguments: this runs for every delivered version, and a patch applied
 * with `patched` was a second object of half the watermark's size (the unit tests check that every other field is
 * carried over).
 */
function movedTo(
  w: Watermark,
  record: ChangeRecord,
  parked: Watermark['parked'],
  owed: Watermark['owed'],
  newestCreatedAt: number,
  heals: Watermark['heals'],
  recent: Watermark['recent'],
  homeActiveAt: number | undefined,
): Watermark {
  return {
    accountId: w.accountId,
    version: record.version,
    revision: w.revision,
    ahead: w.ahead,
    parked,
    owed,
    skipped: w.skipped,
    lastImage: record.newImage,
    lastKind: record.kind,
    newestCreatedAt,
    heals,
    recent,
    skips: w.skips,
    claim: w.claim,
    home: w.home,
    homeActiveAt,
    homeCandidate: w.homeCandidate,
    gapSince: undefined,
    gapNotice: undefined,
    floor: w.floor,
    updatedAt: w.updatedAt,
  };
}

/**
 * `versions` were parked. Undefined when that would fragment the parked set beyond `MAX_RANGES`: the record is then
 * dead-lettered as PARK_LIMIT instead.
 */
export function parked(w: Watermark, version: number): Watermark | undefined {
  const next = addVersions(w.parked, version);
  if (next.length > MAX_RANGES) return undefined;
  return next === w.parked ? w : patched(w, { parked: next });
}

/** `versions` went to the dead-letter queue instead of the destination: the account owes them (blocked on failure). */
export function owedVersions(w: Watermark, versions: readonly number[]): Watermark {
  let owed = w.owed;
  let parkedSet = w.parked;
  for (const version of versions) {
    if (version <= w.version) continue;
    owed = addVersions(owed, version);
    parkedSet = removeVersions(parkedSet, version);
  }
  return owed === w.owed && parkedSet === w.parked ? w : patched(w, { owed: capRanges(owed, MAX_RANGES), parked: parkedSet });
}

/** A replay epoch's account starts at `floor`; `record` (its first version in the window) gives the image there. */
export function started(w: Watermark, floor: number, record: ChangeRecord): Watermark {
  return patched(w, {
    version: floor,
    floor,
    skipped: capRanges(belowFloor(w, floor, w.skipped), MAX_RANGES),
    lastImage: record.oldImage,
    lastKind: undefined,
  });
}

/** After the maximum gap age, an account that never started starts right below its lowest waiting version. */
export function baselined(w: Watermark, from: ChangeRecord): Watermark {
  return patched(started(w, from.version - 1, from), { gapSince: undefined, gapNotice: undefined });
}

/** A replay epoch's record from before the window raised the floor of an account that has no start yet. */
export function floorRaised(w: Watermark, floor: number): Watermark {
  return patched(w, { version: floor, floor, skipped: capRanges(belowFloor(w, floor, w.skipped), MAX_RANGES) });
}

/**
 * The GAP_TIMEOUT notice for `from..to`: written `pending` before it is sent (so one engine sends it), then marked sent.
 * No other notice until the gap changes.
 */
export function gapTimedOut(w: Watermark, from: number, to: number, at: number, pending: boolean): Watermark {
  return patched(w, { gapNotice: pending ? { from, to, at, pending } : { from, to, at } });
}

/** Why an operator's skip cannot be applied. */
export type SkipRefusal = { readonly refused: string };

/**
 * An operator gives up on versions watermark+1..`through`: they become skipped (a late copy is dead-lettered as
 * BEFORE_BASELINE), the note and its reason stay with the account, and delivery resumes at `through`+1. Refused when
 * there is nothing to skip, or when the range holds a parked record (skipping it would drop a change we have).
 */
export function skippedGap(w: Watermark, through: number, reason: string, at: number): Watermark | SkipRefusal {
  const from = w.version + 1;
  if (!Number.isSafeInteger(through) || through < from) {
    return { refused: `the account is at version ${w.version}: skip through a version from ${from} on` };
  }
  const lowestParked = lowestVersion(w.parked);
  if (lowestParked !== undefined && lowestParked <= through) {
    return { refused: `version ${lowestParked} is parked, waiting to be delivered: skip through version ${lowestParked - 1} at most` };
  }
  // Cut by characters, not UTF-16 units, so a reason at the limit stays valid text.
  const note = { from, to: through, reason: Array.from(reason).slice(0, MAX_SKIP_REASON_LENGTH).join(''), at };
  return patched(w, {
    version: through,
    owed: removeVersions(w.owed, from, through),
    skipped: capRanges(addVersions(w.skipped, from, through), MAX_RANGES),
    skips: remember(w.skips, note, MAX_SKIP_NOTES),
    lastImage: undefined,
    lastKind: undefined,
    gapSince: undefined,
    gapNotice: undefined,
  });
}

export function isSkipRefusal(value: Watermark | SkipRefusal): value is SkipRefusal {
  return 'refused' in value;
}

/** A list that keeps its newest `max` entries. */
function remember<T>(list: readonly T[], entry: T, max: number): readonly T[] {
  const next = [...list, entry];
  return next.length > max ? next.slice(next.length - max) : next;
}

/**
 * The gap clock runs exactly while records are parked, from when the account began to wait; a notice belongs to the
 * gap it was sent for, and progress past that gap retires it.
 */
export function withGapClock(w: Watermark, now: number): Watermark {
  const waiting = w.parked.length > 0;
  const gapSince = waiting ? (w.gapSince ?? now) : undefined;
  const gapNotice = waiting && w.gapNotice?.from === w.version + 1 ? w.gapNotice : undefined;
  return gapSince === w.gapSince && gapNotice === w.gapNotice ? w : patched(w, { gapSince, gapNotice });
}
