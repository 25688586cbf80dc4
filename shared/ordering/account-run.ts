import type { ChangeRecord } from '../change-record/change-record';
import { writtenTwice, type ContractBreach } from './contract';
import { isHealedRecord } from './heal';
import { isReplayDelivery } from './delivery-mode';
import type { Disposition } from './outcome';
import type { DeadLetter, Delivery, DeliveryResult, LedgerWrite, LedgerWriteResult } from './ports';
import { NO_RECORDS, NO_VERSION_LIST, type RunContext } from './run-context';
import { recordLetter, sendLetter } from './run-letters';
import { emptyWatermark, revised, type Watermark } from './watermark';
import { storable } from './stored-image';
import { ascendingVersions } from './version-ranges';
import { sortFew } from './sort-few';

export type FailedDelivery = Extract<DeliveryResult, { status: 'failed' }>;

/**
 * One account's share of a batch (or of a sweep): its records, its watermark as read and as planned, and the
 * bookkeeping that guarantees every record a disposition. Subclasses hold the delivery mode's rules.
 */
export abstract class AccountRun {
  /** The watermark as this run wants it to be; written by `flush`. */
  protected watermark: Watermark;
  /** The revision of the watermark in the ledger, which the next write is conditional on. */
  protected revision: number;
  /** When `watermark` was read from the ledger, at the latest (taken before the read). */
  protected readAt: number;
  /** The home lane as the ledger holds it (last read or written), not as planned. */
  protected storedHome: string | undefined;
  /** The last image as the ledger holds it (last read or written): bounded in size when it was written. */
  private storedImage: Watermark['lastImage'];
  /** This account's records of the batch by version, one change each. */
  protected readonly records: Map<number, ChangeRecord>;
  /** Other changes of a version already in `records` (another event id): a version written twice, or a heal. */
  private conflicts: ChangeRecord[] | undefined;
  private readonly unsettled: Set<number>;
  /** The versions of `records`, ascending. */
  protected readonly versions: readonly number[];

  constructor(
    protected readonly ctx: RunContext,
    readonly accountId: string,
    records: readonly ChangeRecord[],
    stored: Watermark | undefined,
    /** The stream lane this account's records came on (`ProcessOptions.lane`, `laneOf`): none on a side path. */
    protected readonly lane?: string,
  ) {
    this.records = new Map();
    this.unsettled = new Set();
    const versions: number[] = [];
    for (const record of records) {
      const other = this.records.get(record.version);
      if (other === undefined) {
        this.records.set(record.version, record);
        this.unsettled.add(record.version);
        versions.push(record.version);
      } else if (other.eventId === record.eventId || this.conflicts?.some((conflict) => conflict.eventId === record.eventId)) {
        // A copy of a change the batch already holds (same event id): a duplicate, whatever else the run decides.
        ctx.tally.settle(record, 'duplicate');
      } else if (primary(other, record) === other) (this.conflicts ??= []).push(record);
      else {
        (this.conflicts ??= []).push(other);
        this.records.set(record.version, record);
      }
    }
    this.versions = sortFew(versions);
    this.watermark = stored ?? emptyWatermark(accountId);
    this.revision = stored?.revision ?? 0;
    this.readAt = ctx.readAt;
    this.storedHome = stored?.home;
    this.storedImage = stored?.lastImage;
  }

  abstract run(): Promise<void>;

  /** The watermark as last planned or written: what an operator command reports back. */
  get state(): Watermark {
    return this.watermark;
  }

  /** The batch holds another change of one of its versions (see `settleConflicts`). */
  protected get hasConflicts(): boolean {
    return this.conflicts !== undefined;
  }

  /**
   * Settles the other changes of versions the batch holds twice: a heal coming back is a copy; a second real change
   * of one version (the later-created one) is a version written twice, dead-lettered as CONTRACT_BREACH.
   */
  protected async settleConflicts(): Promise<void> {
    // Most accounts have none: no promise, no turn of the event loop.
    const conflicts = this.conflicts;
    if (conflicts === undefined) return;
    await Promise.all(
      conflicts.map(async (record) => {
        const kept = this.records.get(record.version) as ChangeRecord;
        if (isHealedRecord(record) || isHealedRecord(kept)) {
          this.ctx.tally.settle(record, 'duplicate');
          return;
        }
        this.ctx.tally.settle(record, (await this.deadLetterBreach(writtenTwice(kept, record))) ? 'dead-lettered' : 'failed');
      }),
    );
    // Cleared only now: if a letter throws, `failRemaining` still fails what is left.
    this.conflicts = undefined;
  }

  /**
   * False once the run gave up on something it set out to do (see `failRemaining`, `leftUndone`): a sweep, whose
   * accounts have no batch records to fail, reports the account instead.
   */
  get finished(): boolean {
    return !this.undone;
  }

  private undone = false;

  /** The run could not do all it set out to do (a gap notice the queue did not take): see `finished`. */
  protected leftUndone(): void {
    this.undone = true;
  }

  /** Marks every record still without a disposition as failed, so the batch is retried from it. */
  failRemaining(): void {
    this.undone = true;
    for (const version of [...this.unsettled]) this.settle(version, 'failed');
    for (const record of this.conflicts ?? []) this.ctx.tally.settle(record, 'failed');
    this.conflicts = undefined;
  }

  protected settle(version: number, disposition: Disposition, alreadyCounted = false): void {
    const record = this.records.get(version);
    if (record === undefined || !this.unsettled.delete(version)) return;
    this.ctx.tally.settle(record, disposition, alreadyCounted);
  }

  /** Settles a batch record whose delivery the destination accepted; `countAccepted` has counted it. */
  protected settleAccepted(version: number, result: DeliveryResult): void {
    const disposition = result.status === 'duplicate' ? 'duplicate' : result.status === 'stale' ? 'stale' : 'delivered';
    this.settle(version, disposition, true);
  }

  protected isUnsettled(version: number): boolean {
    return this.unsettled.has(version);
  }

  protected unsettledVersions(): number[] {
    return ascendingVersions(this.unsettled);
  }

  /**
   * Writes the planned watermark, conditional on the revision read (and, when `fence` is given, on our claim still
   * being the account's). Returns false when another engine wrote first; the caller then re-reads with `reload` and
   * re-plans.
   */
  protected flush(park: readonly ChangeRecord[] = NO_RECORDS, unpark: readonly number[] = NO_VERSION_LIST, fence?: string): Promise<boolean> {
    const w = this.watermark;
    const next = revised(w.lastImage === this.storedImage ? w : storable(w, this.imageBound(w)), this.revision + 1, this.ctx.now());
    const expectedRevision = this.revision;
    // Literals, not a conditional spread: a spread here cost more than planning the write.
    const write: LedgerWrite = fence === undefined ? { expectedRevision, next, park, unpark } : { expectedRevision, next, park, unpark, fence };
    // A `then`, not an async function: every account of every batch writes, and an async frame costs several times
    // a callback (see the README, *Where the time goes*).
    return this.ctx.ledger.write(write).then((result) => this.written(result, next));
  }

  /** What a write answered: on a commit the watermark is what the ledger holds now. */
  private written(result: LedgerWriteResult, next: Watermark): boolean {
    if (result === 'conflict') {
      this.ctx.tally.counts.ledgerConflicts += 1;
      return false;
    }
    this.watermark = next;
    this.revision = next.revision;
    this.storedHome = next.home;
    this.storedImage = next.lastImage;
    return true;
  }

  /**
   * A bound on the stored size of the watermark's last image, known without measuring it: the payload of the batch
   * record the image came from (its new image at the watermark's version, or the old image of the version after it,
   * where a replay starts an account).
   */
  private imageBound(w: Watermark): number | undefined {
    const image = w.lastImage;
    const at = this.records.get(w.version);
    if (at !== undefined && at.newImage === image) return at.payloadBytes;
    const after = this.records.get(w.version + 1);
    if (after !== undefined && after.oldImage === image) return after.payloadBytes;
    return undefined;
  }

  /** Re-reads the watermark after a lost race. */
  protected async reload(): Promise<Watermark> {
    this.readAt = this.ctx.now();
    const fresh = (await this.ctx.ledger.load([this.accountId])).get(this.accountId);
    this.watermark = fresh ?? emptyWatermark(this.accountId);
    this.revision = fresh?.revision ?? 0;
    this.storedHome = fresh?.home;
    this.storedImage = fresh?.lastImage;
    return this.watermark;
  }

  /** A delivery is a replay when its epoch is one and, with `replayBefore`, the change predates it. */
  protected delivery(record: ChangeRecord, healed: boolean): Delivery {
    return { record, healed, replay: isReplayDelivery(this.ctx.epoch, record.createdAtMicros), epoch: this.ctx.epoch.id };
  }

  /** Sends a failed delivery to the dead-letter queue; false when the queue did not take it. */
  protected deadLetterFailure(record: ChangeRecord, failure: FailedDelivery): Promise<boolean> {
    return this.sendLetter(this.recordLetter(record, failure.reason, failure.detail, failure.attempts));
  }

  /** Sends a record that breaks the contract to the dead-letter queue, with the breach as its reason and detail. */
  protected deadLetterBreach(breach: ContractBreach): Promise<boolean> {
    return this.sendLetter(this.recordLetter(breach.record, breach.reason, breach.message, 0));
  }

  /**
   * Dead-letters contract breaches at once and settles each record by whether the queue took its letter (`settle`
   * lets a mode also put the record aside).
   */
  protected async letterBreaches(
    breaches: readonly ContractBreach[],
    settle: (version: number, disposition: 'dead-lettered' | 'failed') => void = (version, disposition) => this.settle(version, disposition),
  ): Promise<void> {
    const stored = await Promise.all(breaches.map((breach) => this.deadLetterBreach(breach)));
    breaches.forEach((breach, index) => settle(breach.record.version, stored[index] ? 'dead-lettered' : 'failed'));
  }

  protected recordLetter(record: ChangeRecord, reason: DeadLetter['reason'], detail: string, attempts: number): DeadLetter {
    return recordLetter(this.ctx, record, reason, detail, attempts);
  }

  protected sendLetter(letter: DeadLetter): Promise<boolean> {
    return sendLetter(this.ctx, letter);
  }

  /** Counts what the destination said of an accepted delivery. */
  protected countAccepted(result: DeliveryResult, healed: boolean): void {
    if (result.status === 'delivered') {
      this.ctx.tally.counts.delivered += 1;
      if (healed) this.ctx.tally.counts.healed += 1;
    } else if (result.status === 'duplicate') {
      this.ctx.tally.counts.duplicates += 1;
    } else if (result.status === 'stale') {
      this.ctx.tally.counts.stale += 1;
    }
  }

  /** True when less than `reserveMs` is left before the call's deadline: start no delivery, hand the rest back. */
  protected outOfTime(): boolean {
    const deadline = this.ctx.deadline;
    return deadline !== undefined && this.ctx.now() >= deadline - this.ctx.reserveMs;
  }

  /** True when the account has waited for a missing version longer than the maximum gap age. */
  protected gapExpired(w: Watermark = this.watermark): boolean {
    const since = w.gapSince;
    return since !== undefined && this.ctx.now() - since >= this.ctx.maxGapAgeMs;
  }
}

/** Of two changes of one version: a real change over a heal, else the one created first (the other reused the version). */
function primary(a: ChangeRecord, b: ChangeRecord): ChangeRecord {
  if (isHealedRecord(a) !== isHealedRecord(b)) return isHealedRecord(a) ? b : a;
  return b.createdAtMicros < a.createdAtMicros ? b : a;
}
