import type { ChangeRecord } from '../change-record/change-record';
import { AccountRun } from './account-run';
import { NO_VERSION_LIST } from './run-context';
import { judgeDelivered, versionReused, type ContractBreach } from './contract';
import {
  baselined,
  gapTimedOut,
  holesOf,
  isDelivered,
  neverStarted,
  settled,
  startedAt,
  writtenOff,
  type Settled,
  type WriteOffOutcome,
} from './every-version-rules';
import { healMissing, isHealedRecord } from './heal';
import { MAX_RANGES } from './limits';
import { notSent, type Delivery, type DeliveryResult } from './ports';
import { added, NO_VERSIONS } from './lazy-collections';
import { addVersions, countVersions, describeVersions, hasVersion, sameVersions, type VersionRanges } from './version-ranges';
import { isBeforeWindow, raisedFloor, windowStartFor } from './window';
import { patched, type Watermark } from './watermark';

/** What a gap time-out decided, acted on once and re-applied to a fresh watermark after a lost race. */
type GapOutcome = { readonly baseline: true } | { readonly baseline: false; readonly holes: VersionRanges };

const NOTHING_TO_WRITE: Promise<void> = Promise.resolve();

/**
 * `every-version`: delivers every version at least once, in any order, and never waits (see `every-version-rules`).
 * One conditional write per account per batch, none when all were duplicates. A lost race re-reads and merges: what
 * was delivered only ever grows, so the watermark never moves backwards.
 */
export class EveryVersionRun extends AccountRun {
  // Callbacks between the steps rather than one async function: its frame (every local of every step) and the promises
  // of its awaits were the largest share of what an account's run allocates (see the README, *Where the time goes*).
  private writeOffRequest: { readonly versions: VersionRanges; readonly reason: string } | undefined;
  /** What an operator's write-off came to, once the run has applied it (see `writeOff`). */
  writeOffOutcome: WriteOffOutcome | undefined;

  /** Makes the run write off the owed ones of `versions` (`writtenOff`) instead of delivering. */
  writeOff(versions: VersionRanges, reason: string): this {
    this.writeOffRequest = { versions, reason };
    return this;
  }

  run(): Promise<void> {
    if (this.writeOffRequest) return this.applyWriteOff(this.writeOffRequest.versions, this.writeOffRequest.reason);
    if (this.hasConflicts) return this.settleConflicts().then(() => this.deliverBatch());
    return this.deliverBatch();
  }

  /** Writes the write-off, re-reading and re-applying it after a lost race; counted as versions skipped. */
  private async applyWriteOff(versions: VersionRanges, reason: string): Promise<void> {
    for (;;) {
      const next = writtenOff(this.watermark, versions, reason, this.ctx.now());
      if ('refused' in next) {
        this.writeOffOutcome = next;
        return;
      }
      this.watermark = next.watermark;
      if (await this.flush()) {
        this.ctx.tally.counts.versionsSkipped += countVersions(next.written);
        this.writeOffOutcome = { writtenOff: next.written };
        return;
      }
      await this.reload();
    }
  }

  /** Judges the batch's records against the watermark and delivers every one the destination may not have yet. */
  private deliverBatch(): Promise<void> {
    const versions = this.versions;
    const epoch = this.ctx.epoch;
    if (epoch.from !== undefined) {
      for (const version of versions) {
        if (isBeforeWindow(epoch, this.watermark, this.records.get(version) as ChangeRecord)) this.settle(version, 'before-window');
      }
    }
    const w = this.windowed(this.watermark, versions);
    let breaches: ContractBreach[] | undefined;
    const deliveries: Delivery[] = [];
    for (const version of versions) {
      if (!this.isUnsettled(version)) continue;
      const record = this.records.get(version) as ChangeRecord;
      const reused = versionReused(w, record);
      if (reused) {
        (breaches ??= []).push(reused);
      } else if (isDelivered(w, version)) {
        const judged = judgeDelivered(w, record);
        if (judged === 'duplicate') this.settle(version, 'duplicate');
        else (breaches ??= []).push(judged);
      } else {
        deliveries.push(this.delivery(record, isHealedRecord(record)));
      }
    }
    const healed = this.healable(w);
    if (healed) deliveries.push(this.delivery(healed, true));
    // Too close to the deadline to deliver: the batch is handed back, and the ledger is left as it was.
    if (deliveries.length > 0 && this.outOfTime()) return this.handBack(breaches);
    const answered = (results: readonly DeliveryResult[]): Promise<void> => this.answered(versions, deliveries, results, healed !== undefined);
    // Breaches are rare: without one, the deliveries are the only thing to wait for.
    if (breaches) return Promise.all([this.ctx.deliverAll(deliveries), this.letterBreaches(breaches)]).then(([results]) => answered(results));
    return this.ctx.deliverAll(deliveries).then(answered);
  }

  private async handBack(breaches: readonly ContractBreach[] | undefined): Promise<void> {
    if (breaches) await this.letterBreaches(breaches);
    this.failRemaining();
  }

  /** Tallies what the destination answered (failures wait on their dead letters), then commits the batch. */
  private answered(versions: readonly number[], deliveries: readonly Delivery[], results: readonly DeliveryResult[], healAppended: boolean): Promise<void> {
    const accepted: ChangeRecord[] = [];
    let healedVersions: ReadonlySet<number> = NO_VERSIONS;
    let lettered: number[] | undefined;
    // Accepted deliveries are tallied in one synchronous pass; only failures wait (on their dead letters).
    let failures: Promise<void>[] | undefined;
    for (let index = 0; index < deliveries.length; index += 1) {
      const { record, healed: isHealed } = deliveries[index] as Delivery;
      const result = results[index] as DeliveryResult;
      if (result.status !== 'failed') {
        this.countAccepted(result, isHealed);
        accepted.push(record);
        if (isHealed) healedVersions = added(healedVersions, record.version);
        continue;
      }
      (failures ??= []).push(
        (async () => {
          const stored = !notSent(result) && (await this.deadLetterFailure(record, result));
          if (stored) (lettered ??= []).push(record.version);
          this.settle(record.version, stored ? 'dead-lettered' : 'failed');
        })(),
      );
    }
    // Ascending, as `settled` takes them: the deliveries are, but for a heal, which went last.
    if (healAppended) byVersion(accepted);
    const commit = (): Promise<void> =>
      this.commitBatch(versions, { delivered: accepted, healed: healedVersions, lettered: lettered ?? NO_VERSION_LIST }).then(() => this.settleAll(deliveries, results));
    return failures ? Promise.all(failures).then(commit) : commit();
  }

  /** Writes what the batch settled: one conditional write, none when nothing changed. */
  private commitBatch(versions: readonly number[], batch: Settled): Promise<void> {
    const next = settled(this.windowed(this.watermark, versions), batch, this.ctx.now());
    // A gap to act on is rare: the loop that decides it once and re-plans after a lost race.
    if (this.gapDue(next)) return this.commitLoop(versions, batch, false);
    if (sameState(next, this.watermark)) return NOTHING_TO_WRITE;
    this.watermark = next;
    return this.flush().then((written) => (written ? undefined : this.reload().then(() => this.commitLoop(versions, batch, true))));
  }

  /**
   * `commitBatch` with a gap time-out to decide (once: a baseline counted, a notice sent) and re-apply to the fresh
   * watermark after a lost race; `decided` when the first plan had no gap to act on.
   */
  private async commitLoop(versions: readonly number[], batch: Settled, decided: boolean): Promise<void> {
    let gap: GapOutcome | undefined;
    for (;;) {
      let next = settled(this.windowed(this.watermark, versions), batch, this.ctx.now());
      if (!decided) {
        const before = this.watermark;
        const outcome = this.gapDue(next) ? await this.onGap(next) : undefined;
        if (outcome === 'lost') continue;
        decided = true;
        gap = outcome;
        // Claiming the notice wrote the account: plan on what is stored now.
        if (this.watermark !== before) next = settled(this.windowed(this.watermark, versions), batch, this.ctx.now());
      }
      if (gap !== undefined) next = applyGap(next, gap, this.ctx.now());
      // The notice that would fold an overflowing `ahead` could not be stored: forget the highest deliveries rather
      // than grow past the bound (a copy of one of them is delivered again, and the destination refuses it).
      if (next.ahead.length > MAX_RANGES) next = patched(next, { ahead: next.ahead.slice(0, MAX_RANGES) });
      if (sameState(next, this.watermark)) return;
      this.watermark = next;
      if (await this.flush()) return;
      await this.reload();
    }
  }

  /** Once the batch is committed, its accepted records settle as the destination answered them. */
  private settleAll(deliveries: readonly Delivery[], results: readonly DeliveryResult[]): void {
    for (let index = 0; index < deliveries.length; index += 1) {
      const { record, healed: isHealed } = deliveries[index] as Delivery;
      const result = results[index] as DeliveryResult;
      if (!isHealed && result.status !== 'failed') this.settleAccepted(record.version, result);
    }
  }

  /**
   * `w` with a replay epoch's window applied: records from before it raise the floor of an account without a start,
   * and a record that proves where the account starts sets its floor, so nothing below is taken for a gap.
   */
  private windowed(w: Watermark, versions: readonly number[]): Watermark {
    const epoch = this.ctx.epoch;
    if (epoch.from === undefined) return w;
    const records = versions.map((version) => this.records.get(version) as ChangeRecord);
    let waiting: VersionRanges = [];
    for (const record of records) if (!isBeforeWindow(epoch, w, record)) waiting = addVersions(waiting, record.version);
    let next = w;
    for (const record of records) {
      if (!isBeforeWindow(epoch, next, record)) continue;
      const floor = raisedFloor(next, record, waiting);
      if (floor !== undefined) next = startedAt(next, floor, undefined, this.ctx.now());
    }
    // The lowest record that proves a start decides it (all of them agree while the writers' clocks do).
    for (const record of records) {
      const floor = windowStartFor(epoch, next, record);
      if (floor !== undefined) return startedAt(next, floor, record.oldImage, this.ctx.now());
    }
    return next;
  }

  /** The one missing version right above the watermark, rebuilt, when the batch holds its successor and proof. */
  private healable(w: Watermark): ChangeRecord | undefined {
    const missing = w.version + 1;
    const after = this.records.get(missing + 1);
    if (this.records.has(missing) || after === undefined || !this.isUnsettled(missing + 1)) return undefined;
    if (hasVersion(w.owed, missing) || isDelivered(w, missing) || w.lastKind === 'REMOVE') return undefined;
    return healMissing(missing, w.lastImage, after);
  }

  /** True when the account has waited too long for its holes, or has more of them than it may keep. */
  private gapDue(w: Watermark): boolean {
    return w.ahead.length > MAX_RANGES || this.gapExpired(w);
  }

  /**
   * When the account has waited too long for its holes (or has more of them than it may keep): an account that never
   * started is baselined; otherwise one GAP_TIMEOUT notice names the holes, which become owed. Undefined: nothing to do
   * (or the notice could not be stored; the next batch or sweep tries again).
   */
  private async onGap(w: Watermark): Promise<GapOutcome | 'lost' | undefined> {
    const overflow = w.ahead.length > MAX_RANGES;
    if (!this.gapDue(w)) return undefined;
    if (!overflow && neverStarted(w)) {
      this.ctx.tally.counts.baselined += 1;
      return { baseline: true };
    }
    const holes = holesOf(w);
    const first = holes[0]?.[0];
    const last = holes[holes.length - 1]?.[1];
    if (first === undefined || last === undefined) return undefined;
    // One notice per gap: it is written as pending before it is sent, so of two engines only the winner sends it.
    // A pending notice belongs to the engine that wrote it until that engine's time is up (then it crashed).
    const notice = w.gapNotice;
    const now = this.ctx.now();
    if (notice?.pending && now - notice.at < this.ctx.claimTtlMs) return undefined;
    // Written pending by this engine (an abandoned one is taken over the same way): the write decides who sends it.
    this.watermark = patched(w, { gapNotice: { from: first, to: last, at: now, pending: true } });
    if (!(await this.flush())) {
      await this.reload();
      return 'lost';
    }
    // Too late to send: another engine may take the notice over by now; a sweep sends it.
    if (this.ctx.now() - now >= this.ctx.claimTtlMs - this.ctx.reserveMs) return undefined;
    const why = overflow ? `the account has more than ${MAX_RANGES} separate gaps` : `not received within ${this.ctx.maxGapAgeMs} ms`;
    const stored = await this.sendLetter({
      destination: this.ctx.destination,
      epoch: this.ctx.epoch.id,
      reason: 'GAP_TIMEOUT',
      detail: `versions ${describeVersions(holes)} ${why}; later versions were delivered. A copy that arrives later is still delivered: look for the missing versions in the on-failure bucket and replay from before them.`,
      attempts: 0,
      accountId: w.accountId,
      version: first,
      missing: holes,
      at: now,
    });
    // Not stored: the notice stays pending, and a sweep sends it once this engine's time is up.
    if (!stored) {
      this.leftUndone();
      return undefined;
    }
    this.ctx.tally.counts.gapTimeouts += 1;
    return { baseline: false, holes };
  }
}

function applyGap(w: Watermark, gap: GapOutcome, now: number): Watermark {
  if (gap.baseline) return neverStarted(w) ? baselined(w, now) : w;
  return gapTimedOut(w, gap.holes, now);
}

/** Sorts records by version in place: an insertion sort, for the few an account delivers in a batch. */
function byVersion(records: ChangeRecord[]): void {
  for (let index = 1; index < records.length; index += 1) {
    const record = records[index] as ChangeRecord;
    let at = index;
    while (at > 0 && (records[at - 1] as ChangeRecord).version > record.version) {
      records[at] = records[at - 1] as ChangeRecord;
      at -= 1;
    }
    records[at] = record;
  }
}

function sameState(a: Watermark, b: Watermark): boolean {
  return (
    a.version === b.version &&
    a.floor === b.floor &&
    a.gapSince === b.gapSince &&
    a.lastImage === b.lastImage &&
    a.lastKind === b.lastKind &&
    a.newestCreatedAt === b.newestCreatedAt &&
    a.heals === b.heals &&
    a.gapNotice === b.gapNotice &&
    sameVersions(a.ahead, b.ahead) &&
    sameVersions(a.owed, b.owed) &&
    a.skipped === b.skipped
  );
}
