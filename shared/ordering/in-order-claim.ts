import type { ChangeRecord } from '../change-record/change-record';
import type { Fact } from './in-order-ledger';
import { InOrderHomeRun } from './in-order-home';
import { delivered, deliveredRun } from './in-order-rules';
import { covers, fenced, homedOn } from './home-lane-rules';
import { isHealedRecord } from './heal';
import { hasVersion, rangeOf } from './version-ranges';
import { patched, type Watermark } from './watermark';
import type { DeliveryRight } from './delivery-right';

/** `per-version`: a claimed delivery is one version, and its call carries nothing after it. */
const NOTHING_NEXT = (): undefined => undefined;

/**
 * The claim's side of an `in-order` run, off the home lane: a claim written before the first delivery (owner, fencing
 * token, versions, expiry), the deliveries under it, each call answered before the claim ends (less the reserve),
 * and the fence a side path writes around a quiet home. The claim covers the run the engine holds: with `per-batch`
 * commits it goes in one destination call; with `per-version` each version is a call and a commit of its own.
 */
export abstract class InOrderClaimRun extends InOrderHomeRun {
  /** Whether a delivery of this run counts the lane towards the account's home already (`planUnderClaim`). */
  private countedForHome = false;

  /** The record of `version` this run could deliver now, if any (`InOrderView.available`). */
  abstract available(version: number): ChangeRecord | undefined;

  /**
   * Claims (if needed) and delivers from `record` on, off the home lane (`deliverUnderClaim`), or fences or parks as
   * the right says. False when the run has to stop. Callbacks, not an async frame: every claimed delivery runs this.
   */
  protected deliverStep(claim: Exclude<DeliveryRight, 'home'>, record: ChangeRecord, healed: boolean): boolean | Promise<boolean> {
    switch (claim) {
      case 'stop':
        return this.stop();
      case 'fence':
        this.fenceHome();
        return true;
      case 'park':
        return this.parkWaiting().then((parked) => !parked);
      case 'take':
        // A lost race re-reads and re-plans; nothing was delivered yet. A won one leaves the plan as it was.
        return this.takeClaim(record.version).then((won) => (won ? this.deliverUnderClaim(record, healed) : true));
      case 'held':
        return this.deliverUnderClaim(record, healed);
    }
  }

  /**
   * Writes a claim from `version` through the run's last version in hand. With `per-version` commits too: each
   * delivery is still committed before the next (`deliverUnderClaim`), and that commit no longer has to claim the next
   * version as well (a new claim object, token and watermark copy per version).
   */
  private takeClaim(version: number): Promise<boolean> {
    const now = this.ctx.now();
    const expiresAt = Math.min(now + this.ctx.claimTtlMs, this.ctx.deadline ?? Number.POSITIVE_INFINITY);
    const through = this.lastInHand(version);
    this.claimToken = this.ctx.newClaimToken();
    const claim = through > version
      ? { owner: this.ctx.owner, token: this.claimToken, version, expiresAt, through }
      : { owner: this.ctx.owner, token: this.claimToken, version, expiresAt };
    this.update(patched(this.watermark, { claim }));
    return this.commit();
  }

  protected deliverPlain(records: readonly ChangeRecord[], right: 'home' | 'take'): Promise<void> {
    return right === 'home' ? this.deliverPlainAtHome(records) : this.claimPlainRun(records);
  }

  /**
   * A plain run (`deliverIfPlain`) off the home lane: claimed through its last version, then delivered under the claim as the
   * steps would (`take`, `held` deliveries, `done`): with `per-batch` commits in one call and one commit, planned as one
   * watermark (`claimedRun`); with `per-version` a call and a commit per version (`deliverPlainVersions`). A lost claim
   * race, or a claim with too little time left once written, takes the run back to the steps.
   */
  private claimPlainRun(records: readonly ChangeRecord[]): Promise<void> {
    const first = records[0] as ChangeRecord;
    return this.takeClaim(first.version).then((won) => {
      if (!won) return this.drive();
      const token = this.claimToken as string;
      // per-version checks the right before every version itself.
      if (this.ctx.inOrderCommit === 'per-version') return this.deliverPlainVersions(records, 0, 'held', (record) => this.planUnderClaim(token, record, false));
      if (this.claimFor(first.version) !== 'held') return this.drive();
      this.countedForHome = true;
      return this.deliverPlainRun(records, this.callDeadline('held'), (run) => this.claimedRun(token, run));
    });
  }

  /**
   * A plain run delivered under claim `token`, as one fact: each version's `planUnderClaim` fact in turn (the lane
   * counted towards the account's home once, with the run), as one watermark.
   */
  private claimedRun(token: string, records: readonly ChangeRecord[]): Fact {
    const first = (records[0] as ChangeRecord).version;
    return this.underClaim(token, first, (w) => homedOn(deliveredRun(w, records), this.lane, this.ctx.now()));
  }

  /**
   * Delivers `first` under this run's claim, which the call must answer before (less the reserve); with `per-batch`
   * commits the versions the claim covers after it go in the same call (see `deliverPlanned`).
   */
  private deliverUnderClaim(first: ChangeRecord, healed: boolean): Promise<boolean> {
    // per-version: what was delivered under the claim is written before the next delivery, which then goes ahead only
    // if the claim still leaves it time (else the steps decide again: renew, or stop). A lost race re-plans.
    if (this.ctx.inOrderCommit === 'per-version' && this.dirty) {
      const version = first.version;
      return this.commit().then((written) => (written && this.claimFor(version) === 'held' ? this.deliverClaimed(first, healed) : true));
    }
    return this.deliverClaimed(first, healed);
  }

  private deliverClaimed(first: ChangeRecord, healed: boolean): Promise<boolean> {
    const token = this.claimToken as string;
    const deadline = this.callDeadline('held');
    const next = this.ctx.inOrderCommit === 'per-batch' ? () => this.nextPlanned('held') : NOTHING_NEXT;
    // A heal that comes back (a redriven letter) is delivered as what it is.
    return this.deliverPlanned(first, healed || isHealedRecord(first), deadline, (record, asHealed) => this.planUnderClaim(token, record, asHealed), next);
  }

  /**
   * A delivery under claim `token` as a fact. The lane counts once per run towards becoming the account's home (see
   * `homedOn`), with the run's first planned delivery, whatever the run delivers. (Should that delivery fail, the
   * count goes with it: the account then owes the version and the run delivers nothing more.)
   */
  private planUnderClaim(token: string, record: ChangeRecord, healed: boolean): Fact {
    if (this.countedForHome) return this.underClaim(token, record.version, (w) => delivered(w, record, healed));
    this.countedForHome = true;
    return this.underClaim(token, record.version, (w) => homedOn(delivered(w, record, healed), this.lane, this.ctx.now()));
  }

  /**
   * The account is homed on another lane (or this engine has none): fence that lane off. Nobody delivers until the
   * fence ends, by which time any delivery the home lane began before the fence has ended; then any engine may claim
   * the account. The run parks what it holds meanwhile (the fence and the parked records are one write).
   */
  private fenceHome(): void {
    this.ctx.tally.counts.homesFenced += 1;
    this.update(fenced(this.watermark, this.ctx.newClaimToken(), this.ctx.now() + this.ctx.homeBoundMs));
  }

  /**
   * The highest version from `from` on that this run may deliver without a hole, for a claim: a version
   * missing between two in hand counts, as the rules may heal it from the one after (`nextInOrderStep`). A claim that
   * stopped short of a heal took a second claim, and the heal and what follows went in a second destination call.
   * Claiming a version the run then cannot prove costs nothing: a claim is this run's own (`covers`), released at the end.
   */
  private lastInHand(from: number): number {
    let last = from;
    for (;;) {
      const range = rangeOf(this.watermark.parked, last + 1);
      if (range) last = range[1];
      else if (this.available(last + 1) !== undefined) last += 1;
      else if (this.mayHeal(last + 1)) last += 2;
      else return last;
    }
  }

  /** `version` is missing but the record after it is in hand and the account does not owe it: a heal may follow. */
  private mayHeal(version: number): boolean {
    return !hasVersion(this.watermark.owed, version) && this.available(version + 1) !== undefined;
  }

  /** A fact that still holds on a fresh watermark only if the claim we delivered under survived there. */
  private underClaim(token: string, version: number, apply: (w: Watermark) => Watermark): Fact {
    return (fresh) => {
      if (fresh.claim && fresh.claim.token === token && covers(fresh.claim, version)) return apply(fresh);
      this.ctx.tally.counts.claimsLost += 1;
      return undefined;
    };
  }
}
