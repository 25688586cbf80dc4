import type { ChangeRecord } from '../change-record/change-record';
import { InOrderWaitingRun } from './in-order-waiting';
import type { Fact } from './in-order-ledger';
import { isPlainRun, leadingCopies, owedVersions } from './in-order-rules';
import type { Step } from './in-order-steps';
import { notSent, type Delivery, type DeliveryResult } from './ports';
import { added } from './lazy-collections';
import type { FailedDelivery } from './account-run';
import { deliveryRight, type DeliveryRight } from './delivery-right';
import { isHealedRecord } from './heal';
import { hasVersion } from './version-ranges';
import type { Watermark } from './watermark';
import { NO_RECORDS, NO_VERSION_LIST } from './run-context';

const RAN: Promise<void> = Promise.resolve();

export type DeliverStep = Extract<Step, { readonly kind: 'deliver' }>;

/**
 * What every `in-order` delivery shares, at home or under a claim: the right to deliver a version now, a run of
 * versions planned and sent in one call, taking in an accepted or failed delivery, and stopping the run.
 * `InOrderHomeRun` delivers on the home lane, `InOrderClaimRun` under a claim, and `InOrderRun` carries out the steps.
 */
export abstract class InOrderDeliveryRun extends InOrderWaitingRun {
  /** Carries out the steps (`nextInOrderStep`) from where the run is, until it ends. */
  protected abstract drive(): Promise<void> | undefined;

  /** The run's next step (`nextInOrderStep` of the run as the rules see it). */
  protected abstract nextStep(): Step;

  /** Drives on once `next` answers true; false ends the run. */
  protected goOn(next: Promise<boolean>): Promise<void> {
    return next.then((more) => (more ? this.drive() : undefined));
  }

  /** Settles the batch's record when it is the record delivered or dead-lettered (a parked one was settled when parked). */
  protected settleDelivered(record: ChangeRecord, disposition: 'dead-lettered'): void {
    if (this.records.get(record.version) === record) this.settle(record.version, disposition);
  }

  /** A delivery the destination accepted: counted, remembered as handled, and (a batch record) settled at the commit. */
  protected accepted(record: ChangeRecord, healed: boolean, result: Exclude<DeliveryResult, FailedDelivery>): void {
    this.countAccepted(result, healed);
    this.noteHandled(record, healed);
    if (this.isUnsettled(record.version) && this.records.get(record.version) === record) this.notePending(record.version, result);
  }

  /** A delivery that failed: dead-lettered (the account then owes the version), or, if nothing was sent, the run stops. */
  protected async failedDelivery(record: ChangeRecord, healed: boolean, result: FailedDelivery): Promise<boolean> {
    if (notSent(result)) return this.stop();
    const stored = await this.deadLetterFailure(record, result);
    if (!stored) return this.stop();
    this.noteHandled(record, healed);
    this.settleDelivered(record, 'dead-lettered');
    this.spent = added(this.spent, record.version);
    // The letter is stored whoever writes next, so this holds on any fresh watermark.
    this.remember((fresh) => owedVersions(fresh, [record.version]));
    return true;
  }

  /** The delivery right for `version` (see `deliveryRight`). */
  protected claimFor(version: number): DeliveryRight {
    const { ctx } = this;
    // One literal of one shape: this runs before every delivery.
    return deliveryRight({
      watermark: this.watermark,
      version,
      owner: ctx.owner,
      claimToken: this.claimToken,
      storedHome: this.storedHome,
      lane: ctx.lane,
      readAt: this.readAt,
      now: ctx.now(),
      deadline: ctx.deadline,
      reserveMs: ctx.reserveMs,
      claimTtlMs: ctx.claimTtlMs,
      homeBoundMs: ctx.homeBoundMs,
    });
  }

  /**
   * Delivers `first`, and the versions after it that `next` finds deliverable under the same right, in one
   * destination call, which answers in order and sends none of an account's versions after one that failed (see
   * `Destination`): one call and one turn per account rather than one per version. Each version is planned (`plan`:
   * its fact) before the call as the rules would plan it after the one before; a version that failed undoes what was
   * planned from it on.
   */
  protected deliverPlanned(
    first: ChangeRecord,
    firstHealed: boolean,
    deadline: number,
    plan: (record: ChangeRecord, healed: boolean) => Fact,
    next: () => DeliverStep | undefined,
  ): Promise<boolean> {
    const run: PlannedDelivery[] = [];
    const deliveries: Delivery[] = [];
    let record: ChangeRecord | undefined = first;
    let healed = firstHealed;
    while (record !== undefined) {
      run.push({ record, healed, watermark: this.watermark, facts: this.unwrittenCount, dirty: this.dirty });
      deliveries.push(this.delivery(record, healed));
      this.remember(plan(record, healed));
      const following = next();
      record = following?.record;
      // A heal that comes back (a redriven letter) is delivered as what it is.
      healed = following !== undefined && (following.healed || isHealedRecord(following.record));
    }
    // Callbacks, not an async frame: this is every account's delivery.
    if (deliveries.length === 1) return this.ctx.deliver(deliveries[0] as Delivery, deadline).then((result) => this.plannedAnswered(run, [result]));
    return this.ctx.deliverAll(deliveries, deadline).then((results) => this.plannedAnswered(run, results));
  }

  /**
   * The batch's records, when they are a plain run (`isPlainRun`) that this run may deliver at home or under a claim
   * it takes first, with `per-batch` commits, after any copies of delivered versions (`leadingCopies`, settled here as
   * duplicates): most accounts of most batches. The steps would judge nothing else out, deliver them in one call and
   * commit; `deliverPlainRun` does that without them.
   */
  protected plainRun(): ChangeRecord[] | undefined {
    const { ctx } = this;
    if (ctx.inOrderCommit !== 'per-batch' || ctx.epoch.from !== undefined) return undefined;
    const records: ChangeRecord[] = [];
    for (const version of this.versions) records.push(this.records.get(version) as ChangeRecord);
    // Copies of delivered versions often lead the batch: settled as the judge would, they leave a plain run behind.
    const copies = leadingCopies(this.watermark, records);
    if (copies === undefined) return undefined;
    const run = copies === 0 ? records : records.slice(copies);
    if (!isPlainRun(this.watermark, run, ctx.owner, ctx.now())) return undefined;
    const right = this.claimFor((run[0] as ChangeRecord).version);
    if (right !== 'home' && right !== 'take') return undefined;
    for (let index = 0; index < copies; index += 1) this.settleOut((records[index] as ChangeRecord).version, 'duplicate');
    return run;
  }

  /**
   * Delivers a plain run with the right the run holds for it in one destination call, answered by `deadline`, and
   * commits it, as the steps would, planned as one watermark (`runFact` of the whole run) rather than a fact, a
   * watermark and two notes per version. A version that failed takes the run back to the steps from there; so does a
   * lost commit race, once the run's fact is re-applied to the fresh watermark.
   */
  protected deliverPlainRun(records: readonly ChangeRecord[], deadline: number, runFact: (run: readonly ChangeRecord[]) => Fact): Promise<void> {
    const before = this.watermark;
    const facts = this.unwrittenCount;
    const dirty = this.dirty;
    const planned = runFact(records)(before);
    // The right to deliver was checked on this watermark, so the run's fact holds on it; if not, the steps decide.
    if (planned === undefined) return this.drive() ?? RAN;
    const deliveries: Delivery[] = [];
    for (const record of records) deliveries.push(this.delivery(record, false));
    this.update(planned);
    const answered = (results: readonly DeliveryResult[]): Promise<void> | undefined => {
      for (let index = 0; index < records.length; index += 1) {
        if ((results[index] as DeliveryResult).status !== 'failed') continue;
        // Back to the run as it was, then as the steps would have planned it up to the version that failed.
        this.undoTo(before, facts, dirty);
        return this.plainRunFailed(records, results, index, runFact);
      }
      for (let index = 0; index < records.length; index += 1) this.countAccepted(results[index] as DeliveryResult, false);
      // A lost race re-reads and goes on with the steps.
      return this.commitPlainRun(records, results, runFact).then((written) => (written ? undefined : this.drive()));
    };
    if (deliveries.length === 1) return this.ctx.deliver(deliveries[0] as Delivery, deadline).then((result) => answered([result]));
    return this.ctx.deliverAll(deliveries, deadline).then(answered);
  }

  /** The plain run's versions before the one that failed delivered, as the steps plan them; then the steps go on. */
  private plainRunFailed(records: readonly ChangeRecord[], results: readonly DeliveryResult[], failedAt: number, runFact: (run: readonly ChangeRecord[]) => Fact): Promise<void> {
    if (failedAt > 0) this.remember(runFact(records.slice(0, failedAt)));
    for (let index = 0; index < failedAt; index += 1) this.accepted(records[index] as ChangeRecord, false, results[index] as Exclude<DeliveryResult, FailedDelivery>);
    return this.goOn(this.failedDelivery(records[failedAt] as ChangeRecord, false, results[failedAt] as FailedDelivery));
  }

  /**
   * The `done` step of a plain run: its records settle once the write lands. Only when the write loses its race does
   * the run take on what the steps would hold by then (each version noted as handled and pending, the run's fact
   * unwritten), for the re-read to re-apply and judge.
   */
  private commitPlainRun(records: readonly ChangeRecord[], results: readonly DeliveryResult[], runFact: (run: readonly ChangeRecord[]) => Fact): Promise<boolean> {
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
      (this.unwritten ??= []).push(runFact(records));
      return this.lostRace();
    });
  }

  /**
   * The next version's delivery, when the run may deliver it with `right` in the same call as the one before: a batch
   * record or a heal (`unparked`).
   */
  protected nextPlanned(right: 'home' | 'held'): DeliverStep | undefined {
    const step = this.nextStep();
    if (step.kind !== 'deliver' || !this.unparked(step.record.version)) return undefined;
    return this.claimFor(step.record.version) === right ? step : undefined;
  }

  /** Takes in what the destination answered for planned deliveries; a failed version undoes what was planned from it on. */
  private plannedAnswered(run: readonly PlannedDelivery[], results: readonly DeliveryResult[]): boolean | Promise<boolean> {
    for (let index = 0; index < run.length; index += 1) {
      const planned = run[index] as PlannedDelivery;
      const result = results[index] as DeliveryResult;
      if (result.status === 'failed') {
        this.undoTo(planned.watermark, planned.facts, planned.dirty);
        return this.failedDelivery(planned.record, planned.healed, result);
      }
      this.accepted(planned.record, planned.healed, result);
    }
    return true;
  }

  /** Takes the run back to a watermark, the facts unwritten then, and whether it had changed (a call that failed). */
  protected undoTo(watermark: Watermark, facts: number, dirty: boolean): void {
    this.watermark = watermark;
    this.forgetSince(facts);
    this.dirty = dirty;
  }

  /**
   * A version that is not parked (a batch record, or a heal): planning its delivery changes nothing but the planned
   * watermark, so a failed delivery can be undone by restoring it. Delivering a parked one also takes it out of the
   * ledger's parked records.
   */
  protected unparked(version: number): boolean {
    return !this.parkedRecords.has(version) && !hasVersion(this.watermark.parked, version);
  }

  /** A delivery that could not be finished or recorded: release the claim and let the batch be retried. */
  protected async stop(): Promise<false> {
    this.release();
    await this.commit().catch(() => false);
    this.failRemaining();
    return false;
  }
}

/** A delivery planned before its call, with what the run was before it (see `deliverPlanned`). */
interface PlannedDelivery {
  readonly record: ChangeRecord;
  readonly healed: boolean;
  readonly watermark: Watermark;
  /** How many facts were unwritten (see `forgetSince`). */
  readonly facts: number;
  readonly dirty: boolean;
}
