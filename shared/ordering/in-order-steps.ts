import type { ChangeRecord } from '../change-record/change-record';
import type { Epoch } from './delivery-mode';
import { chainBroken, type ContractBreach } from './contract';
import { healMissing } from './heal';
import { hasVersion, lowestVersion, rangeOf } from './version-ranges';
import { hasNoStart, windowStartFor } from './window';
import type { Watermark } from './watermark';
import { heldByAnother } from './home-lane-rules';

/**
 * What an `in-order` account's run does next, free of I/O: deliver, heal, load parked records, start, baseline, send a
 * gap notice, wait or finish. How each step changes the watermark is in-order-rules.ts.
 */

export type Step =
  /** Read parked records `from..to` from the ledger before deciding. */
  | { readonly kind: 'load-parked'; readonly from: number; readonly to: number }
  /** A replay epoch's account starts here: `record` proves its predecessor precedes the window. */
  | { readonly kind: 'start'; readonly floor: number; readonly record: ChangeRecord }
  /** After the maximum gap age, an account that never started starts at its lowest waiting version. */
  | { readonly kind: 'baseline'; readonly from: ChangeRecord }
  | { readonly kind: 'deliver'; readonly record: ChangeRecord; readonly healed: boolean }
  /** The next version breaks the contract: dead-letter it, and the account waits for an operator (blocked). */
  | { readonly kind: 'breach'; readonly breach: ContractBreach }
  /** After the maximum gap age, one GAP_TIMEOUT notice names the missing versions `from..to`. */
  | { readonly kind: 'gap-timeout'; readonly from: number; readonly to: number }
  | { readonly kind: 'wait' }
  | { readonly kind: 'done' };

const WAIT: Step = { kind: 'wait' };
const DONE: Step = { kind: 'done' };

/** What a run knows when it decides its next step. */
export interface InOrderView {
  readonly state: Watermark;
  readonly owner: string;
  readonly now: number;
  readonly epoch: Epoch;
  /** The account has waited for a missing version longer than the maximum gap age. */
  readonly waitedTooLong: boolean;
  /** How long a notice written as pending belongs to the engine sending it (the claim's lifetime). @default 60 s */
  readonly claimTtlMs?: number;
  /** The record of this version in hand (from the batch or loaded from the parked records), if any. */
  available(version: number): ChangeRecord | undefined;
  /** Listed as parked by the watermark but not in hand yet. */
  parkedButNotLoaded(version: number): boolean;
  /** The lowest version above the watermark in hand from the batch (parked ones are in `state.parked`). */
  lowestInHand(): number | undefined;
}

/**
 * Deliver watermark+1 if it is in hand, or heal it from watermark+2 when the images prove the change; otherwise wait
 * (park), unless the wait has outlived the maximum gap age: then baseline an account that never started, or send one
 * GAP_TIMEOUT notice for the gap. Another engine's live claim always means wait.
 */
export function nextInOrderStep(view: InOrderView): Step {
  const w = view.state;
  if (heldByAnother(w.claim, view.owner, view.now)) return WAIT;

  const start = provenStart(view);
  if (start) return start;

  const next = w.version + 1;
  const candidate = view.available(next);
  if (candidate) {
    const breach = chainBroken(w, candidate);
    return breach ? { kind: 'breach', breach } : { kind: 'deliver', record: candidate, healed: false };
  }
  if (view.parkedButNotLoaded(next) || view.parkedButNotLoaded(next + 1)) return loadFrom(w, next);
  const after = view.available(next + 1);
  if (after && !hasVersion(w.owed, next) && w.lastKind !== 'REMOVE') {
    const healed = healMissing(next, w.lastImage, after);
    if (healed) return { kind: 'deliver', record: healed, healed: true };
  }

  const lowest = lowestWaiting(view);
  if (lowest === undefined) return DONE;
  // Waiting behind a dead-lettered version is not a gap: the account resumes when that record is redriven.
  if (hasVersion(w.owed, next) || !view.waitedTooLong) return WAIT;
  if (hasNoStart(w)) {
    const record = view.available(lowest);
    return record ? { kind: 'baseline', from: record } : loadFrom(w, lowest);
  }
  // One notice per gap: the account then waits for the missing version or an operator's skip. A notice still pending
  // is being sent by the engine that wrote it; once that engine's time is up (it crashed), it is sent again.
  const notice = w.gapNotice;
  if (notice !== undefined && notice.from === next) {
    const abandoned = notice.pending === true && view.now - notice.at >= (view.claimTtlMs ?? 60_000);
    return abandoned ? { kind: 'gap-timeout', from: notice.from, to: notice.to } : WAIT;
  }
  return { kind: 'gap-timeout', from: next, to: lowest - 1 };
}

/** A replay epoch's account without a start, and a record in hand (or the floor's successor) that proves one. */
function provenStart(view: InOrderView): Step | undefined {
  const w = view.state;
  if (view.epoch.from === undefined || !hasNoStart(w)) return undefined;
  let best: Step | undefined;
  for (const version of [view.lowestInHand(), lowestVersion(w.parked)]) {
    const record = version === undefined ? undefined : view.available(version);
    const floor = record === undefined ? undefined : windowStartFor(view.epoch, w, record);
    if (record && floor !== undefined && (best === undefined || (best.kind === 'start' && floor < best.floor))) {
      best = { kind: 'start', floor, record };
    }
  }
  return best;
}

/** The lowest version waiting above the watermark: in hand from the batch, or parked. */
function lowestWaiting(view: InOrderView): number | undefined {
  const inHand = view.lowestInHand();
  const parked = lowestVersion(view.state.parked);
  if (inHand === undefined) return parked;
  return parked === undefined ? inHand : Math.min(inHand, parked);
}

/** Parked records from `from` to the end of their run, at most one read's worth. */
function loadFrom(w: Watermark, from: number): Step {
  const range = rangeOf(w.parked, from) ?? rangeOf(w.parked, from + 1);
  return { kind: 'load-parked', from, to: range ? range[1] : from + 1 };
}
