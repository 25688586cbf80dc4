import type { ChangeRecord } from '../change-record/change-record';
import { InOrderWaitingRun } from './in-order-waiting';
import type { Fact } from './in-order-ledger';
import { owedVersions } from './in-order-rules';
import type { Step } from './in-order-steps';
import { notSent, type Delivery, type DeliveryResult } from './ports';
import { added } from './lazy-collections';
import type { FailedDelivery } from './account-run';
import { deliveryRight, homeDeadline, type DeliveryRight } from './delivery-right';
import { isHealedRecord } from './heal';
import { hasVersion } from './version-ranges';
import type { Watermark } from './watermark';

export type DeliverStep = Extract<Step, { readonly kind: 'deliver' }>;

/**
 * What every `in-order` delivery shares, at home or under a claim: the right to deliver a version now, a run of
 * versions planned and sent in one call, taking in an accepted or failed delivery, and stopping the run.
 * `InOrderPlainRun` delivers a plain run, `InOrderHomeRun` on the home lane, `InOrderClaimRun` under a claim, and
 * `InOrderRun` carries out the steps.
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
      lane: this.lane,
      readAt: this.readAt,
      now: ctx.now(),
      deadline: ctx.deadline,
      reserveMs: ctx.reserveMs,
      claimTtlMs: ctx.claimTtlMs,
      homeBoundMs: ctx.homeBoundMs,
    });
  }

  /** The end a call made with `right` must answer by: the home bound from the read (within the deadline), or the claim's end, less the reserve. */
  protected callDeadline(right: 'home' | 'held'): number {
    const { ctx } = this;
    const end = right === 'held' ? (this.watermark.claim?.expiresAt as number) : homeDeadline({ readAt: this.readAt, homeBoundMs: ctx.homeBoundMs, deadline: ctx.deadline });
    return end - ctx.reserveMs;
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
    const before = this.watermark;
    const facts = this.unwrittenCount;
    const dirty = this.dirty;
    const delivery = this.delivery(first, firstHealed);
    this.remember(plan(first, firstHealed));
    let following = next();
    // One version (every `per-version` delivery): no lists, no planned entries.
    if (following === undefined) {
      return this.ctx.deliver(delivery, deadline).then((result) => {
        if (result.status !== 'failed') {
          this.accepted(first, firstHealed, result);
          return true;
        }
        this.undoTo(before, facts, dirty);
        return this.failedDelivery(first, firstHealed, result);
      });
    }
    const run: PlannedDelivery[] = [{ record: first, healed: firstHealed, watermark: before, facts, dirty }];
    const deliveries: Delivery[] = [delivery];
    let record: ChangeRecord | undefined = following.record;
    // A heal that comes back (a redriven letter) is delivered as what it is.
    let healed = following.healed || isHealedRecord(following.record);
    while (record !== undefined) {
      run.push({ record, healed, watermark: this.watermark, facts: this.unwrittenCount, dirty: this.dirty });
      deliveries.push(this.delivery(record, healed));
      this.remember(plan(record, healed));
      following = next();
      record = following?.record;
      // A heal that comes back (a redriven letter) is delivered as what it is.
      healed = following !== undefined && (following.healed || isHealedRecord(following.record));
    }
    // Callbacks, not an async frame: this is every account's delivery.
    return this.ctx.deliverAll(deliveries, deadline).then((results) => this.plannedAnswered(run, results));
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
