import { covers } from './home-lane-rules';
import type { Watermark } from './watermark';

/**
 * What lets an `in-order` run deliver its next version now:
 * - `held`: its own claim covers the version with enough time left for a delivery and its commit;
 * - `take`: a new (or renewed) claim first: a write;
 * - `home`: the account is homed on this run's lane (as the ledger holds it): deliver without a claim;
 * - `park`: the account is homed on another lane: park, and that lane drains it on its next batch (a lane never
 *   fences: what it holds is usually a copy of what the home has or is about to get);
 * - `fence`: a side path (a sweep, a redrive, a skip: no lane) finds the home gone quiet: fence it off;
 * - `stop`: no time left before the deadline.
 */
export type DeliveryRight = 'held' | 'take' | 'home' | 'park' | 'fence' | 'stop';

export interface RightView {
  /** The planned watermark (no other engine's live claim: the rules wait on those first). */
  readonly watermark: Watermark;
  readonly version: number;
  readonly owner: string;
  /** The token of the claim the run last took. */
  readonly claimToken: string | undefined;
  /** The home lane as the ledger holds it, not as planned. */
  readonly storedHome: string | undefined;
  readonly lane: string | undefined;
  /** When the run's watermark was read (taken before the read). */
  readonly readAt: number;
  readonly now: number;
  readonly deadline: number | undefined;
  readonly reserveMs: number;
  readonly claimTtlMs: number;
  readonly homeBoundMs: number;
}

/**
 * The delivery right for `view.version`. A delivery is only started with at least `reserveMs` to run before its
 * claim, its home bound or the deadline ends: one started with less would time out and be dead-lettered for the
 * engine's arithmetic, where handing the batch back to Lambda retries it.
 */
export function deliveryRight(view: RightView): DeliveryRight {
  const { watermark: w, now, reserveMs, claimTtlMs, deadline, lane } = view;
  if (deadline !== undefined && now >= deadline - reserveMs) return 'stop';
  const reachable = Math.min(now + claimTtlMs, deadline ?? Number.POSITIVE_INFINITY);
  const claim = w.claim;
  if (claim && claim.owner === view.owner && claim.token === view.claimToken && covers(claim, view.version)) {
    const left = claim.expiresAt - reserveMs - now;
    // Renew a claim that runs short while a renewal would extend it; otherwise use what is left, if it is enough.
    if (left >= claimTtlMs / 2 || reachable <= claim.expiresAt) return left >= reserveMs ? 'held' : 'stop';
  }
  if (w.home !== undefined && w.home === lane) {
    // A home not yet written is not one: what was delivered under the claim that earned it is committed first (the
    // claim's next write). When the home bound runs short the run claims (a write) before going on.
    if (view.storedHome === lane && homeDeadline(view) - reserveMs - now >= reserveMs) return 'home';
  } else if (w.home !== undefined) {
    // Only a side path fences, and only a home that has gone quiet (a reshard's parent, a lane whose original of the
    // version never came): the sweep finds what a lane parked, and a fence costs the account a wait.
    const quiet = now - (w.homeActiveAt ?? 0) >= view.homeBoundMs;
    return lane === undefined && quiet ? 'fence' : 'park';
  }
  return reachable - reserveMs - now >= reserveMs ? 'take' : 'stop';
}

/**
 * The shortest claim lifetime that lets a delivery start under a fresh claim: `deliveryRight` takes one only with
 * `reserveMs` left to deliver after keeping `reserveMs` for the commit. A shorter lifetime never delivers anything.
 */
export function shortestClaimTtlMs(reserveMs: number): number {
  return 2 * reserveMs;
}

/** The end of what the home lane may deliver without a claim: `homeBoundMs` after its read, within the deadline. */
export function homeDeadline(view: Pick<RightView, 'readAt' | 'homeBoundMs' | 'deadline'>): number {
  return Math.min(view.readAt + view.homeBoundMs, view.deadline ?? Number.POSITIVE_INFINITY);
}
