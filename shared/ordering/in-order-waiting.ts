import type { ChangeRecord } from '../change-record/change-record';
import { InOrderLedgerRun } from './in-order-ledger';
import { gapTimedOut, isSkipRefusal, parked, skippedGap } from './in-order-rules';
import { heldByAnother } from './home-lane-rules';
import { MAX_LEDGER_WRITE_ITEMS } from './ports';
import { MAX_PARKED_BYTES_PER_WRITE, MAX_PARKED_RECORD_BYTES } from './limits';
import { parkedRecordBytes } from './stored-image';
import { countVersions, hasVersion } from './version-ranges';
import { patched, type Claim } from './watermark';
import { added, NO_VERSIONS, withEntry } from './lazy-collections';

/** What an operator's skip came to. */
export type SkipOutcome = { readonly skipped: { readonly from: number; readonly to: number } } | { readonly refused: string };

/**
 * The waiting side of an `in-order` run: which batch records are still in play, and what the run does when it cannot
 * deliver the next version: park what waits behind the gap (or behind another engine's claim), send one GAP_TIMEOUT
 * notice once the gap outlives the maximum age, and apply an operator's skip. `InOrderRun` holds the delivering side.
 */
export abstract class InOrderWaitingRun extends InOrderLedgerRun {
  /** Versions this run sent to the dead-letter queue: out of play until redriven. */
  protected spent: ReadonlySet<number> = NO_VERSIONS;
  /** Batch records settled without delivery (copies, breaches, before the window): never delivered by this run. */
  protected outOfPlay: ReadonlySet<number> = NO_VERSIONS;
  /** A notice this run could not finish sending: the next sweep sends it (see `noticeGap`). */
  protected noticeFailed = false;
  /** Set by an operator's skip (see `InOrderRun.skipGap`). */
  skipOutcome: SkipOutcome | undefined;

  /** A batch record still in play: unsettled, not delivered yet, not put aside. */
  protected inPlay(version: number): boolean {
    return this.isUnsettled(version) && !this.pending.has(version) && !this.spent.has(version) && !this.outOfPlay.has(version);
  }

  /** A batch version in play above the watermark that the ledger does not hold parked: one that waits with the run. */
  protected waitsUnparked(version: number): boolean {
    const w = this.watermark;
    return version > w.version && this.inPlay(version) && !hasVersion(w.parked, version);
  }

  protected settleOut(version: number, disposition: 'duplicate' | 'dead-lettered' | 'failed'): void {
    this.settle(version, disposition);
    this.outOfPlay = added(this.outOfPlay, version);
  }

  /** Drops our claim from the planned watermark: the run waits or ends. */
  protected release(): void {
    const claim = this.watermark.claim;
    if (claim === undefined || claim.owner !== this.ctx.owner) return;
    this.update(patched(this.watermark, { claim: undefined }));
  }

  /**
   * Parks what waits behind the gap (or behind another engine's claim), as many records per write as one ledger
   * write may carry (in items and in bytes); a record that would fragment the parked set beyond its bound, or is too
   * big to be a ledger item, is dead-lettered (PARK_LIMIT). True when the run is over.
   */
  protected async parkWaiting(): Promise<boolean> {
    this.release();
    const w = this.watermark;
    const waiting = this.versions.filter((version) => this.waitsUnparked(version));
    const room = Math.max(0, MAX_LEDGER_WRITE_ITEMS - 1 - this.unparkable().length);
    let planned = w;
    const park: ChangeRecord[] = [];
    const overLimit: ChangeRecord[] = [];
    const tooBig: { record: ChangeRecord; bytes: number }[] = [];
    let bytes = 0;
    for (const version of waiting.slice(0, room)) {
      const record = this.records.get(version) as ChangeRecord;
      const size = parkedRecordBytes(record, MAX_PARKED_RECORD_BYTES);
      if (size > MAX_PARKED_RECORD_BYTES) {
        tooBig.push({ record, bytes: size });
        continue;
      }
      // The rest goes in the next write (the run comes back here while records wait unparked).
      if (bytes + size > MAX_PARKED_BYTES_PER_WRITE) break;
      const next = parked(planned, version);
      if (next === undefined) overLimit.push(record);
      else {
        planned = next;
        park.push(record);
        bytes += size;
      }
    }
    if (planned !== w) this.update(planned);
    if (!(await this.commit(park))) return false;
    for (const record of park) {
      this.settle(record.version, 'parked');
      // What this run parked it holds: the parked record of its version, delivered from here when its turn comes.
      this.parkedRecords = withEntry(this.parkedRecords, record.version, record);
    }
    for (const record of overLimit) {
      await this.letterUnparked(record, `the account already waits behind ${this.watermark.parked.length} separate gaps; this version could not be parked without exceeding the per-account bound`);
    }
    for (const { record, bytes: size } of tooBig) {
      await this.letterUnparked(
        record,
        `the change is about ${Math.ceil(size / 1024)} KB as a ledger item (both images, gzipped), over the ${MAX_PARKED_RECORD_BYTES / 1024} KB a parked record may take (DynamoDB allows 400 KB an item), so it cannot wait parked for version ${this.watermark.version + 1}`,
      );
    }
    return park.length + overLimit.length + tooBig.length === waiting.length;
  }

  /** A waiting record that cannot be parked goes to the queue as PARK_LIMIT, to be redriven when its turn comes. */
  private async letterUnparked(record: ChangeRecord, why: string): Promise<void> {
    const stored = await this.sendLetter(this.recordLetter(record, 'PARK_LIMIT', `${why}. Redrive it once the account has caught up.`, 0));
    this.settleOut(record.version, stored ? 'dead-lettered' : 'failed');
  }

  /**
   * One GAP_TIMEOUT notice for the gap `from..to`; the parked records stay where they are, in the ledger. The notice is
   * first written as pending: of two engines that find the gap timed out, only the one whose write wins sends it.
   */
  protected async noticeGap(from: number, to: number): Promise<void> {
    // Written as pending by this run, always (a notice another engine left pending is taken over the same way), so
    // the conditional write decides which engine sends it.
    const writtenAt = this.ctx.now();
    this.update(gapTimedOut(this.watermark, from, to, writtenAt, true));
    // A lost race re-reads and re-plans: the other engine's notice, or a gap that has moved.
    if (!(await this.commit())) return;
    if (this.ctx.now() - writtenAt >= this.ctx.claimTtlMs - this.ctx.reserveMs) {
      // Too late: another engine may take the notice over by now. The next sweep sends it.
      this.noticeFailed = true;
      return;
    }
    const w = this.watermark;
    const waiting = countVersions(w.parked) + this.versions.filter((v) => this.waitsUnparked(v)).length;
    const since = new Date(w.gapSince ?? this.ctx.now()).toISOString();
    const stored = await this.sendLetter({
      destination: this.ctx.destination,
      epoch: this.ctx.epoch.id,
      reason: 'GAP_TIMEOUT',
      detail: `version${from === to ? ` ${from} was` : `s ${from}-${to} were`} not received within ${this.ctx.maxGapAgeMs} ms (waiting since ${since}); ${waiting} later version${waiting === 1 ? '' : 's'} wait parked. Redrive this letter once the missing versions are back in the stream, or skip them: fanout redrive ${this.ctx.destination} --skip-gap ${this.accountId}@${to} --reason "..."`,
      attempts: 0,
      accountId: this.accountId,
      version: from,
      missing: [[from, to]],
      waiting,
      at: this.ctx.now(),
    });
    if (!stored) {
      // The queue is out of reach: the notice stays pending, and a sweep sends it once this engine's time is up.
      this.noticeFailed = true;
      this.leftUndone();
      return;
    }
    this.ctx.tally.counts.gapTimeouts += 1;
    this.remember((fresh) => {
      const notice = fresh.gapNotice;
      return notice?.pending && notice.from === from ? patched(fresh, { gapNotice: { from: notice.from, to: notice.to, at: notice.at } }) : fresh;
    });
  }

  /** Applies an operator's skip; false when it was refused (nothing changed). */
  protected async applySkip(through: number, reason: string): Promise<boolean> {
    for (;;) {
      const w = this.watermark;
      const claim = w.claim;
      if (heldByAnother(claim, this.ctx.owner, this.ctx.now())) {
        this.skipOutcome = { refused: `another consumer is delivering this account (its claim ends at ${new Date((claim as Claim).expiresAt).toISOString()}): try again after that` };
        return false;
      }
      const next = skippedGap(w, through, reason, this.ctx.now());
      if (isSkipRefusal(next)) {
        this.skipOutcome = next;
        return false;
      }
      this.update(next);
      if (await this.commit()) {
        this.ctx.tally.counts.gapsSkipped += 1;
        this.ctx.tally.counts.versionsSkipped += through - w.version;
        this.skipOutcome = { skipped: { from: w.version + 1, to: through } };
        return true;
      }
    }
  }
}
