import type { ChangeRecord } from '../change-record/change-record';
import { AccountRun } from './account-run';
import { NO_RECORDS, NO_VERSION_LIST } from './run-context';
import { ContractBreach, writtenTwice } from './contract';
import { DeadLetterQueueUnavailableError } from './errors';
import { changeDigest } from './change-digest';
import { withGapClock } from './in-order-rules';
import { PARKED_READ_LIMIT } from './limits';
import { MAX_LEDGER_WRITE_ITEMS, type DeliveryResult } from './ports';
import { hasVersion, holesBetween, removeVersions } from './version-ranges';
import { patched, type Watermark } from './watermark';
import { added, noEntries, NO_VERSIONS, removed, withEntry } from './lazy-collections';

interface Handled {
  readonly record: ChangeRecord;
  readonly healed: boolean;
}

/** Shared: a commit with nothing to write answers at once. */
const COMMITTED: Promise<boolean> = Promise.resolve(true);

/** A fact about the account that a lost race re-applies to the fresh watermark, or drops (undefined) if it no longer holds. */
export type Fact = (fresh: Watermark) => Watermark | undefined;

/**
 * The ledger side of an `in-order` run: the planned watermark and what it adds to and removes from the parked records,
 * the facts not yet written (re-applied to a fresh watermark after a lost race), the fenced commit, and the parked
 * records read so far. `InOrderRun` holds the rules' side: what to do next, claims, deliveries, notices, skips.
 */
export abstract class InOrderLedgerRun extends AccountRun {
  /** Parked records read from the ledger (or parked by this run), by version. */
  protected parkedRecords: ReadonlyMap<number, ChangeRecord> = noEntries();
  /** Batch records delivered but not yet committed: they settle when the watermark is written. */
  protected pending: ReadonlyMap<number, DeliveryResult> = noEntries();
  /**
   * What this run did and has not written yet, in order; re-applied to the fresh watermark after a lost race. A list,
   * not one composed function: composing made a closure per delivered version.
   */
  protected unwritten: Fact[] | undefined;
  protected toUnpark: ReadonlySet<number> = NO_VERSIONS;
  /** What this run delivered or dead-lettered per version: a parked record leaving the ledger is checked against it. */
  protected handled: ReadonlyMap<number, Handled> = noEntries();
  /** The token of the claim this run last took. */
  protected claimToken: string | undefined;
  /** The token of our claim as the ledger holds it: writes carrying deliveries made under it are fenced by it. */
  protected storedToken: string | undefined;
  protected dirty = false;

  /**
   * Judges the batch's records against the watermark as it now is (again after every re-read). Undefined when that
   * needed no I/O (no parked record to read, no letter to send): most accounts, and nothing to await then.
   */
  protected abstract classify(): Promise<void> | undefined;

  /** Reads parked records from `from` (one read's worth); listed versions the read did not find are not parked. */
  protected async loadParked(from: number, to: number): Promise<void> {
    const end = Math.min(to, from + PARKED_READ_LIMIT - 1);
    const loaded = await this.ctx.ledger.parked(this.accountId, from, end, PARKED_READ_LIMIT);
    const found = new Set<number>();
    for (const record of loaded) {
      found.add(record.version);
      if (this.isLeaving(record.version)) continue;
      if (record.version > this.watermark.version) this.parkedRecords = withEntry(this.parkedRecords, record.version, record);
      else this.toUnpark = added(this.toUnpark, record.version);
    }
    const lastRead = loaded.length === PARKED_READ_LIMIT ? (loaded[loaded.length - 1] as ChangeRecord).version : end;
    let listed = this.watermark.parked;
    // The parked items are the truth: they move in one transaction with the watermark that lists them.
    for (const [start, stop] of this.watermark.parked) {
      for (let version = Math.max(start, from); version <= Math.min(stop, lastRead); version += 1) {
        if (!found.has(version)) listed = removeVersions(listed, version);
      }
    }
    if (listed !== this.watermark.parked) this.update(patched(this.watermark, { parked: listed }));
  }

  /** Applies a fact to the planned watermark and keeps it, after the facts not yet written, for a lost race. */
  protected remember(fact: Fact): void {
    const applied = fact(this.watermark);
    if (applied === undefined) return;
    this.keepUnwritten(fact);
    this.update(applied);
  }

  /** Keeps a fact already applied to the planned watermark, after the facts not yet written, for a lost race. */
  protected keepUnwritten(fact: Fact): void {
    (this.unwritten ??= []).push(fact);
  }

  /** How many facts are unwritten: `forgetSince` takes the run back to that point. */
  protected get unwrittenCount(): number {
    return this.unwritten?.length ?? 0;
  }

  /** Forgets the facts remembered after the first `count` (a planned delivery that failed). */
  protected forgetSince(count: number): void {
    if (this.unwritten !== undefined) this.unwritten.length = count;
  }

  /**
   * Plans a watermark change, with the gap clock rule applied; a version that leaves the parked set (delivered or
   * dead-lettered, by this run or by the engine whose write we lost to) leaves the table too.
   */
  protected update(next: Watermark): void {
    this.dirty = true;
    const before = this.watermark.parked;
    const planned = withGapClock(next, this.ctx.now());
    if (before.length > 0 && before !== planned.parked) {
      for (const [from, to] of before) {
        for (const [start, end] of holesBetween(planned.parked, from, to)) {
          for (let version = start; version <= end; version += 1) {
            if (this.toUnpark.has(version)) continue;
            this.toUnpark = added(this.toUnpark, version);
            this.ctx.tally.counts.unparked += 1;
          }
        }
      }
    }
    this.watermark = planned;
  }

  /**
   * True for a parked version on its way out of the table. One the watermark lists again (a fresh watermark after a
   * lost race, where it is still, or again, parked) is not: it must be read like any parked record.
   */
  protected isLeaving(version: number): boolean {
    if (!this.toUnpark.has(version)) return false;
    if (!hasVersion(this.watermark.parked, version)) return true;
    this.toUnpark = removed(this.toUnpark, version);
    this.ctx.tally.counts.unparked -= 1;
    return false;
  }

  /** Parked records to remove: no longer listed by the planned watermark. */
  protected unparkable(): readonly number[] {
    if (this.toUnpark.size === 0) return NO_VERSION_LIST;
    return [...this.toUnpark].filter((version) => !hasVersion(this.watermark.parked, version));
  }

  /**
   * Writes the planned watermark if it changed, with the parked records it adds and removes. On a lost race,
   * re-reads: our unwritten delivery still counts if our claim survived; if another engine took the claim over, it
   * will deliver that version again.
   */
  protected commit(park: readonly ChangeRecord[] = NO_RECORDS): Promise<boolean> {
    if (park.length > 0 || this.toUnpark.size > 0) return this.commitWithItems(park);
    // The common case, the watermark alone: a callback, not an async frame, for every account of every batch.
    if (!this.dirty) {
      this.settlePending();
      return COMMITTED;
    }
    return this.flush(NO_RECORDS, NO_VERSION_LIST, this.storedToken).then((written) => (written ? this.committed() : this.lostRace()));
  }

  /** `commit` with parked records to add or remove, as many per write as one write carries. */
  private async commitWithItems(park: readonly ChangeRecord[]): Promise<boolean> {
    for (;;) {
      const unparkable = this.unparkable();
      const room = MAX_LEDGER_WRITE_ITEMS - 1 - park.length;
      const unpark = unparkable.length > room ? unparkable.slice(0, Math.max(0, room)) : unparkable;
      if (!this.dirty && park.length === 0 && unpark.length === 0) {
        this.settlePending();
        return true;
      }
      if (unpark.length > 0) await this.checkUnparked(unpark);
      if (!(await this.flush(park, unpark, this.storedToken))) return this.lostRace();
      for (const version of unpark) this.toUnpark = removed(this.toUnpark, version);
      // More removals than one write carries: write the same watermark again with the rest.
      if (this.unparkable().length > 0) {
        this.wrote();
        park = NO_RECORDS;
        continue;
      }
      return this.committed();
    }
  }

  /** The planned watermark is what the ledger holds now: what this run delivered settles. */
  private committed(): true {
    this.wrote();
    this.settlePending();
    return true;
  }

  protected wrote(): void {
    this.dirty = false;
    this.unwritten = undefined;
    const claim = this.watermark.claim;
    this.storedToken = claim && claim.owner === this.ctx.owner ? claim.token : undefined;
  }

  /** Another engine wrote first: re-read, re-apply what still holds of what this run did, and judge the batch again. */
  protected async lostRace(): Promise<false> {
    // None left after a failed delivery was taken back is none at all.
    const facts = this.unwritten?.length ? this.unwritten : undefined;
    this.unwritten = undefined;
    this.dirty = false;
    const fresh = await this.reload();
    const claim = fresh.claim;
    this.storedToken = claim && claim.owner === this.ctx.owner && claim.token === this.claimToken ? claim.token : undefined;
    const reapplied = facts && holdsOn(fresh, facts);
    if (reapplied) {
      this.unwritten = facts;
      this.update(reapplied);
    } else if (facts) {
      // Another engine took our claim over: the ledger does not hold what we delivered since. Those records go back
      // into play (the other engine may not have them): delivered again in order, or parked, or copies if it did.
      this.pending = noEntries();
    }
    const classifying = this.classify();
    if (classifying) await classifying;
    return false;
  }

  /**
   * Before parked records leave the ledger because this run delivered or dead-lettered their version: each must be
   * what was delivered. One that is not (another engine parked a different change of the version, or the real record
   * of a version this run healed) is dead-lettered, never deleted unseen: HEAL_MISMATCH against a heal,
   * CONTRACT_BREACH otherwise.
   */
  protected async checkUnparked(versions: readonly number[]): Promise<void> {
    for (const version of versions) {
      const done = this.handled.get(version);
      // A version this run did not deliver leaves the listing only because the listing was stale (its item was gone
      // when read): the write is conditional on the revision read, so it deletes nothing another engine wrote since.
      if (done === undefined) continue;
      const known = this.parkedRecords.get(version);
      if (known !== undefined && known.eventId === done.record.eventId) continue;
      const [stored] = known ? [known] : await this.ctx.ledger.parked(this.accountId, version, version, 1);
      if (stored === undefined || stored.eventId === done.record.eventId) continue;
      if (done.healed && changeDigest(stored) === changeDigest(done.record)) continue;
      const breach = done.healed
        ? new ContractBreach('HEAL_MISMATCH', `version ${version} was healed from its neighbours while its real record waited parked, and the real change differs from the heal: the destination holds the healed version`, stored)
        : writtenTwice(done.record, stored);
      if (!(await this.deadLetterBreach(breach))) throw new DeadLetterQueueUnavailableError(`the parked record of account ${this.accountId} v${version} could not be dead-lettered`);
      this.parkedRecords = withEntry(this.parkedRecords, version, stored);
      this.noteHandled(stored, false);
    }
  }

  protected settlePending(): void {
    for (const [version, result] of this.pending) this.settleAccepted(version, result);
    this.pending = noEntries();
  }

  /** What this run delivered or dead-lettered at `record.version` (see `checkUnparked`). */
  protected noteHandled(record: ChangeRecord, healed: boolean): void {
    this.handled = withEntry(this.handled, record.version, { record, healed });
  }

  /** A batch record delivered and not yet committed. */
  protected notePending(version: number, result: DeliveryResult): void {
    this.pending = withEntry(this.pending, version, result);
  }
}

/** `facts` applied in order to `fresh`; undefined as soon as one no longer holds there. */
function holdsOn(fresh: Watermark, facts: readonly Fact[]): Watermark | undefined {
  let w: Watermark | undefined = fresh;
  for (let index = 0; index < facts.length && w !== undefined; index += 1) w = (facts[index] as Fact)(w);
  return w;
}
