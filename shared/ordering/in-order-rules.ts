import type { ChangeRecord } from '../change-record/change-record';
import type { BaselineRule } from './delivery-mode';
import { healMissing } from './heal';
import { isUnstarted, sortedUnique, type Claim, type Watermark } from './watermark';

/**
 * The rules of `in-order`, free of I/O: what an account's run does next, and how a delivery or a dead letter
 * changes its watermark. `InOrderRun` carries them out against the ledger, the destination and the queue.
 */

export type Step =
  | { readonly kind: 'load-parked' }
  | { readonly kind: 'baseline'; readonly from: ChangeRecord; readonly afterGap: boolean }
  | { readonly kind: 'deliver'; readonly record: ChangeRecord; readonly healed: boolean }
  | { readonly kind: 'gap-timeout' }
  | { readonly kind: 'wait' }
  | { readonly kind: 'done' };

const LOAD_PARKED: Step = { kind: 'load-parked' };
const GAP_TIMEOUT: Step = { kind: 'gap-timeout' };
const WAIT: Step = { kind: 'wait' };
const DONE: Step = { kind: 'done' };

/** What a run knows when it decides its next step. */
export interface InOrderView {
  readonly state: Watermark;
  readonly owner: string;
  readonly now: number;
  readonly baseline: BaselineRule;
  /** The account has waited for a missing version longer than the maximum gap age. */
  readonly waitedTooLong: boolean;
  /** The record of this version in hand (from the batch or loaded from the parked records), if any. */
  available(version: number): ChangeRecord | undefined;
  /** Listed as parked by the watermark but not in hand yet. */
  parkedButNotLoaded(version: number): boolean;
  /** The lowest record above the watermark in hand. */
  lowestWaiting(): ChangeRecord | undefined;
}

/**
 * Deliver watermark+1 if it is in hand, or heal it from watermark+2; otherwise wait (park), unless the wait has
 * outlived the maximum gap age: then baseline an account that never started, or time its waiting records out.
 * Another engine's live claim always means wait.
 */
export function nextInOrderStep(view: InOrderView): Step {
  const w = view.state;
  if (w.claim && w.claim.owner !== view.owner && w.claim.expiresAt > view.now) return WAIT;
  if (isUnstarted(w) && w.parked.some((version) => view.parkedButNotLoaded(version))) return LOAD_PARKED;
  if (isUnstarted(w) && view.baseline === 'first-seen') {
    const lowest = view.lowestWaiting();
    return lowest ? { kind: 'baseline', from: lowest, afterGap: false } : DONE;
  }

  const next = w.version + 1;
  const candidate = view.available(next);
  if (candidate) return { kind: 'deliver', record: candidate, healed: false };
  if (view.parkedButNotLoaded(next) || view.parkedButNotLoaded(next + 1)) return LOAD_PARKED;
  const after = view.available(next + 1);
  if (after && !w.deadLettered.includes(next)) {
    const healed = healMissing(next, w.lastImage, after);
    if (healed) return { kind: 'deliver', record: healed, healed: true };
  }

  if (w.parked.length === 0 && view.lowestWaiting() === undefined) return DONE;
  // Waiting behind a dead-lettered version is not a gap: the account resumes when that record is redriven.
  if (w.deadLettered.includes(next) || !view.waitedTooLong) return WAIT;
  if (w.parked.some((version) => view.parkedButNotLoaded(version))) return LOAD_PARKED;
  const lowest = view.lowestWaiting();
  if (lowest === undefined) return DONE;
  if (isUnstarted(w) && view.baseline === 'from-version-1') {
    return { kind: 'baseline', from: lowest, afterGap: true };
  }
  return GAP_TIMEOUT;
}

/** The watermark after `record` was delivered. Progress restarts the gap clock: what matters is how long it is stuck. */
export function advance(w: Watermark, record: ChangeRecord): Watermark {
  return {
    ...w,
    version: record.version,
    parked: without(w.parked, record.version),
    deadLettered: without(w.deadLettered, record.version),
    lastImage: record.newImage,
    gapSince: undefined,
  };
}

/** The watermark after `versions` went to the dead-letter queue instead of the destination. */
export function deadLettered(w: Watermark, versions: readonly number[]): Watermark {
  const pending = versions.filter((version) => version > w.version);
  return {
    ...w,
    parked: w.parked.filter((version) => !pending.includes(version)),
    deadLettered: sortedUnique([...w.deadLettered, ...pending]),
  };
}

function without(versions: readonly number[], version: number): readonly number[] {
  return versions.length === 0 ? versions : versions.filter((other) => other !== version);
}

export function covers(claim: Claim, version: number): boolean {
  return claim.version <= version && version <= (claim.through ?? claim.version);
}
