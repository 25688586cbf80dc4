import type { AccountImage } from '../accounts/account';
import type { ChangeRecord } from '../change-record/change-record';
import type { Epoch } from './delivery-mode';
import { above, addVersions, lowestVersion, type VersionRanges } from './version-ranges';
import type { Watermark } from './watermark';

/**
 * Where an account's history starts in an epoch, decided by the records' own times, never by the order they arrive in.
 *
 * A change's time is the `updated_at` its write set (the writer library sets it in the same conditional write that
 * raises the version), or `ApproximateCreationDateTime` when the image has none (a deletion). The record of version
 * v carries the image of v-1 as its old image, so it also tells the time of v-1: if that is before the replay's start
 * (or v is the account's first version), v is the first version of the window, whatever arrived before it.
 *
 * The floor is the highest version known to precede the window. Until something above it is delivered the account
 * has no start yet, and a record from before the window may still raise the floor.
 */

/** Microseconds since the epoch of the change that `record` is. */
export function changeTimeMicros(record: ChangeRecord): number {
  return imageTimeMicros(record.newImage) ?? record.createdAtMicros;
}

/**
 * Microseconds since the epoch of the change before `record` (the one that wrote its old image), when the record
 * says: -Infinity for an account's first version, undefined when unknown (no old image time, or a re-creation whose
 * predecessor is a deletion).
 */
export function predecessorTimeMicros(record: ChangeRecord): number | undefined {
  if (record.previousVersion === 0) return Number.NEGATIVE_INFINITY;
  return imageTimeMicros(record.oldImage);
}

function imageTimeMicros(image: AccountImage | undefined): number | undefined {
  const text = image?.updated_at;
  if (typeof text !== 'string') return undefined;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms * 1000 : undefined;
}

/**
 * `latest-state`: a change from before a replay's start is outside the window, whatever its version (only the newest
 * state matters, so no account needs a start: each takes the newest change of the window).
 */
export function isBeforeReplayStart(epoch: Epoch, record: ChangeRecord): boolean {
  return epoch.from !== undefined && changeTimeMicros(record) < epoch.from;
}

/** True while nothing right above the account's floor has been delivered: where its history starts is still open. */
export function hasNoStart(w: Watermark): boolean {
  return w.version <= (w.floor ?? 0);
}

/** The lowest version delivered in this epoch above the floor (in order, or ahead of a gap), if any. */
function lowestDelivered(w: Watermark): number {
  const inOrder = w.version > (w.floor ?? 0) ? (w.floor ?? 0) + 1 : Number.POSITIVE_INFINITY;
  return Math.min(inOrder, lowestVersion(w.ahead) ?? Number.POSITIVE_INFINITY);
}

/**
 * The floor a replay epoch's account starts at, when `record` proves it: the record is in the window and its
 * predecessor is not (or it has none). Undefined when the record proves nothing new, or the account already has a
 * start. A live epoch (no `from`) starts every account at version 1 and needs no floor.
 */
export function windowStartFor(epoch: Epoch, w: Watermark, record: ChangeRecord): number | undefined {
  if (epoch.from === undefined || !hasNoStart(w)) return undefined;
  if (changeTimeMicros(record) < epoch.from) return undefined;
  const before = predecessorTimeMicros(record);
  if (before === undefined || before >= epoch.from) return undefined;
  const floor = record.version - 1;
  // Only a floor above the one the account has is news, and never one above a version delivered in the window.
  return floor > (w.floor ?? -1) && floor < lowestDelivered(w) ? floor : undefined;
}

/**
 * A record whose change happened before a replay epoch's start, at a version the epoch may skip: at or below the
 * account's floor, or below every version delivered in the window (changes of one item happen in version order, so
 * those all follow it). Never true in a live epoch: there, nothing is ever skipped as before the window.
 */
export function isBeforeWindow(epoch: Epoch, w: Watermark, record: ChangeRecord): boolean {
  if (epoch.from === undefined || changeTimeMicros(record) >= epoch.from) return false;
  return record.version <= (w.floor ?? 0) || record.version < lowestDelivered(w);
}

/**
 * The floor after a before-window record of an account whose start is still open: every version up to it precedes
 * the window, except that the floor never rises to a version waiting or delivered in the window. Undefined when it
 * does not rise.
 */
export function raisedFloor(w: Watermark, record: ChangeRecord, waiting: VersionRanges): number | undefined {
  if (!hasNoStart(w)) return undefined;
  // Owed versions at or below the floor are the window's own past (see belowFloor); those above it wait.
  const owedAbove = lowestVersion(above(w.owed, w.floor ?? 0)) ?? Number.POSITIVE_INFINITY;
  const limit = Math.min(lowestVersion(waiting) ?? Number.POSITIVE_INFINITY, owedAbove, lowestDelivered(w));
  const floor = Math.min(record.version, limit - 1);
  return floor > (w.floor ?? 0) ? floor : undefined;
}

/** `into` plus the versions between the old floor and `floor`: never delivered in this epoch. */
export function belowFloor(w: Watermark, floor: number, into: VersionRanges): VersionRanges {
  return addVersions(into, (w.floor ?? 0) + 1, floor);
}
