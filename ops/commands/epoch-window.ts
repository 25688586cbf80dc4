import { LIVE_EPOCH } from '../../shared/ordering/delivery-mode';
import type { Watermark } from '../../shared/ordering/watermark';
import { destinationOf, type PipelineTarget } from '../target';

/*
 * Which accounts a replay epoch owes nothing. A replay epoch starts with an empty ledger and delivers only changes at
 * or after its window's start; an account whose latest change predates that start has nothing in the window, so it
 * never gets a watermark in the epoch. Counting it as missing would make every replay look behind forever.
 */

/** A destination's window: none in the live epoch (history starts at version 1), else the replay's start. */
export interface EpochWindow {
  /** The replay's start as configured (ISO), absent when the epoch has no window. */
  readonly from?: string;
  readonly fromMs?: number;
}

/**
 * The window of the epoch the target runs `name` under, as its function runs it: `EPOCH_REPLAY_FROM` in its
 * environment (what the engine itself reads; the stack sets it from `replayFrom`, else the mapping's timestamp). Not
 * the mapping's starting position: `fanout replay` starts reading minutes before the window. A replay epoch without
 * the variable has no window and owes every version, as the live epoch does. Throws when the environment cannot be
 * read or the time is not one.
 */
export async function epochWindowOf(target: PipelineTarget, name: string): Promise<EpochWindow> {
  if (destinationOf(target, name).epoch === LIVE_EPOCH.id) return {};
  const from = (await target.environment(name)).EPOCH_REPLAY_FROM;
  if (from === undefined || from === '') return {};
  const fromMs = Date.parse(from);
  if (!Number.isFinite(fromMs)) throw new RangeError(`EPOCH_REPLAY_FROM of ${name} is not a time: "${from}"`);
  return { from, fromMs };
}

/**
 * True when `updatedAt` (the item's `updated_at`) is before the window's start: the engine skips every change of the
 * account as before-window, since it judges by the same time. Unknown (no or an unreadable `updated_at`) is false:
 * nothing then shows the account is not owed.
 */
export function predatesWindow(window: EpochWindow, updatedAt: unknown): boolean {
  if (window.fromMs === undefined || typeof updatedAt !== 'string') return false;
  const ms = Date.parse(updatedAt);
  return Number.isFinite(ms) && ms < window.fromMs;
}

/** An account with no watermark in a replay epoch whose latest change predates the window: not part of the replay. */
export function unchangedSinceWindow(window: EpochWindow, watermark: Watermark | undefined, updatedAt: unknown): boolean {
  return watermark === undefined && predatesWindow(window, updatedAt);
}
