import type { ChangeRecord } from '../change-record/change-record';
import { InOrderWaitingRun } from './in-order-waiting';
import { owedVersions, type Step } from './in-order-rules';
import { notSent, type DeliveryResult } from './ports';
import { added } from './lazy-collections';
import type { FailedDelivery } from './account-run';
import { deliveryRight, type DeliveryRight } from './delivery-right';

/**
 * What every `in-order` delivery shares, at home or under a claim: the right to deliver a version now, taking in an
 * accepted or failed delivery, and stopping the run. `InOrderHomeRun` delivers on the home lane, `InOrderRun` under
 * a claim and carries out the steps.
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

  /** A delivery that could not be finished or recorded: release the claim and let the batch be retried. */
  protected async stop(): Promise<false> {
    this.release();
    await this.commit().catch(() => false);
    this.failRemaining();
    return false;
  }
}
