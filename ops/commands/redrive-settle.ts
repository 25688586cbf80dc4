import { setTimeout as sleep } from 'node:timers/promises';
import type { AccountView } from '../../shared/consumer/operator-command';
import { hasVersion } from '../../shared/ordering/version-ranges';
import type { PipelineTarget } from '../target';
import { resumeAccounts } from './redrive-gaps';

/**
 * The last step of `fanout redrive` for `in-order` accounts. A redrive is a side path: where an account's home lane
 * delivered within its bound, the redriven version is parked for that lane; where the home has gone quiet, it is
 * fenced off and nobody delivers until the fence ends. Either way the version is in hand but not delivered, and the
 * sweeper would deliver it within a minute. The redrive instead revisits those accounts (`resume`) until they have
 * gone out, so that what it redrove is delivered when it returns.
 */

/** The account's next version is in hand and waits: behind a fence, or parked for a home lane. */
export function waitsForItsLane(view: AccountView): boolean {
  return view.state === 'fenced' || (view.state !== 'blocked-on-failure' && hasVersion(view.parked, view.version + 1));
}

export interface SettleReport {
  /** Accounts that waited after their records were redriven. */
  readonly accounts: number;
  /** Of those, the ones delivered by the revisits. */
  readonly delivered: number;
  /** Still waiting when the bound passed (the sweeper delivers them). */
  readonly stillWaiting: readonly AccountView[];
  readonly waitedMs: number;
  /**
   * Why the revisits stopped early: an invocation failed (Lambda throttled it past the SDK's retries, it timed out...).
   * The redriven versions are in hand all the same, and the sweeper delivers them.
   */
  readonly error?: string;
}

export interface SettleOptions {
  /** How long to keep revisiting: a home's bound, then a fence's. */
  readonly boundMs: number;
  /** @default 1000 */
  readonly everyMs?: number;
}

/**
 * Revisits the waiting accounts every `everyMs` until none waits or `boundMs` passes. Never throws: it runs after the
 * redrive has deleted the letters it sent, so a failed revisit stops the revisits (`error`) rather than the report.
 */
export async function settleWaiting(target: PipelineTarget, destination: string, waiting: readonly AccountView[], options: SettleOptions): Promise<SettleReport> {
  const started = Date.now();
  let left = [...waiting];
  let error: string | undefined;
  while (left.length > 0 && Date.now() - started < options.boundMs) {
    await sleep(options.everyMs ?? 1_000);
    let views: Map<string, AccountView>;
    try {
      views = await resumeAccounts(target, destination, left.map(({ accountId }) => accountId));
    } catch (failure) {
      error = failure instanceof Error ? failure.message : String(failure);
      break;
    }
    left = left.map((view) => views.get(view.accountId) ?? view).filter(waitsForItsLane);
  }
  return { accounts: waiting.length, delivered: waiting.length - left.length, stillWaiting: left, waitedMs: Date.now() - started, ...(error !== undefined ? { error } : {}) };
}
