import type { ChangeRecord } from '../change-record/change-record';
import { InOrderClaimRun } from './in-order-claim';
import { ContractBreach, versionReused, writtenTwice } from './contract';
import type { Epoch } from './delivery-mode';
import {
  baselined,
  floorRaised,
  judgedBelow,
  owedVersions,
  started,
} from './in-order-rules';
import { nextInOrderStep, type InOrderView, type Step } from './in-order-steps';
import { addVersions, hasVersion, removeVersions, type VersionRanges } from './version-ranges';
import { isBeforeWindow, raisedFloor } from './window';
import { patched } from './watermark';
import { added, withEntry } from './lazy-collections';

export type { SkipOutcome } from './in-order-waiting';

const GO_ON = (): boolean => true;

const RAN: Promise<void> = Promise.resolve();

/**
 * `in-order`: delivers exactly watermark+1, +2, ... for one account, carrying out `nextInOrderStep`.
 *
 * On the account's home lane (the shard its batches come from, which Lambda serializes) the run delivers without a
 * claim, within `homeBoundMs` of its read, and commits once. Elsewhere it first writes a claim (owner, fencing token,
 * versions, expiry) and every delivery must end before the claim does (the destination call gets the claim's end,
 * less the reserve, as its deadline); an account homed on another lane is parked for its home to drain, unless a side
 * path finds that home quiet and fences it off: nobody delivers until the fence ends. With `per-version` commits each
 * write commits the version just delivered (under a claim that covers the run). With `per-batch` commits one write
 * at the end commits the run. A write that carries deliveries made under
 * a claim is fenced by its token, so a run whose claim was taken over stops before its next delivery. While another
 * engine's claim or a fence is live this run delivers nothing: it parks what it has (see `InOrderWaitingRun`).
 */
export class InOrderRun extends InOrderClaimRun implements InOrderView {
  /** Records from before a replay's window: their floor is re-applied to a fresh watermark after a lost race. */
  private beforeWindow: ChangeRecord[] | undefined;
  private countedBaseline = false;
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
      return this.deliverIfPlain() ?? this.classifyAndDrive();
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
  protected drive(): Promise<void> | undefined {
    for (;;) {
      const step = this.nextStep();
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

  protected nextStep(): Step {
    return nextInOrderStep(this);
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
    for (let index = firstAbove(this.versions, w.version); index < this.versions.length; index += 1) {
      const version = this.versions[index] as number;
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
      for (const version of this.versions) {
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
    for (const version of this.versions) {
      if (!this.inPlay(version)) continue;
      const w = this.watermark;
      const record = this.records.get(version) as ChangeRecord;
      if (version <= w.version) {
        const judged = judgedBelow(w, record);
        if (judged === 'duplicate') this.settleOut(version, 'duplicate');
        else breaches.push(judged);
        continue;
      }
      const reused = versionReused(w, record);
      if (reused) {
        breaches.push(reused);
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
    for (const version of this.versions) if (this.inPlay(version) && version > this.watermark.version) waiting = addVersions(waiting, version);
    for (const record of beforeWindow) {
      const floor = raisedFloor(this.watermark, record, waiting);
      if (floor !== undefined) this.update(floorRaised(this.watermark, floor));
    }
  }

  /** A batch record in play collides with a parked version whose record is not in hand yet. */
  private collides(): boolean {
    if (this.watermark.parked.length === 0) return false;
    return this.versions.some((v) => this.collidesAt(v));
  }

  /** Batch version `v` is in play and parked above the watermark, its parked record not read yet. */
  private collidesAt(v: number): boolean {
    const w = this.watermark;
    return this.inPlay(v) && v > w.version && hasVersion(w.parked, v) && !this.parkedRecords.has(v);
  }

  /** Reads the parked records that batch records collide with, to tell a copy from another change of the version. */
  private async loadCollisions(): Promise<void> {
    const wanted = this.versions.filter((v) => this.collidesAt(v));
    if (wanted.length === 0) return;
    const loaded = await Promise.all(wanted.map((version) => this.ctx.ledger.parked(this.accountId, version, version, 1)));
    for (const record of loaded.flat()) if (!this.isLeaving(record.version)) this.parkedRecords = withEntry(this.parkedRecords, record.version, record);
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
