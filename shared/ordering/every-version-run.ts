import type { ChangeRecord } from '../change-record/change-record';
import { AccountRun } from './account-run';
import { healMissing } from './heal';
import type { DeliveryResult } from './ports';
import { contiguousFrom, isUnstarted, sortedUnique, type Watermark } from './watermark';

/**
 * `every-version`: delivers every version at least once, in any order, and never waits.
 *
 * The watermark is the highest version with nothing missing below it; versions delivered above it are kept in
 * `ahead` so a redelivery is skipped. One conditional write per account per batch, none when all were duplicates.
 * A lost race re-reads and merges: the delivered sets only ever grow, so the watermark never moves backwards.
 */
export class EveryVersionRun extends AccountRun {
  async run(): Promise<void> {
    if (isUnstarted(this.watermark) && this.ctx.epoch.baseline === 'first-seen' && this.records.size > 0) {
      const first = this.records.get(Math.min(...this.records.keys())) as ChangeRecord;
      this.watermark = startAt(this.watermark, first);
    }
    this.settleKnown((version) => this.isDelivered(version));

    const deliveries = this.unsettledVersions().map((version) => ({
      record: this.records.get(version) as ChangeRecord,
      healed: false,
    }));
    const healed = this.healable();
    if (healed) deliveries.push({ record: healed, healed: true });

    const results = await this.ctx.deliverAll(deliveries.map((d) => this.delivery(d.record, d.healed)));
    const accepted = new Map<number, ChangeRecord>();
    const acceptedBatch = new Map<number, DeliveryResult>();
    const letters: Promise<void>[] = [];
    const lettered: number[] = [];
    deliveries.forEach(({ record, healed: isHealed }, index) => {
      const result = results[index] as DeliveryResult;
      if (result.status !== 'failed') {
        this.countAccepted(result, isHealed);
        accepted.set(record.version, record);
        if (!isHealed) acceptedBatch.set(record.version, result);
        return;
      }
      letters.push(
        this.deadLetterFailure(record, result).then((stored) => {
          if (stored) lettered.push(record.version);
          this.settle(record.version, stored ? 'dead-lettered' : 'failed');
        }),
      );
    });
    await Promise.all(letters);

    // Acted on once (a baseline counted, a letter sent), then re-applied to the fresh watermark after a lost race.
    let gap: GapOutcome | undefined;
    for (;;) {
      let next = settle(this.watermark, accepted, lettered, this.ctx.now());
      if (gap === undefined && this.gapExpiredOn(next)) gap = await this.onGapTimeout(next);
      if (gap !== undefined) next = applyGapOutcome(next, gap, this.ctx.now());
      if (sameState(next, this.watermark)) break;
      this.watermark = next;
      if (await this.flush()) break;
      await this.reload();
    }
    for (const [version, result] of acceptedBatch) this.settleAccepted(version, result);
  }

  private isDelivered(version: number): boolean {
    return version <= this.watermark.version || this.watermark.ahead.includes(version);
  }

  /** The one missing version right above the watermark, rebuilt, when the batch holds its successor. */
  private healable(): ChangeRecord | undefined {
    const missing = this.watermark.version + 1;
    const after = this.records.get(missing + 1);
    if (this.records.has(missing) || after === undefined || this.watermark.deadLettered.includes(missing)) {
      return undefined;
    }
    return healMissing(missing, this.watermark.lastImage, after);
  }

  private gapExpiredOn(w: Watermark): boolean {
    return w.gapSince !== undefined && this.ctx.now() - w.gapSince >= this.ctx.maxGapAgeMs;
  }

  /**
   * After the maximum gap age: an account that never started (its history predates the pipeline) starts at its
   * lowest delivered version; otherwise the missing versions are reported to the dead-letter queue.
   */
  private async onGapTimeout(w: Watermark): Promise<GapOutcome> {
    if (neverStarted(w) && this.ctx.epoch.baseline === 'from-version-1') {
      this.ctx.tally.counts.baselined += 1;
      return { baseline: true, lettered: [] };
    }
    const missingVersions = missingBelowAhead(w);
    const stored = await this.sendLetter({
      destination: this.ctx.destination,
      epoch: this.ctx.epoch.id,
      reason: 'GAP_TIMEOUT',
      detail: `versions ${missingVersions.join(', ')} did not arrive within ${this.ctx.maxGapAgeMs} ms`,
      attempts: 0,
      accountId: w.accountId,
      version: missingVersions[0] as number,
      missingVersions,
      at: this.ctx.now(),
    });
    if (!stored) return { baseline: false, lettered: [] };
    this.ctx.tally.counts.gapTimeouts += missingVersions.length;
    return { baseline: false, lettered: missingVersions };
  }
}

/** What a gap time-out decided: start the account at its lowest delivered version, or letters for the missing. */
interface GapOutcome {
  readonly baseline: boolean;
  readonly lettered: readonly number[];
}

function neverStarted(w: Watermark): boolean {
  return w.version === 0 && w.floor === undefined;
}

function applyGapOutcome(w: Watermark, gap: GapOutcome, now: number): Watermark {
  if (gap.baseline && neverStarted(w) && w.ahead.length > 0) {
    const floor = Math.min(...w.ahead) - 1;
    return settle({ ...w, floor, version: floor }, new Map(), [], now);
  }
  return settle(w, new Map(), gap.lettered, now);
}

function startAt(w: Watermark, first: ChangeRecord): Watermark {
  const floor = first.version - 1;
  return { ...w, version: floor, floor, lastImage: first.oldImage };
}

/** Merges what was delivered and dead-lettered into the watermark; only ever moves it forward. */
function settle(
  w: Watermark,
  delivered: ReadonlyMap<number, ChangeRecord>,
  lettered: readonly number[],
  now: number,
): Watermark {
  if (w.ahead.length === 0 && w.deadLettered.length === 0 && lettered.length === 0) {
    // The common case, without sets: what was delivered simply extends the watermark.
    let version = w.version;
    while (delivered.has(version + 1)) version += 1;
    if (version - w.version === delivered.size) {
      const lastImage = version === w.version ? w.lastImage : delivered.get(version)?.newImage;
      return { ...w, version, lastImage, gapSince: undefined };
    }
  }
  const present = new Set([...w.ahead, ...delivered.keys()]);
  const version = contiguousFrom(w.version, present);
  const ahead = sortedUnique([...present].filter((v) => v > version));
  const deadLettered = sortedUnique([...w.deadLettered, ...lettered]).filter(
    (v) => v > version && !present.has(v),
  );
  // The image at the watermark is known only if that version passed through this run (or did not move).
  const lastImage = version === w.version ? w.lastImage : delivered.get(version)?.newImage;
  const next: Watermark = { ...w, version, ahead, deadLettered, lastImage, gapSince: undefined };
  return missingBelowAhead(next).length > 0 ? { ...next, gapSince: w.gapSince ?? now } : next;
}

/** Versions between the watermark and the highest delivered one that neither arrived nor were dead-lettered. */
function missingBelowAhead(w: Watermark): number[] {
  const top = w.ahead.length > 0 ? Math.max(...w.ahead) : w.version;
  const missing: number[] = [];
  for (let v = w.version + 1; v < top; v += 1) {
    if (!w.ahead.includes(v) && !w.deadLettered.includes(v)) missing.push(v);
  }
  return missing;
}

function sameState(a: Watermark, b: Watermark): boolean {
  return (
    a.version === b.version &&
    a.floor === b.floor &&
    a.gapSince === b.gapSince &&
    a.lastImage === b.lastImage &&
    sameList(a.ahead, b.ahead) &&
    sameList(a.deadLettered, b.deadLettered)
  );
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((value, index) => value === b[index]);
}
