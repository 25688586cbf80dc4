import type { ChangeKind, ChangeRecord } from '../change-record/change-record';
import { isDigestOf } from './change-digest';
import { isHealedRecord } from './heal';
import { MAX_RECENT_DELIVERIES } from './limits';
import { OrderingError } from './errors';
import { topDelivered, type RecentDelivery, type Watermark } from './watermark';

/**
 * The version contract as the engine checks it, against what the ledger knows of an account. The decoder already
 * quarantines what a single record shows to be wrong (a MODIFY that does not raise the version by exactly 1); these
 * rules catch what only the account's history shows. A record that breaks one is dead-lettered with its reason,
 * never skipped as a duplicate and never delivered out of order.
 */

export type BreachReason = 'CONTRACT_BREACH' | 'HEAL_MISMATCH' | 'BEFORE_BASELINE';

/** A record that cannot be delivered because of what the account's history says. Carries account, version, position. */
export class ContractBreach extends OrderingError {
  constructor(
    readonly reason: BreachReason,
    message: string,
    readonly record: ChangeRecord,
  ) {
    super(message, record);
    this.name = 'ContractBreach';
  }
}

/**
 * Two changes claim one version: a record at or below the highest delivered version, created after the newest
 * delivered change. A duplicate is the same change and cannot have been created later than its successors, so this
 * is a version written again: an item deleted and re-created at an old version, or a writer that reused one.
 */
export function versionReused(w: Watermark, record: ChangeRecord): ContractBreach | undefined {
  const newest = w.newestCreatedAt;
  // A heal's creation time is borrowed from the next change: a heal that comes back is judged as one (judgeDelivered).
  if (newest === undefined || record.createdAtMicros <= newest || isHealedRecord(record)) return undefined;
  const top = topDelivered(w);
  if (record.version > top) return undefined;
  return new ContractBreach(
    'CONTRACT_BREACH',
    `version ${record.version} was written again: this change was created at ${isoMicros(record.createdAtMicros)}, after version ${top} (${isoMicros(newest)}); an item re-created after a deletion must continue from the tombstone's version + 1`,
    record,
  );
}

/**
 * What may follow the watermark in order: after a deletion (a tombstone) only the INSERT that re-creates the item;
 * after anything else never an INSERT (that would re-create an item that was never deleted, at a version it had).
 */
export function chainBroken(w: Watermark, record: ChangeRecord): ContractBreach | undefined {
  if (record.version !== w.version + 1 || mayFollow(w.lastKind, record.kind)) return undefined;
  if (w.lastKind === 'REMOVE') {
    return new ContractBreach(
      'CONTRACT_BREACH',
      `a ${record.kind} of version ${record.version} follows the deletion at version ${w.version}: after a tombstone only the INSERT that re-creates the item may follow`,
      record,
    );
  }
  return new ContractBreach(
    'CONTRACT_BREACH',
    `an INSERT of version ${record.version} follows a ${w.lastKind} at version ${w.version}: the item was created again without a deletion between`,
    record,
  );
}

/** The rule `chainBroken` holds a record to: whether a change of `kind` may follow one of `lastKind` (undefined: unknown). */
export function mayFollow(lastKind: ChangeKind | undefined, kind: ChangeKind): boolean {
  if (lastKind === undefined) return true;
  return lastKind === 'REMOVE' ? kind === 'INSERT' : kind !== 'INSERT';
}

/**
 * A real record of a version that was healed: the same change (a duplicate of the heal, and the mark is done), or a
 * different one, which means the heal delivered something that did not happen: HEAL_MISMATCH. Undefined when the
 * version was not healed (or its mark is no longer kept).
 */
export function checkHeal(w: Watermark, record: ChangeRecord): 'same' | ContractBreach | undefined {
  if (w.heals.length === 0) return undefined;
  const mark = w.heals.find((heal) => heal.version === record.version);
  if (mark === undefined) return undefined;
  if (isDigestOf(mark.digest, record)) return 'same';
  return new ContractBreach(
    'HEAL_MISMATCH',
    `version ${record.version} was healed from its neighbours, and the real change differs from the heal: the destination holds the healed version`,
    record,
  );
}

/**
 * What a record of a version the destination already has is: a copy (duplicate), or a different change of that
 * version. Copies carry the change's own creation time; a recently delivered version whose creation time differs was
 * written twice (CONTRACT_BREACH), and a real record that differs from a heal is a HEAL_MISMATCH. A heal coming back
 * (a redriven letter) is a copy of whatever was delivered.
 */
export function judgeDelivered(w: Watermark, record: ChangeRecord): 'duplicate' | ContractBreach {
  if (isHealedRecord(record)) return 'duplicate';
  const heal = checkHeal(w, record);
  if (heal !== undefined) return heal === 'same' ? 'duplicate' : heal;
  const delivered = w.recent.find((entry) => entry.version === record.version);
  if (delivered === undefined || delivered.createdAt === record.createdAtMicros) return 'duplicate';
  return new ContractBreach(
    'CONTRACT_BREACH',
    `version ${record.version} was delivered as a change created at ${isoMicros(delivered.createdAt)}; this is another change of that version, created at ${isoMicros(record.createdAtMicros)}: a version written twice`,
    record,
  );
}

/** `second` is another change of a version `first` already holds (another event id): a version written twice. */
export function writtenTwice(first: ChangeRecord, second: ChangeRecord): ContractBreach {
  return new ContractBreach(
    'CONTRACT_BREACH',
    `version ${second.version} arrived as two different changes (event ${first.eventId} first, then this one, ${second.eventId}): a version written twice`,
    second,
  );
}

export function withRecent(recent: readonly RecentDelivery[], record: ChangeRecord, healed: boolean): readonly RecentDelivery[] {
  if (healed || isHealedRecord(record)) return recent;
  const entry = { version: record.version, createdAt: record.createdAtMicros, kind: record.kind };
  const last = recent[recent.length - 1];
  // The common case, in version order: append, dropping the oldest past the bound.
  if (last === undefined || last.version < record.version) {
    if (recent.length < MAX_RECENT_DELIVERIES) return [...recent, entry];
    // Full: one new array (a slice then a spread made two, for every delivered record of a busy account).
    const next = new Array<RecentDelivery>(MAX_RECENT_DELIVERIES);
    for (let index = 1; index < MAX_RECENT_DELIVERIES; index += 1) next[index - 1] = recent[recent.length - MAX_RECENT_DELIVERIES + index] as RecentDelivery;
    next[MAX_RECENT_DELIVERIES - 1] = entry;
    return next;
  }
  const next = [...recent.filter((other) => other.version !== record.version), entry];
  return next.length > MAX_RECENT_DELIVERIES ? next.slice(next.length - MAX_RECENT_DELIVERIES) : next;
}

/**
 * `withRecent` for the records one batch delivered, ascending (`healed` holds the versions that were heals): one new
 * list when two or more of them follow the list's last entry, the common case, rather than a copy per record.
 */
export function withRecentAll(recent: readonly RecentDelivery[], records: readonly ChangeRecord[], healed: ReadonlySet<number>): readonly RecentDelivery[] {
  let real = 0;
  let last = recent.length > 0 ? (recent[recent.length - 1] as RecentDelivery).version : Number.NEGATIVE_INFINITY;
  for (const record of records) {
    if (healed.has(record.version) || isHealedRecord(record)) continue;
    if (record.version <= last) return oneByOne(recent, records, healed);
    last = record.version;
    real += 1;
  }
  if (real < 2) return oneByOne(recent, records, healed);
  const next = new Array<RecentDelivery>(Math.min(MAX_RECENT_DELIVERIES, recent.length + real));
  // Filled from the newest end: the batch's records, then what is left of the list.
  let at = next.length;
  for (let index = records.length - 1; index >= 0 && at > 0; index -= 1) {
    const record = records[index] as ChangeRecord;
    if (!healed.has(record.version) && !isHealedRecord(record)) next[(at -= 1)] = { version: record.version, createdAt: record.createdAtMicros, kind: record.kind };
  }
  for (let index = recent.length - 1; at > 0; index -= 1) next[(at -= 1)] = recent[index] as RecentDelivery;
  return next;
}

/** The kind of change `version` was delivered as, if it was recently (undefined for a heal or an older version). */
export function recentKind(recent: readonly RecentDelivery[], version: number): ChangeKind | undefined {
  for (let index = recent.length - 1; index >= 0; index -= 1) if ((recent[index] as RecentDelivery).version === version) return (recent[index] as RecentDelivery).kind;
  return undefined;
}

function oneByOne(recent: readonly RecentDelivery[], records: readonly ChangeRecord[], healed: ReadonlySet<number>): readonly RecentDelivery[] {
  let next = recent;
  for (const record of records) if (!healed.has(record.version)) next = withRecent(next, record, false);
  return next;
}

/** An `in-order` record of a version the account's start or an operator's skip passed over: it can no longer go in order. */
export function beforeBaseline(w: Watermark, record: ChangeRecord, why: 'baseline' | 'skip'): ContractBreach {
  const cause =
    why === 'skip'
      ? `an operator skipped version ${record.version} (see the account's skips in the ledger)`
      : `the account started at version ${(w.floor ?? 0) + 1} after waiting for its earlier versions`;
  return new ContractBreach(
    'BEFORE_BASELINE',
    `version ${record.version} arrived after ${cause}; the destination is at version ${w.version}, so it cannot be delivered in order`,
    record,
  );
}

function isoMicros(micros: number): string {
  const date = new Date(Math.floor(micros / 1000));
  return Number.isNaN(date.getTime()) ? `${micros} µs` : date.toISOString();
}
