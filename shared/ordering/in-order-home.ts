import type { ChangeRecord } from '../change-record/change-record';
import type { Fact } from './in-order-ledger';
import { InOrderPlainRun } from './in-order-plain';
import { delivered, deliveredRun } from './in-order-rules';
import { homeDeliveryStands } from './home-lane-rules';
import { isHealedRecord } from './heal';
import { patched, type Watermark } from './watermark';

/**
 * The home lane's side of an `in-order` run: deliveries without a claim on the lane Lambda serializes the account's
 * batches on, each planned before its destination call and undone if the call fails, and the plain run (the batch
 * continues the watermark, nothing else to decide) delivered at home.
 */
export abstract class InOrderHomeRun extends InOrderPlainRun {
  /**
   * Delivers a plain run (`deliverIfPlain`) at home in one destination call and commits it, as the steps would
   * (`deliverHomeRun`, then `done`), planned as one watermark (`atHomeRun`) rather than a fact, a watermark and two notes
   * per version.
   */
  protected deliverPlainAtHome(records: readonly ChangeRecord[]): Promise<void> {
    if (this.ctx.inOrderCommit === 'per-version') return this.deliverPlainVersions(records, 0, 'home', (record) => this.atHome(record, false));
    return this.deliverPlainRun(records, this.callDeadline('home'), (run) => this.atHomeRun(run));
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
    const deadline = this.callDeadline('home');
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


  /**
   * A home delivery as a fact: it still holds on a fresh watermark that follows on from it, if the account is still
   * homed here without another engine's claim, or was fenced off after our read with time left before the fence ends
   * (our delivery ended inside our bound, before anyone may deliver after the fence).
   */
  private atHome(record: ChangeRecord, healed: boolean): Fact {
    return (fresh) => {
      const { owner, reserveMs } = this.ctx;
      const lane = this.lane;
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
      const { owner, reserveMs } = this.ctx;
      const lane = this.lane;
      const now = this.ctx.now();
      if (homeDeliveryStands(fresh, (records[0] as ChangeRecord).version, lane, owner, now, reserveMs) === 'home') return deliveredRun(fresh, records, now);
      let w: Watermark | undefined = fresh;
      for (let index = 0; index < records.length && w !== undefined; index += 1) w = this.atHome(records[index] as ChangeRecord, false)(w);
      return w;
    };
  }
}

