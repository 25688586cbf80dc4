/**
 * How a destination wants an account's versions.
 *
 * - `every-version`: every version at least once, in any order (an audit log). Nothing waits for a gap.
 * - `latest-state`: only the newest version matters (a search index); older arrivals are stale.
 * - `in-order`: exactly watermark+1, +2, ... (a fraud model); a version waits, parked, until its predecessor
 *   has been delivered or can be healed.
 */
export type DeliveryMode = 'every-version' | 'latest-state' | 'in-order';

/**
 * A ledger epoch: a fresh set of watermarks for one destination, e.g. one per replay.
 *
 * Where an account's history starts in the epoch, when the ledger knows nothing of it yet:
 * - without `from` (the live epoch): at version 1, as the version contract says. The engine waits for version 1 (and
 *   heals it from version 2 if it can); an account that predates the pipeline never sends it, so after the maximum
 *   gap age its lowest waiting version becomes its start (counted as baselined). Nothing is ever skipped: a version
 *   below that start that turns up later is delivered (`every-version`) or dead-lettered as BEFORE_BASELINE
 *   (`in-order`).
 * - with `from` (a replay from a point in time): at the first version whose change happened at or after `from`,
 *   decided by the records' own times (see `window.ts`), whatever order they arrive in. Changes before `from` are
 *   skipped as before the window, and only here.
 */
export interface Epoch {
  readonly id: string;
  /** Deliveries of a replay epoch carry a replay marker so receivers can keep them away from live actions. */
  readonly replay: boolean;
  /** Microseconds since the epoch: the replay's start. Changes before it are outside this epoch's window. */
  readonly from?: number;
  /**
   * Microseconds since the epoch. When set (and `replay` is on), only changes created before this time are delivered
   * as replays: once a replay epoch has caught up with the present, new changes are live, not replays.
   */
  readonly replayBefore?: number;
}

export const LIVE_EPOCH: Epoch = { id: 'live', replay: false };

/** Whether a delivery of a change created at `createdAtMicros` carries the replay marker in `epoch`. */
export function isReplayDelivery(epoch: Epoch, createdAtMicros: number): boolean {
  return epoch.replay && (epoch.replayBefore === undefined || createdAtMicros < epoch.replayBefore);
}

/**
 * When an `in-order` run commits its watermark.
 *
 * - `per-version` (default): after every delivered version, in the same write that claims the next one: k+1 ledger
 *   writes for k versions, and a crash between a delivery and its commit re-delivers only that one version.
 * - `per-batch`: one claim over the versions in hand and one commit at the end: 2 writes per account per batch. A
 *   crash can re-deliver the claimed run from its start, in order; receivers drop the repeats by event id.
 */
export type InOrderCommit = 'per-version' | 'per-batch';
