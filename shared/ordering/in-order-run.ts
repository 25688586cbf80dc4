import type { ChangeRecord } from '../change-record/change-record';
import type { Fact } from './in-order-ledger';
import { InOrderWaitingRun } from './in-order-waiting';
import { beforeBaseline, ContractBreach, judgeDelivered, versionReused, writtenTwice } from './contract';
import type { Epoch } from './delivery-mode';
import {
  baselined,
  covers,
  delivered,
  deliveredRun,
  fenced,
  floorRaised,
  homeDeliveryStands,
  homedOn,
  isPlainRun,
  nextInOrderStep,
  owedVersions,
  started,
  type InOrderView,
  type Step,
} from './in-order-rules';
import { isHealedRecord } from './heal';
import { notSent, type Delivery, type DeliveryResult } from './ports';
import { addVersions, hasVersion, rangeOf, removeVersions, type VersionRanges } from './version-ranges';
import { isBeforeWindow, raisedFloor } from './window';
import { patched, type Watermark } from './watermark';
import { added, withEntry } from './lazy-collections';
import { NO_RECORDS, NO_VERSION_LIST, type FailedDelivery } from './account-run';
import { deliveryRight, homeDeadline, type DeliveryRight } from './delivery-right';

export type { SkipOutcome } from './in-order-waiting';

const GO_ON = (): boolean => true;

type DeliverStep = Extract<Step, { readonly kind: 'deliver' }>;
const RAN: Promise<void> = Promise.resolve();

/**
 * `in-order`: delivers exactly watermark+1, +2, ... for one account, carrying out `nextInOrderStep`.
 *
 * On the account's home lane (the shard its batches come from, which Lambda serializes) the run delivers without a
 * claim, within `homeBoundMs` of its read, and commits once. Elsewhere it first writes a claim (owner, fencing token,
 * versions, expiry) and every delivery must end before the claim does (the destination call gets the claim's end,
 * less the reserve, as its deadline); an account homed on another lane is parked for its home to drain, unless a side
 * path finds that home quiet and fences it off: nobody delivers until the fence ends. With `per-version` commits each
 * write commits the version just delivered (and, under a claim, claims the next). With `per-batch` commits one write
 * at the end commits the run. A write that carries deliveries made under
 * a claim is fenced by its token, so a run whose claim was taken over stops before its next delivery. While another
 * engine's claim or a fence is live this run delivers nothing: it parks what it has (see `InOrderWaitingRun`).
 */
export class InOrderRun extends InOrderWaitingRun implements InOrderView {
  /** Records from before a replay's window: their floor is re-applied to a fresh watermark after a lost race. */
  private beforeWindow: ChangeRecord[] | undefined;
  private countedBaseline = false;
  private countedForHome = false;
  private skip: { readonly through: number; readonly reason: string } | undefined;

  /** Makes the run apply an operator's skip through `through` before it delivers what then follows. */
  skipGap(through: number, reason: string): this {
    this.skip = { through, reason };
    return this;
  }

  /** Not an async function: most runs (no conflicts, no skip, nothing to read to classify) need no frame of their own. */
  run(): Promise<void> {
    if (this.hasConflicts || this.skip) return this.runWithPreamble();
    try {
      const plain = this.plainHomeRun();
      return plain ? this.deliverPlainRun(plain) : this.classifyAndDrive();
    } catch (error) {
      // As an async function would: what the run throws is a rejection, which the engine handles per account.
      return Promise.reject(error);
    }
  }

  private async runWithPreamble(): Promise<void> {
    if (this.hasConflicts) await this.settleConflicts();
    if (this.skip && !(await this.applySkip(this.skip.through, this.skip.reason))) return;
    await this.classifyAndDrive();
  }

  private classifyAndDrive(): Promise<void> {
    const classifying = this.classify();
    return (classifying ? classifying.then(() => this.drive()) : this.drive()) ?? RAN;
  }

  /**
   * Carries out `nextInOrderStep` until the run ends: synchronously while steps need no I/O, and from a step's
   * callback when it does. Not an `await` per step in an async frame: off the home lane every delivered version is a
   * step of its own (see the README, *Where the time goes*).
   */
  private drive(): Promise<void> | undefined {
    for (;;) {
      const step = nextInOrderStep(this);
      switch (step.kind) {
        case 'load-parked':
          return this.goOn(this.loadParked(step.from, step.to).then(GO_ON));
        case 'start':
          this.update(started(this.watermark, step.floor, step.record));
          continue;
        case 'baseline':
          this.update(baselined(this.watermark, step.from));
          // A lost race re-plans the same baseline on the fresh watermark; the account was baselined once.
          if (!this.countedBaseline) this.ctx.tally.counts.baselined += 1;
          this.countedBaseline = true;
          continue;
        case 'deliver': {
          const right = this.claimFor(step.record.version);
          const going = right === 'home' ? this.deliverAtHome(step.record, step.healed) : this.deliverStep(right, step.record, step.healed);
          if (going === true) continue;
          return going === false ? undefined : this.goOn(going);
        }
        case 'breach':
          return this.goOn(this.breachStep(step.breach));
        case 'gap-timeout':
          return this.goOn(this.noticeGap(step.from, step.to).then(GO_ON));
        case 'wait':
          return this.goOn(this.parkWaiting().then((parked) => !parked));
        case 'done':
          this.release();
          // A lost race re-reads and plans again.
          return this.goOn(this.commit().then((written) => !written));
      }
    }
  }

  /**
   * The batch's records, when they are a plain run (`isPlainRun`) that this lane may deliver at home with per-batch
   * commits: most accounts of most batches. The steps would judge nothing out, deliver them in one call and commit;
   * `deliverPlainRun` does that without them.
   */
  private plainHomeRun(): ChangeRecord[] | undefined {
    const { ctx } = this;
    if (ctx.lane === undefined || ctx.inOrderCommit !== 'per-batch' || ctx.epoch.from !== undefined) return undefined;
    const records: ChangeRecord[] = [];
    for (const version of this.inHand) records.push(this.records.get(version) as ChangeRecord);
    if (!isPlainRun(this.watermark, records, ctx.owner, ctx.now())) return undefined;
    return this.claimFor((records[0] as ChangeRecord).version) === 'home' ? records : undefined;
  }

  /**
   * Delivers a plain home run in one destination call and commits it, as the steps would (`deliverHomeRun`, then
   * `done`), planned as one watermark (`deliveredRun`, what `atHomeRun` gives here) rather than a fact, a watermark
   * and two notes per version. A version that failed takes the run back to the steps from there.
   */
  private deliverPlainRun(records: readonly ChangeRecord[]): Promise<void> {
    const before = this.watermark;
    const facts = this.unwrittenCount;
    const dirty = this.dirty;
    const deadline = homeDeadline({ readAt: this.readAt, homeBoundMs: this.ctx.homeBoundMs, deadline: this.ctx.deadline }) - this.ctx.reserveMs;
    const deliveries: Delivery[] = [];
    for (const record of records) deliveries.push(this.delivery(record, false));
    this.update(deliveredRun(before, records, this.ctx.now()));
    const answered = (results: readonly DeliveryResult[]): Promise<void> | undefined => {
      for (let index = 0; index < records.length; index += 1) {
        if ((results[index] as DeliveryResult).status !== 'failed') continue;
        // Back to the run as it was, then as the steps would have planned it up to the version that failed.
        this.watermark = before;
        this.forgetSince(facts);
        this.dirty = dirty;
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

  /** Drives on once `next` answers true; false ends the run. */
  private goOn(next: Promise<boolean>): Promise<void> {
    return next.then((more) => (more ? this.drive() : undefined));
  }

  // The run as the rules see it (InOrderView).
  get owner(): string {
    return this.ctx.owner;
  }
  get now(): number {
    return this.ctx.now();
  }
  get epoch(): Epoch {
    return this.ctx.epoch;
  }
  get waitedTooLong(): boolean {
    return !this.noticeFailed && this.gapExpired();
  }
  get claimTtlMs(): number {
    return this.ctx.claimTtlMs;
  }

  /** The parked record of a version comes first: it arrived first, and a batch copy of it was judged against it. */
  available(version: number): ChangeRecord | undefined {
    if (this.spent.has(version)) return undefined;
    const parkedRecord = this.parkedRecords.get(version);
    if (parkedRecord !== undefined) return parkedRecord;
    if (hasVersion(this.watermark.parked, version) || this.outOfPlay.has(version)) return undefined;
    return this.records.get(version);
  }

  parkedButNotLoaded(version: number): boolean {
    return hasVersion(this.watermark.parked, version) && !this.parkedRecords.has(version);
  }

  lowestInHand(): number | undefined {
    const w = this.watermark;
    for (let index = firstAbove(this.inHand, w.version); index < this.inHand.length; index += 1) {
      const version = this.inHand[index] as number;
      if (this.inPlay(version) && !hasVersion(w.parked, version)) return version;
    }
    return undefined;
  }

  /**
   * Settles what the watermark alone decides about the batch: records before a replay's window (which may raise the
   * floor of an account without a start), records that break the contract, late records below the account's start or
   * an operator's skip, and duplicates. What is left is in play.
   */
  protected classify(): Promise<void> | undefined {
    const epoch = this.ctx.epoch;
    if (epoch.from !== undefined) {
      for (const version of this.inHand) {
        const record = this.records.get(version) as ChangeRecord;
        if (!this.inPlay(version) || !isBeforeWindow(epoch, this.watermark, record)) continue;
        this.settle(version, 'before-window');
        this.outOfPlay = added(this.outOfPlay, version);
        (this.beforeWindow ??= []).push(record);
      }
    }
    // Re-applied on every classification: a lost race re-reads a watermark that may not hold the raised floor yet.
    if (this.beforeWindow) this.raiseFloors(this.beforeWindow);
    if (this.collides()) return this.loadCollisions().then(() => this.judge());
    return this.judge();
  }

  /** The rest of `classify`, once the parked records that batch records collide with are in hand. */
  private judge(): Promise<void> | undefined {
    const breaches: ContractBreach[] = [];
    for (const version of this.inHand) {
      if (!this.inPlay(version)) continue;
      const w = this.watermark;
      const record = this.records.get(version) as ChangeRecord;
      const reused = versionReused(w, record);
      if (reused) {
        breaches.push(reused);
      } else if (version <= w.version) {
        const judged = hasVersion(w.skipped, version)
          ? beforeBaseline(w, record, w.skips.some((note) => note.from <= version && version <= note.to) ? 'skip' : 'baseline')
          : judgeDelivered(w, record);
        if (judged === 'duplicate') this.settleOut(version, 'duplicate');
        else breaches.push(judged);
      } else if (hasVersion(w.parked, version)) {
        // Parked already: a copy of that change, or another change of the version (the parked one came first).
        const parkedRecord = this.parkedRecords.get(version);
        // No parked item: the listing is stale (another engine delivered and unparked it); the record stays in play,
        // and the write that follows loses its race, re-reads and judges it again.
        if (parkedRecord === undefined) this.update(patched(w, { parked: removeVersions(w.parked, version) }));
        else if (parkedRecord.eventId === record.eventId) this.settleOut(version, 'duplicate');
        else breaches.push(writtenTwice(parkedRecord, record));
      }
    }
    if (breaches.length === 0) return undefined;
    return this.letterBreaches(breaches, (version, disposition) => this.settleOut(version, disposition));
  }

  /** Records from before a replay's window raise the floor of an account without a start (see `raisedFloor`). */
  private raiseFloors(beforeWindow: readonly ChangeRecord[]): void {
    let waiting: VersionRanges = this.watermark.parked;
    for (const version of this.inHand) if (this.inPlay(version) && version > this.watermark.version) waiting = addVersions(waiting, version);
    for (const record of beforeWindow) {
      const floor = raisedFloor(this.watermark, record, waiting);
      if (floor !== undefined) this.update(floorRaised(this.watermark, floor));
    }
  }

  /** Settles the batch's record when it is the record delivered or dead-lettered (a parked one was settled when parked). */
  private settleDelivered(record: ChangeRecord, disposition: 'dead-lettered'): void {
    if (this.records.get(record.version) === record) this.settle(record.version, disposition);
  }

  /** A batch record in play collides with a parked version whose record is not in hand yet. */
  private collides(): boolean {
    const w = this.watermark;
    if (w.parked.length === 0) return false;
    return this.inHand.some((v) => this.inPlay(v) && v > w.version && hasVersion(w.parked, v) && !this.parkedRecords.has(v));
  }

  /** Reads the parked records that batch records collide with, to tell a copy from another change of the version. */
  private async loadCollisions(): Promise<void> {
    const w = this.watermark;
    const wanted = this.inHand.filter((v) => this.inPlay(v) && v > w.version && hasVersion(w.parked, v) && !this.parkedRecords.has(v));
    if (wanted.length === 0) return;
    const loaded = await Promise.all(wanted.map((version) => this.ctx.ledger.parked(this.accountId, version, version, 1)));
    for (const record of loaded.flat()) if (!this.isLeaving(record.version)) this.parkedRecords = withEntry(this.parkedRecords, record.version, record);
  }

  /**
   * Claims (if needed), delivers and applies one version, off the home lane. False when the run has to stop. Callbacks,
   * not an async frame: off the home lane this is every delivered version (see the README, *Where the time goes*).
   */
  private deliverStep(claim: Exclude<DeliveryRight, 'home'>, record: ChangeRecord, healed: boolean): boolean | Promise<boolean> {
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

  /** Writes a claim from `version` on (through the run's last version in hand with `per-batch` commits). */
  private takeClaim(version: number): Promise<boolean> {
    const now = this.ctx.now();
    const expiresAt = Math.min(now + this.ctx.claimTtlMs, this.ctx.deadline ?? Number.POSITIVE_INFINITY);
    const through = this.ctx.inOrderCommit === 'per-batch' ? this.lastInHand(version) : version;
    this.claimToken = this.ctx.newClaimToken();
    const claim = through > version
      ? { owner: this.ctx.owner, token: this.claimToken, version, expiresAt, through }
      : { owner: this.ctx.owner, token: this.claimToken, version, expiresAt };
    this.update(patched(this.watermark, { claim }));
    return this.commit();
  }

  /** Delivers one version under this run's claim, which the call must answer before (less the reserve). */
  private deliverUnderClaim(record: ChangeRecord, healed: boolean): Promise<boolean> {
    const token = this.claimToken as string;
    const deadline = (this.watermark.claim?.expiresAt as number) - this.ctx.reserveMs;
    // A heal that comes back (a redriven letter) is delivered as what it is.
    const asHealed = healed || isHealedRecord(record);
    return this.ctx.deliver(this.delivery(record, asHealed), deadline).then((result) => {
      if (result.status === 'failed') return this.failedDelivery(record, asHealed, result);
      this.accepted(record, asHealed, result);
      // The lane counts once per run towards becoming the account's home (see `homedOn`), whatever the run delivers.
      const homes = !this.countedForHome;
      this.countedForHome = true;
      this.remember(this.underClaim(token, record.version, (w) => (homes ? homedOn(delivered(w, record, asHealed), this.ctx.lane, this.ctx.now()) : delivered(w, record, asHealed))));
      return true;
    });
  }

  /** A delivery the destination accepted: counted, remembered as handled, and (a batch record) settled at the commit. */
  private accepted(record: ChangeRecord, healed: boolean, result: Exclude<DeliveryResult, FailedDelivery>): void {
    this.countAccepted(result, healed);
    this.noteHandled(record, healed);
    if (this.isUnsettled(record.version) && this.records.get(record.version) === record) this.notePending(record.version, result);
  }

  /** A delivery that failed: dead-lettered (the account then owes the version), or, if nothing was sent, the run stops. */
  private async failedDelivery(record: ChangeRecord, healed: boolean, result: FailedDelivery): Promise<boolean> {
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
  private claimFor(version: number): DeliveryRight {
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
   * Delivers one version on the account's home lane, without a claim: Lambda runs this partition key's batches on
   * this shard one at a time, and any other engine fences the lane off (waiting out its bound) before it delivers.
   * With `per-version` commits each delivery is written at once; with `per-batch` the run's one write commits them all.
   */
  private deliverAtHome(record: ChangeRecord, healed: boolean): Promise<boolean> {
    // per-version: what an earlier claimed step delivered is written before the next delivery (a lost race re-plans).
    if (this.ctx.inOrderCommit === 'per-version' && this.dirty) return this.commit().then((written) => (written ? this.deliverHomeVersion(record, healed) : true));
    return this.deliverHomeVersion(record, healed);
  }

  private deliverHomeVersion(record: ChangeRecord, healed: boolean): Promise<boolean> {
    healed ||= isHealedRecord(record);
    const deadline = homeDeadline({ readAt: this.readAt, homeBoundMs: this.ctx.homeBoundMs, deadline: this.ctx.deadline }) - this.ctx.reserveMs;
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

  /**
   * Delivers `first` and the batch's versions that follow it on the home lane in one destination call, which answers
   * in order and sends none of an account's versions after one that failed (see `Destination`): one call and one
   * turn per account rather than one per version. Each version is planned before the call as the rules would plan it
   * after the one before; a version that failed undoes what was planned from it on.
   */
  private deliverHomeRun(first: ChangeRecord, firstHealed: boolean, deadline: number): Promise<boolean> {
    const run: PlannedAtHome[] = [];
    const deliveries: Delivery[] = [];
    let record: ChangeRecord | undefined = first;
    let healed = firstHealed;
    while (record !== undefined) {
      run.push({ record, healed, watermark: this.watermark, facts: this.unwrittenCount, dirty: this.dirty });
      deliveries.push(this.delivery(record, healed));
      this.remember(this.atHome(record, healed));
      const next = this.nextAtHome();
      record = next?.record;
      // A heal that comes back (a redriven letter) is delivered as what it is.
      healed = next !== undefined && (next.healed || isHealedRecord(next.record));
    }
    // Callbacks, not an async frame: this is every home account's delivery.
    if (deliveries.length === 1) return this.ctx.deliver(deliveries[0] as Delivery, deadline).then((result) => this.homeRunAnswered(run, [result]));
    return this.ctx.deliverAll(deliveries, deadline).then((results) => this.homeRunAnswered(run, results));
  }

  /** Takes in what the destination answered for a home run; a failed version undoes what was planned from it on. */
  private homeRunAnswered(run: readonly PlannedAtHome[], results: readonly DeliveryResult[]): boolean | Promise<boolean> {
    for (let index = 0; index < run.length; index += 1) {
      const planned = run[index] as PlannedAtHome;
      const result = results[index] as DeliveryResult;
      if (result.status === 'failed') {
        this.watermark = planned.watermark;
        this.forgetSince(planned.facts);
        this.dirty = planned.dirty;
        return this.failedDelivery(planned.record, planned.healed, result);
      }
      this.accepted(planned.record, planned.healed, result);
    }
    return true;
  }

  /** The next version's delivery, when this lane may deliver it at home in the same call: a batch record or a heal. */
  private nextAtHome(): DeliverStep | undefined {
    const step = nextInOrderStep(this);
    if (step.kind !== 'deliver' || !this.unparked(step.record.version)) return undefined;
    return this.claimFor(step.record.version) === 'home' ? step : undefined;
  }

  /**
   * A version that is not parked (a batch record, or a heal): planning its delivery changes nothing but the planned
   * watermark, so a failed delivery can be undone by restoring it. Delivering a parked one also takes it out of the
   * ledger's parked records.
   */
  private unparked(version: number): boolean {
    return !this.parkedRecords.has(version) && !hasVersion(this.watermark.parked, version);
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

  /**
   * The account is homed on another lane (or this engine has none): fence that lane off. Nobody delivers until the
   * fence ends, by which time any delivery the home lane began before the fence has ended; then any engine may claim
   * the account. The run parks what it holds meanwhile (the fence and the parked records are one write).
   */
  private fenceHome(): void {
    this.ctx.tally.counts.homesFenced += 1;
    this.update(fenced(this.watermark, this.ctx.newClaimToken(), this.ctx.now() + this.ctx.homeBoundMs));
  }

  /** A delivery that could not be finished or recorded: release the claim and let the batch be retried. */
  private async stop(): Promise<false> {
    this.release();
    await this.commit().catch(() => false);
    this.failRemaining();
    return false;
  }

  /** The next version breaks the contract: its letter goes out, and the account owes it (blocked on failure). */
  private async breachStep(breach: ContractBreach): Promise<boolean> {
    const version = breach.record.version;
    if (!(await this.deadLetterBreach(breach))) return this.stop();
    this.noteHandled(breach.record, false);
    this.settleDelivered(breach.record, 'dead-lettered');
    this.spent = added(this.spent, version);
    this.remember((fresh) => owedVersions(fresh, [version]));
    return true;
  }

  /** The highest version from `from` on that this run can deliver without a hole, for a `per-batch` claim. */
  private lastInHand(from: number): number {
    let last = from;
    for (;;) {
      const range = rangeOf(this.watermark.parked, last + 1);
      if (range) last = range[1];
      else if (this.available(last + 1) !== undefined) last += 1;
      else return last;
    }
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

/** A home delivery planned before its call, with what the run was before it (see `deliverHomeRun`). */
interface PlannedAtHome {
  readonly record: ChangeRecord;
  readonly healed: boolean;
  readonly watermark: Watermark;
  /** How many facts were unwritten (see `forgetSince`). */
  readonly facts: number;
  readonly dirty: boolean;
}

/** The index of the first element of ascending `values` above `version`. */
function firstAbove(values: readonly number[], version: number): number {
  let low = 0;
  let high = values.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((values[middle] as number) <= version) low = middle + 1;
    else high = middle;
  }
  return low;
}
