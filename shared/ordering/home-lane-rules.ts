import { FENCE_OWNER, patched, type Claim, type Watermark } from './watermark';

/**
 * Who may deliver an `in-order` account: its home lane (the shard Lambda serializes its batches on), a claim's owner,
 * or nobody while a fence runs. Free of I/O; `InOrderHomeRun` and `InOrderClaimRun` carry these out (see the README,
 * *Concurrency: home lanes, claims, fencing and deadlines*).
 */

/**
 * Another lane (or a side path) fences the account's home lane off until `until`: the home is cleared and a claim
 * nobody holds keeps every engine away, so that any delivery the home lane began before it ends first.
 */
export function fenced(w: Watermark, token: string, until: number): Watermark {
  return patched(w, { home: undefined, homeActiveAt: undefined, claim: { owner: FENCE_OWNER, token, version: w.version + 1, expiresAt: until } });
}

/**
 * A claimed commit on `lane` (undefined: a side path, which homes nothing): the home's commit keeps it active; a lane
 * becomes the home on its second claimed commit in a row (the first makes it the candidate), so a duplicate that
 * reached another shard before the original does not take the account there. Another lane's home is left alone.
 */
export function homedOn(w: Watermark, lane: string | undefined, now: number): Watermark {
  if (lane === undefined || (w.home !== undefined && w.home !== lane)) return w;
  if (w.home === lane) return patched(w, { homeActiveAt: now });
  if (w.homeCandidate === lane) return patched(w, { home: lane, homeActiveAt: now, homeCandidate: undefined });
  return patched(w, { homeCandidate: lane });
}

/**
 * Whether a delivery made on home lane `lane` without a claim may still be committed on `fresh` (a watermark re-read
 * after a lost race): `covered` when the version is already there; `home` when it follows on and the account is still
 * homed there with no other engine's live claim; `fenced` when it follows on and a fence written since our read has
 * more than `reserveMs` left (our delivery ended inside our bound, before anyone may deliver after the fence);
 * otherwise `lost`.
 */
export function homeDeliveryStands(
  fresh: Watermark,
  version: number,
  lane: string | undefined,
  owner: string,
  now: number,
  reserveMs: number,
): 'covered' | 'home' | 'fenced' | 'lost' {
  if (fresh.version >= version) return 'covered';
  if (fresh.version !== version - 1) return 'lost';
  const claim = fresh.claim;
  if (fresh.home === lane && !heldByAnother(claim, owner, now)) return 'home';
  if (claim?.owner === FENCE_OWNER && now < claim.expiresAt - reserveMs) return 'fenced';
  return 'lost';
}

/** Another engine's claim (or a fence) that is still live at `now`: nobody else delivers the account meanwhile. */
export function heldByAnother(claim: Claim | undefined, owner: string, now: number): boolean {
  return claim !== undefined && claim.owner !== owner && claim.expiresAt > now;
}

export function covers(claim: Claim, version: number): boolean {
  return claim.version <= version && version <= (claim.through ?? claim.version);
}

