import type { DeliveryMode } from './delivery-mode';
import { hasVersion, lowestVersion } from './version-ranges';
import { holesOf } from './every-version-rules';
import { FENCE_OWNER, type Watermark } from './watermark';

/**
 * The states an account moves between, per destination and epoch, derived from its watermark alone. The transitions
 * are the functions of `in-order-steps.ts`, `in-order-rules.ts`, `home-lane-rules.ts` and `every-version-rules.ts` (the README tables them, with their tests).
 *
 * - `new`: nothing delivered or waiting in this epoch.
 * - `in-step`: everything up to the watermark delivered (or accounted for), nothing waiting.
 * - `delivering`: an `in-order` claim is live: one engine is delivering the account.
 * - `fenced`: `in-order` only: an engine found the account homed on another lane and fenced that lane off; nobody
 *   delivers until the fence ends (`homeBoundMs`), then the next engine to touch the account claims it.
 * - `parked-behind-gap`: records wait for a missing version; the gap clock runs (`every-version`: versions were
 *   delivered above a missing one, and it is still expected).
 * - `blocked-on-failure`: `in-order` only: the next version is in the dead-letter queue (its delivery failed for good,
 *   or it breaks the contract); the account waits for it to be redriven, or for an operator to skip it. Never timed out
 *   (while records wait behind it the account still counts as waiting, so the waiting metrics show it).
 * - `gap-timed-out`: `in-order` only: the missing version did not come within the maximum gap age and a GAP_TIMEOUT
 *   notice went out; the account waits for the version (redrive or replay) or for an operator's skip.
 *
 * An operator's skip (`fanout redrive --skip-gap`) is a transition, not a state: from `gap-timed-out`,
 * `parked-behind-gap` or `blocked-on-failure` back to delivering, with the skipped versions and the reason kept.
 */
export type AccountState = 'new' | 'in-step' | 'delivering' | 'fenced' | 'parked-behind-gap' | 'blocked-on-failure' | 'gap-timed-out';

export const ACCOUNT_STATES: readonly AccountState[] = [
  'new',
  'in-step',
  'delivering',
  'fenced',
  'parked-behind-gap',
  'blocked-on-failure',
  'gap-timed-out',
];

export function accountState(w: Watermark | undefined, mode: DeliveryMode, now: number): AccountState {
  if (w === undefined) return 'new';
  if (mode === 'in-order') {
    if (w.claim !== undefined && w.claim.expiresAt > now) return w.claim.owner === FENCE_OWNER ? 'fenced' : 'delivering';
    const next = w.version + 1;
    if (hasVersion(w.owed, next)) return 'blocked-on-failure';
    if (w.parked.length > 0) return w.gapNotice?.from === next ? 'gap-timed-out' : 'parked-behind-gap';
  } else if (mode === 'every-version' && w.ahead.length > 0 && holesOf(w).length > 0) {
    return 'parked-behind-gap';
  }
  const nothing = w.version === 0 && w.floor === undefined && lowestVersion(w.ahead) === undefined;
  return nothing ? 'new' : 'in-step';
}
