import { LedgerUnavailableError } from '../ordering/errors';
import type { Ledger } from '../ordering/ports';

/*
 * What waits in the ledger for a missing version, as a batch or a sweep reports it (the parked-accounts metrics and
 * alarm). Apart from the consumer because it reads the ledger's gaps index, not the batch in hand.
 */

export interface WaitingReport {
  /** Accounts waiting for a missing version (counted up to `MAX_WAITING_COUNTED`). */
  readonly accounts: number;
  /** Seconds the longest-waiting account has waited; 0 when none waits. */
  readonly oldestAgeSeconds: number;
  /** Accounts waiting longer than the threshold. */
  readonly tooLong: number;
}

/** Beyond this many waiting accounts the report stops counting: the alarm has long fired by then. */
export const MAX_WAITING_COUNTED = 1_000;

/**
 * Reads the gaps index, oldest wait first, at `now`; an account waiting longer than `thresholdMs` counts as waiting
 * too long. Undefined if the ledger is out of reach.
 */
export async function readWaitingReport(ledger: Ledger, now: number, thresholdMs: number): Promise<WaitingReport | undefined> {
  const cutoff = now - thresholdMs;
  let accounts = 0;
  let oldest: number | undefined;
  let tooLong = 0;
  try {
    for await (const { since } of ledger.waiting()) {
      oldest ??= since;
      accounts += 1;
      if (since <= cutoff) tooLong += 1;
      if (accounts >= MAX_WAITING_COUNTED) break;
    }
  } catch (error) {
    if (error instanceof LedgerUnavailableError) return undefined;
    throw error;
  }
  return { accounts, tooLong, oldestAgeSeconds: oldest === undefined ? 0 : Math.max(0, Math.round((now - oldest) / 1000)) };
}
