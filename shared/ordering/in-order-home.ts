import type { ChangeRecord } from '../change-record/change-record';
import type { Fact } from './in-order-ledger';
import { InOrderDeliveryRun } from './in-order-delivery';
import { delivered, deliveredRun, isPlainRun, leadingCopies } from './in-order-rules';
import { homeDeliveryStands } from './home-lane-rules';
import { isHealedRecord } from './heal';
import type { Delivery, DeliveryResult } from './ports';
import { patched, type Watermark } from './watermark';
import type { FailedDelivery } from './account-run';
import { NO_RECORDS, NO_VERSION_LIST } from './run-context';
import { homeDeadline } from './delivery-right';

/**
 * The home lane's side of an `in-order` run: deliveries without a claim on the lane Lambda serializes the account's
 * batches on, each planned before its destination call and undone if the call fails, and the plain run (the batch
 * continues the watermark, nothing else to decide), planned and committed in one go.
 */
export abstract class InOrderHomeRun extends InOrderDeliveryRun {
  /**
   * The batch's records, when they are a plain run (`isPlainRun`) that this lane may deliver at home with per-batch
   * commits, after any copies of delivered versions (`leadingCopies`, settled here as duplicates): most accounts of
   * most batches. The steps would judge nothing else out, deliver them in one call and commit; `deliverPlainRun` does
   * that without them.
   */
  protected plainHomeRun(): ChangeRecord[] | undefined {
    const { ctx } = this;
    if (ctx.lane === undefined || ctx.inOrderCommit !== 'per-batch' || ctx.epoch.from !== undefined) return undefined;
    const records: ChangeRecord[] = [];
    for (const version of this.versions) records.push(this.records.get(version) as ChangeRecord);
    // Copies of delivered versions often lead the batch: settled as the judge would, they leave a plain run behind.
    const copies = leadingCopies(this.watermark, records);
    if (copies === undefined) return undefined;
    const run = copies === 0 ? records : records.slice(copies);
    if (!isPlainRun(this.watermark, run, ctx.owner, ctx.now()) || this.claimFor((run[0] as ChangeRecord).version) !== 'home') return undefined;
    for (let index = 0; index < copies; index += 1) this.settleOut((records[index] as ChangeRecord).version, 'duplicate');
    return run;
  }

  /**
   * Delivers a plain home run in one destination call and commits it, as the steps would (`deliverHomeRun`, then
   * `done`), planned as one watermark (`deliveredRun`, what `atHomeRun` gives here) rather than a fact, a watermark
   * and two notes per version. A version that failed takes the run back to the steps from there.
   */
  protected deliverPlainRun(records: readonly ChangeRecord[]): Promise<void> {
    const before = this.watermark;
    const facts = this.unwrittenCount;
    const dirty = this.dirty;
    const deadline = this.homeCallDeadline();
    const deliveries: Delivery[] = [];
    for (const record of records) deliveries.push(this.delivery(record, false));
    this.update(deliveredRun(before, records, this.ctx.now()));
    const answered = (results: readonly DeliveryResult[]): Promise<void> | undefined => {
      for (let index = 0; index < records.length; index += 1) {
        if ((results[index] as DeliveryResult).status !== 'failed') continue;
        // Back to the run as it was, then as the steps would have planned it up to the version that failed.
        this.undoTo(before, facts, dirty);
        return this.plainRunFailed(records, results, index);
      }
      for (let index = 0; index < records.length; index += 1) this.countAccepted(results[index] as DeliveryResult, false);
      // A lost race re-reads and goes on with the steps.
      return this.commitPlainRun(records, results).then((written) => (written ? undefined : this.drive()));
    };
    if (deliveries.length === 1) return this.ctx.deliver(deliveries[0] as Delivery, deadline).then((result) => answered([result]));
    return this.ctx.deliverAll(deliveries, deadline).then(answered);
  }

  /** The plain run's versions before the one that failed delivered, as the steps plan them; then the steps go on. */
  private plainRunFailed(records: readonly ChangeRecord[], results: readonly DeliveryResult[], failedAt: number): Promise<void> {
    if (failedAt > 0) this.remember(this.atHomeRun(records.slice(0, failedAt)));
    for (let index = 0; index < failedAt; index += 1) this.accepted(records[index] as ChangeRecord, false, results[index] as Exclude<DeliveryResult, FailedDelivery>);
    return this.goOn(this.failedDelivery(records[failedAt] as ChangeRecord, false, results[failedAt] as FailedDelivery));
  }

  /**
   * The `done` step of a plain run: its records settle once the write lands. Only when the write loses its race does
   * the run take on what the steps would hold by then (each version noted as handled and pending, the run's fact
   * unwritten), for the re-read to re-apply and judge.
   */
  private commitPlainRun(records: readonly ChangeRecord[], results: readonly DeliveryResult[]): Promise<boolean> {
    this.release();
    return this.flush(NO_RECORDS, NO_VERSION_LIST, this.storedToken).then((written) => {
      if (written) {
        this.wrote();
        for (let index = 0; index < records.length; index += 1) this.settleAccepted((records[index] as ChangeRecord).version, results[index] as DeliveryResult);
        return true;
      }
      for (let index = 0; index < records.length; index += 1) {
        const record = records[index] as ChangeRecord;
        this.noteHandled(record, false);
        this.notePending(record.version, results[index] as DeliveryResult);
      }
      (this.unwritten ??= []).push(this.atHomeRun(records));
      return this.lostRace();
    });
  }

  /**
   * Delivers one version on the account's home lane, without a claim: Lambda runs this partition key's batches on
   * this shard one at a time, and any other engine fences the lane off (waiting out its bound) before it delivers.
   * With `per-version` commits each delivery is written at once; with `per-batch` the run's one write commits them all.
   */
  protected deliverAtHome(record: ChangeRecord, healed: boolean): Promise<boolean> {
    // per-version: what an earlier claimed step delivered is written before the next delivery (a lost race re-plans).
    if (this.ctx.inOrderCommit === 'per-version' && this.dirty) return this.commit().then((written) => (written ? this.deliverHomeVersion(record, healed) : true));
    return this.deliverHomeVersion(record, healed);
  }

  private deliverHomeVersion(record: ChangeRecord, healed: boolean): Promise<boolean> {
    healed ||= isHealedRecord(record);
    const deadline = this.homeCallDeadline();
    if (this.ctx.inOrderCommit === 'per-batch' && this.unparked(record.version)) return this.deliverHomeRun(record, healed, deadline);
    return this.deliverOneAtHome(record, healed, deadline);
  }

  private async deliverOneAtHome(record: ChangeRecord, healed: boolean, deadline: number): Promise<boolean> {
    const result = await this.ctx.deliver(this.delivery(record, healed), deadline);
    if (result.status === 'failed') return this.failedDelivery(record, healed, result);
    this.accepted(record, healed, result);
    this.remember(this.atHome(record, healed));
    if (this.ctx.inOrderCommit === 'per-version') await this.commit();
    return true;
  }

  /** `first` and the batch's versions that follow it at home, in one destination call (see `deliverPlanned`). */
  private deliverHomeRun(first: ChangeRecord, firstHealed: boolean, deadline: number): Promise<boolean> {
    return this.deliverPlanned(first, firstHealed, deadline, (record, healed) => this.atHome(record, healed), () => this.nextPlanned('home'));
  }

  /** The end a home delivery's call must answer by: the home bound from the read (within the deadline), less the reserve. */
  private homeCallDeadline(): number {
    return homeDeadline({ readAt: this.readAt, homeBoundMs: this.ctx.homeBoundMs, deadline: this.ctx.deadline }) - this.ctx.reserveMs;
  }

  /**
   * A home delivery as a fact: it still holds on a fresh watermark that follows on from it, if the account is still
   * homed here without another engine's claim, or was fenced off after our read with time left before the fence ends
   * (our delivery ended inside our bound, before anyone may deliver after the fence).
   */
  private atHome(record: ChangeRecord, healed: boolean): Fact {
    return (fresh) => {
      const { lane, owner, reserveMs } = this.ctx;
      switch (homeDeliveryStands(fresh, record.version, lane, owner, this.ctx.now(), reserveMs)) {
        case 'covered':
          return fresh;
        case 'home':
          return delivered(fresh, record, healed, this.ctx.now());
        case 'fenced':
          return patched(delivered(fresh, record, healed), { home: undefined });
        case 'lost':
          this.ctx.tally.counts.claimsLost += 1;
          return undefined;
      }
    };
  }

  /**
   * A plain run delivered at home, as one fact: the `atHome` fact of each of its versions in turn, as one watermark
   * when the first version stands at home on `fresh` (then so does every one after it).
   */
  private atHomeRun(records: readonly ChangeRecord[]): Fact {
    return (fresh) => {
      const { lane, owner, reserveMs } = this.ctx;
      const now = this.ctx.now();
      if (homeDeliveryStands(fresh, (records[0] as ChangeRecord).version, lane, owner, now, reserveMs) === 'home') return deliveredRun(fresh, records, now);
      let w: Watermark | undefined = fresh;
      for (let index = 0; index < records.length && w !== undefined; index += 1) w = this.atHome(records[index] as ChangeRecord, false)(w);
      return w;
    };
  }
}

