import type { ChangeRecord } from '../change-record/change-record';
import { AccountRun } from './account-run';
import type { BaselineRule } from './delivery-mode';
import { advance, covers, deadLettered, nextInOrderStep, type InOrderView, type Step } from './in-order-rules';
import { MAX_LEDGER_WRITE_ITEMS, type DeliveryResult } from './ports';
import { sortedUnique, type Claim, type Watermark } from './watermark';

/**
 * `in-order`: delivers exactly watermark+1, +2, ... for one account.
 *
 * Before delivering, the run writes a claim (owner, versions, expiry) into the watermark. With `per-version` commits
 * each later write both commits the version just delivered and claims the next one: k+1 writes for k versions, and a
 * crash between a delivery and its commit can only re-deliver that one version, once the claim has expired. With
 * `per-batch` commits the claim covers every version in hand and one write at the end commits them all.
 * While another engine's claim is live this run delivers nothing: it parks what it has and the claim holder, whose
 * next write then loses the race and re-reads, drains it.
 */
export class InOrderRun extends AccountRun implements InOrderView {
  private parkedRecords: Map<number, ChangeRecord> | undefined;
  /** Batch records delivered but not yet committed: they settle when the watermark is written. */
  private readonly pending = new Map<number, DeliveryResult>();
  /**
   * What this run did (a delivery, dead letters) and has not written yet. After a lost race it is re-applied to the
   * fresh watermark, or dropped (returns undefined) when it no longer holds there.
   */
  private unwritten: ((fresh: Watermark) => Watermark | undefined) | undefined;
  private readonly toUnpark = new Set<number>();
  /** Versions this run sent to the dead-letter queue: not tried again until redriven. */
  private readonly spent = new Set<number>();
  private baselined = false;
  private dirty = false;

  async run(): Promise<void> {
    for (;;) {
      this.settleKnown((version) => !this.pending.has(version) && this.isAccountedFor(version));
      const step = this.nextStep();
      switch (step.kind) {
        case 'load-parked':
          await this.loadParked();
          continue;
        case 'baseline':
          this.baselineAt(step.from, step.afterGap);
          continue;
        case 'deliver':
          if (!(await this.deliverStep(step.record, step.healed))) return;
          continue;
        case 'gap-timeout':
          await this.deadLetterWaiting();
          await this.commit();
          continue;
        case 'wait':
          if (await this.parkWaiting()) return;
          continue;
        case 'done':
          this.release();
          if (await this.commit()) return;
          continue;
      }
    }
  }

  private isAccountedFor(version: number): boolean {
    return version <= this.watermark.version || this.watermark.parked.includes(version);
  }

  available(version: number): ChangeRecord | undefined {
    if (this.spent.has(version)) return undefined;
    return this.records.get(version) ?? this.parkedRecords?.get(version);
  }

  /** Listed as parked but not in hand: never loaded, or parked by another engine since we loaded. */
  parkedButNotLoaded(version: number): boolean {
    return this.watermark.parked.includes(version) && !this.parkedRecords?.has(version);
  }

  private nextStep(): Step {
    return nextInOrderStep(this);
  }

  // The run as the rules see it (InOrderView).
  get state(): Watermark {
    return this.watermark;
  }
  get owner(): string {
    return this.ctx.owner;
  }
  get now(): number {
    return this.ctx.now();
  }
  get baseline(): BaselineRule {
    return this.ctx.epoch.baseline;
  }
  get waitedTooLong(): boolean {
    return this.gapExpired();
  }

  /** The lowest record above the watermark that this run holds, from the batch or the parked records. */
  lowestWaiting(): ChangeRecord | undefined {
    const versions = [...this.records.keys(), ...(this.parkedRecords?.keys() ?? [])].filter(
      (version) => version > this.watermark.version && !this.spent.has(version),
    );
    if (versions.length === 0) {
      return undefined;
    }
    return this.available(Math.min(...versions));
  }

  private async loadParked(): Promise<void> {
    const loaded = await this.ctx.ledger.parked(this.accountId);
    this.parkedRecords = new Map();
    for (const record of loaded) {
      if (this.toUnpark.has(record.version)) continue;
      if (record.version > this.watermark.version) this.parkedRecords.set(record.version, record);
      else this.toUnpark.add(record.version);
    }
    // The parked items are the truth: items are written before the watermark that lists them.
    const parked = sortedUnique(this.parkedRecords.keys());
    if (parked.join() !== this.watermark.parked.join()) {
      this.watermark = { ...this.watermark, parked };
      this.update(this.watermark);
    }
  }

  private baselineAt(from: ChangeRecord, afterGap: boolean): void {
    const floor = from.version - 1;
    this.update({ ...this.watermark, version: floor, floor, lastImage: from.oldImage });
    // A lost race re-plans the same baseline on the fresh watermark; the account was baselined once.
    if (afterGap && !this.baselined) this.ctx.tally.counts.baselined += 1;
    this.baselined ||= afterGap;
  }

  /** Claims (if needed), delivers and applies one version. False when the run has to stop. */
  private async deliverStep(record: ChangeRecord, healed: boolean): Promise<boolean> {
    if (this.outOfTime()) {
      this.release();
      await this.commit();
      this.failRemaining();
      return false;
    }
    const now = this.ctx.now();
    const claim = this.watermark.claim;
    if (!(claim && this.isOurs(claim) && covers(claim, record.version) && claim.expiresAt > now)) {
      const expiresAt = Math.min(now + this.ctx.claimTtlMs, this.ctx.deadline ?? Number.POSITIVE_INFINITY);
      const through = this.ctx.inOrderCommit === 'per-batch' ? this.lastInHand(record.version) : record.version;
      this.update({
        ...this.watermark,
        claim: { owner: this.ctx.owner, version: record.version, expiresAt, ...(through > record.version ? { through } : {}) },
      });
      // A lost race re-reads and re-plans; nothing was delivered yet. A won one leaves the plan as it was.
      if (!(await this.commit())) return true;
    }

    const result = await this.ctx.deliver(this.delivery(record, healed));
    if (result.status !== 'failed') {
      this.countAccepted(result, healed);
      if (this.isUnsettled(record.version)) this.pending.set(record.version, result);
      this.remember(this.underOurClaim(record.version, (w) => advance(w, record)));
    } else {
      const stored = await this.deadLetterFailure(record, result);
      if (!stored) {
        // Neither delivered nor dead-lettered: release the claim and let the batch be retried.
        this.release();
        await this.commit().catch(() => false);
        this.failRemaining();
        return false;
      }
      this.settle(record.version, 'dead-lettered');
      this.spent.add(record.version);
      this.remember(this.underOurClaim(record.version, (w) => deadLettered(w, [record.version])));
    }
    return true;
  }

  /** The highest version from `from` on that this run can deliver without a hole, for a `per-batch` claim. */
  private lastInHand(from: number): number {
    let last = from;
    while (this.available(last + 1) !== undefined || this.watermark.parked.includes(last + 1)) last += 1;
    return last;
  }

  private isOurs(claim: Claim): boolean {
    return claim.owner === this.ctx.owner;
  }

  /** Drops our claim from the planned watermark: the run waits or ends. */
  private release(): void {
    const claim = this.watermark.claim;
    if (claim === undefined || !this.isOurs(claim)) return;
    this.update({ ...this.watermark, claim: undefined });
  }

  /** A fact that still holds on a fresh watermark only if our claim on `version` survived there. */
  private underOurClaim(version: number, apply: (w: Watermark) => Watermark): (fresh: Watermark) => Watermark | undefined {
    return (fresh) => {
      if (fresh.claim && this.isOurs(fresh.claim) && covers(fresh.claim, version)) return apply(fresh);
      this.ctx.tally.counts.claimsLost += 1;
      return undefined;
    };
  }

  /** Applies a fact to the planned watermark and keeps it, after the facts not yet written, for a lost race. */
  private remember(fact: (fresh: Watermark) => Watermark | undefined): void {
    const applied = fact(this.watermark);
    if (applied === undefined) return;
    const earlier = this.unwritten;
    this.unwritten = earlier === undefined ? fact : (fresh) => {
      const base = earlier(fresh);
      return base === undefined ? undefined : fact(base);
    };
    this.update(applied);
  }

  /**
   * Parks what waits behind the gap (or behind another engine's claim), as many records per write as one ledger
   * write may carry. True when the run is over.
   */
  private async parkWaiting(): Promise<boolean> {
    this.release();
    const waiting = this.unsettledVersions()
      .filter((version) => version > this.watermark.version && !this.watermark.parked.includes(version))
      .map((version) => this.records.get(version) as ChangeRecord);
    const park = waiting.slice(0, Math.max(0, MAX_LEDGER_WRITE_ITEMS - 1 - this.unparkable().length));
    if (park.length > 0) {
      this.update({ ...this.watermark, parked: sortedUnique([...this.watermark.parked, ...park.map((r) => r.version)]) });
    }
    if (!(await this.commit(park))) return false;
    for (const record of park) this.settle(record.version, 'parked');
    return park.length === waiting.length;
  }

  /** After the maximum gap age: every waiting record goes to the dead-letter queue with GAP_TIMEOUT. */
  private async deadLetterWaiting(): Promise<void> {
    const w = this.watermark;
    const waiting = sortedUnique([...this.unsettledVersions(), ...(this.parkedRecords?.keys() ?? [])])
      .filter((version) => version > w.version)
      .map((version) => this.available(version) as ChangeRecord);
    const lowest = waiting[0]?.version ?? w.version + 1;
    const missingVersions = Array.from({ length: lowest - w.version - 1 }, (_, index) => w.version + 1 + index);
    const stored = await Promise.all(
      waiting.map((record) =>
        this.sendLetter({
          destination: this.ctx.destination,
          epoch: this.ctx.epoch.id,
          reason: 'GAP_TIMEOUT',
          detail: `version ${w.version + 1} did not arrive within ${this.ctx.maxGapAgeMs} ms (waiting since ${new Date(w.gapSince ?? this.ctx.now()).toISOString()})`,
          attempts: 0,
          accountId: record.accountId,
          version: record.version,
          sequenceNumber: record.sequenceNumber,
          shardId: record.shardId,
          record,
          missingVersions,
          at: this.ctx.now(),
        }),
      ),
    );
    const letteredVersions = waiting.filter((_, index) => stored[index]).map((record) => record.version);
    for (const version of letteredVersions) {
      this.settle(version, 'dead-lettered');
      this.spent.add(version);
    }
    for (const record of waiting) if (!letteredVersions.includes(record.version)) this.settle(record.version, 'failed');
    this.ctx.tally.counts.gapTimeouts += letteredVersions.length;
    // The letters are stored whoever writes next, so this holds on any fresh watermark.
    this.remember((fresh) => deadLettered(fresh, letteredVersions));
  }

  private outOfTime(): boolean {
    const deadline = this.ctx.deadline;
    return deadline !== undefined && this.ctx.now() >= deadline - this.ctx.reserveMs;
  }

  /**
   * Plans a watermark change. The gap clock runs exactly while records are parked, and a version that leaves the
   * parked list (delivered or dead-lettered, by this run or by the engine whose write we lost to) leaves the table.
   */
  private update(next: Watermark): void {
    this.dirty = true;
    if (this.watermark.parked.length === 0 && next.parked.length === 0 && next.gapSince === undefined) {
      this.watermark = next;
      return;
    }
    for (const version of this.watermark.parked) {
      if (!next.parked.includes(version) && !this.toUnpark.has(version)) {
        this.toUnpark.add(version);
        this.ctx.tally.counts.unparked += 1;
      }
    }
    const gapSince = next.parked.length === 0 ? undefined : (next.gapSince ?? this.ctx.now());
    this.watermark = gapSince === next.gapSince ? next : { ...next, gapSince };
  }

  /** Parked records to remove: no longer listed by the planned watermark. */
  private unparkable(): number[] {
    if (this.toUnpark.size === 0) return [];
    return [...this.toUnpark].filter((version) => !this.watermark.parked.includes(version));
  }

  /**
   * Writes the planned watermark if it changed, with the parked records it adds and removes. On a lost race,
   * re-reads: our unwritten delivery still counts if our claim survived; if another engine took the claim over, it
   * will deliver that version again.
   */
  private async commit(park: readonly ChangeRecord[] = []): Promise<boolean> {
    for (;;) {
      const unpark = this.unparkable().slice(0, MAX_LEDGER_WRITE_ITEMS - 1 - park.length);
      if (!this.dirty && park.length === 0 && unpark.length === 0) {
        this.settlePending();
        return true;
      }
      if (!(await this.flush(park, unpark))) break;
      for (const version of unpark) this.toUnpark.delete(version);
      this.dirty = false;
      this.unwritten = undefined;
      // More removals than one write carries: write the same watermark again with the rest.
      if (this.unparkable().length > 0) {
        park = [];
        continue;
      }
      this.settlePending();
      return true;
    }
    const fact = this.unwritten;
    this.unwritten = undefined;
    this.dirty = false;
    const fresh = await this.reload();
    if (fact && fact(fresh) !== undefined) {
      this.remember(fact);
    } else if (fact) {
      // Another engine took our claim over and will deliver that version again; ours did reach the destination.
      this.settlePending();
    }
    return false;
  }

  private settlePending(): void {
    for (const [version, result] of this.pending) this.settleAccepted(version, result);
    this.pending.clear();
  }
}
