import type { ChangeRecord } from '../change-record/change-record';
import type { AccountRun } from './account-run';
import { LedgerUnavailableError } from './errors';
import { Tally, type BatchOutcome } from './outcome';
import type { Ledger, WaitingAccount } from './ports';

/**
 * Waiting accounts a sweep works on at a time. Their watermarks are in memory together (up to 64 KB each, about
 * 1.3 KB for a small account item), so a sweep of 100,000 waiting accounts, as a destination outage leaves, reads and
 * holds them a page at a time rather than all at once.
 */
export const SWEEP_PAGE_ACCOUNTS = 1_000;

/** What the sweep needs of the engine: its ledger, a run of a page of accounts, and whether time is up. */
export interface SweepEngine {
  readonly ledger: Ledger;
  /** Runs the accounts (with no batch records) as the engine runs a batch's; undefined when none could start. */
  runAccounts(page: ReadonlyMap<string, ChangeRecord[]>, tally: Tally, deadline: number | undefined): Promise<AccountRun[] | undefined>;
  outOfTime(deadline: number | undefined): boolean;
}

/**
 * Revisits the accounts waiting for a missing version, a page at a time (see `OrderingEngine.sweep`), from where the
 * last sweep that ran out of time stopped (the ledger's sweep position): going on from there, later accounts are not
 * starved by the oldest ones taking every run's time (a destination down, 100,000 accounts waiting). A sweep that
 * reaches the end leaves no position, so the next starts with the oldest.
 */
export async function sweepWaiting(engine: SweepEngine, deadline: number | undefined): Promise<BatchOutcome> {
  const tally = new Tally();
  const { ledger } = engine;
  const from = await ledgerHint(() => ledger.sweepPosition());
  let waiting = ledger.waiting(from)[Symbol.asyncIterator]();
  let page = new Map<string, ChangeRecord[]>();
  let position = from;
  let read = 0;
  for (;;) {
    let next: IteratorResult<WaitingAccount>;
    try {
      next = await waiting.next();
    } catch (error) {
      if (!(error instanceof LedgerUnavailableError)) throw error;
      // The pages swept keep their counts and the accounts read are still swept; the rest waits for the next sweep.
      tally.failWaitingRead(error.message);
      break;
    }
    if (next.done) {
      // Nothing after the position (the last sweep stopped at the end): start over now rather than sweep nothing.
      if (read === 0 && position !== undefined) {
        position = undefined;
        waiting = ledger.waiting()[Symbol.asyncIterator]();
        continue;
      }
      position = undefined;
      break;
    }
    read += 1;
    page.set(next.value.accountId, []);
    position = next.value;
    if (page.size < SWEEP_PAGE_ACCOUNTS) continue;
    await sweepPage(engine, page, tally, deadline);
    page = new Map();
    if (engine.outOfTime(deadline)) break;
  }
  if (page.size > 0) await sweepPage(engine, page, tally, deadline);
  // The next sweep goes on after the last account swept, or starts with the oldest once this one reached the end.
  if (position !== from) await ledgerHint(() => ledger.saveSweepPosition(position));
  return tally.outcome();
}

/** A read or write of what only steers the sweep: a ledger out of reach costs the hint, not the sweep. */
async function ledgerHint<T>(work: () => Promise<T>): Promise<T | undefined> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof LedgerUnavailableError) return undefined;
    throw error;
  }
}

/**
 * Sweeps one page of waiting accounts. An account whose run could not finish (the ledger or the queue out of reach,
 * the destination not reached, out of time) is reported failed with the version it waits for: a sweep has no batch
 * records to fail, and without this its failures would go uncounted. Its records stay parked for the next sweep.
 */
async function sweepPage(engine: SweepEngine, page: ReadonlyMap<string, ChangeRecord[]>, tally: Tally, deadline: number | undefined): Promise<void> {
  const runs = await engine.runAccounts(page, tally, deadline);
  if (runs === undefined) {
    for (const accountId of page.keys()) tally.failAccount(accountId);
    return;
  }
  for (const run of runs) if (!run.finished) tally.failAccount(run.accountId, run.state.version + 1);
}
