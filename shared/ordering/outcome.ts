import type { ChangeRecord, RecordPosition } from '../change-record/change-record';

/** What became of one input record. Every record of a batch ends with exactly one. */
export type Disposition =
  | 'delivered'
  | 'duplicate'
  | 'stale'
  | 'parked'
  | 'dead-lettered'
  | 'before-window'
  /** Neither delivered, parked nor dead-lettered: report it to Lambda so the batch is retried from it. */
  | 'failed';

export interface RecordDisposition extends RecordPosition {
  readonly accountId: string;
  readonly version: number;
  readonly disposition: Disposition;
}

/** Counters of one `process` or `sweep` call; the consumers publish them as metrics. */
export interface EngineCounts {
  /** Versions the destination accepted, healed ones and drained parked ones included. */
  delivered: number;
  /** Accepted deliveries that were rebuilt from their neighbours. */
  healed: number;
  /** Records skipped as already delivered, plus deliveries the destination already held. */
  duplicates: number;
  /** Records older than what was (or is being) delivered, plus deliveries the destination refused as stale. */
  stale: number;
  /** Records newly parked in the ledger. */
  parked: number;
  /** Parked records that left the ledger: delivered or dead-lettered. */
  unparked: number;
  /** Letters stored in the dead-letter queue: failed deliveries, contract breaches and gap time-out notices. */
  deadLettered: number;
  /** Records skipped because they precede a replay epoch's window (never in a live epoch). */
  beforeWindow: number;
  /** Letters for records that break the version contract (CONTRACT_BREACH). */
  contractBreaches: number;
  /** Letters for real records that differ from their heal (HEAL_MISMATCH). */
  healMismatches: number;
  /** Letters for in-order records below the account's start or an operator's skip (BEFORE_BASELINE). */
  beforeBaseline: number;
  /** Letters for in-order records that could not be parked without exceeding the per-account bound (PARK_LIMIT). */
  parkLimit: number;
  /** Gaps an operator skipped (`fanout redrive --skip-gap`), and the versions they gave up on. */
  gapsSkipped: number;
  versionsSkipped: number;
  /** Accounts whose start was set to their lowest waiting version after the maximum gap age. */
  baselined: number;
  /** Gaps given up on after the maximum gap age: one GAP_TIMEOUT notice each (also counted in `deadLettered`). */
  gapTimeouts: number;
  /** Conditional ledger writes lost to another engine, each followed by a re-read and a re-plan. */
  ledgerConflicts: number;
  /** Claims found taken over by another engine after they expired (and home deliveries committed too late to count). */
  claimsLost: number;
  /** `in-order` accounts found homed on another lane and fenced off before this engine delivers to them. */
  homesFenced: number;
  /** Records reported as failed. */
  failed: number;
}

export function zeroCounts(): EngineCounts {
  return {
    delivered: 0,
    healed: 0,
    duplicates: 0,
    stale: 0,
    parked: 0,
    unparked: 0,
    deadLettered: 0,
    beforeWindow: 0,
    contractBreaches: 0,
    healMismatches: 0,
    beforeBaseline: 0,
    parkLimit: 0,
    gapsSkipped: 0,
    versionsSkipped: 0,
    baselined: 0,
    gapTimeouts: 0,
    ledgerConflicts: 0,
    claimsLost: 0,
    homesFenced: 0,
    failed: 0,
  };
}

/** Adds `more` into `total`, counter by counter: for totals across batches and sweeps. */
export function addCounts(total: EngineCounts, more: Readonly<EngineCounts>): void {
  for (const key of Object.keys(total) as (keyof EngineCounts)[]) total[key] += more[key];
}

export interface BatchOutcome {
  readonly counts: EngineCounts;
  readonly dispositions: readonly RecordDisposition[];
  /** The records to report as `batchItemFailures`. */
  readonly failed: readonly RecordPosition[];
  /** A sweep that could not read all the accounts waiting for a missing version: why (see `Tally.failWaitingRead`). */
  readonly waitingUnread?: string;
}

/** Collects dispositions and counters across the accounts of one call. */
export class Tally {
  readonly counts = zeroCounts();
  readonly dispositions: RecordDisposition[] = [];
  /** Swept accounts that could not be finished (`failAccount`). */
  private readonly accountFailures: RecordPosition[] = [];
  private waitingUnread: string | undefined;

  /** `alreadyCounted`: the counter was raised when the destination answered (see `AccountRun.countAccepted`). */
  settle(record: ChangeRecord, disposition: Disposition, alreadyCounted = false): void {
    this.dispositions.push({
      accountId: record.accountId,
      version: record.version,
      sequenceNumber: record.sequenceNumber,
      shardId: record.shardId,
      disposition,
    });
    if (alreadyCounted) return;
    switch (disposition) {
      case 'duplicate':
        this.counts.duplicates += 1;
        break;
      case 'stale':
        this.counts.stale += 1;
        break;
      case 'parked':
        this.counts.parked += 1;
        break;
      case 'before-window':
        this.counts.beforeWindow += 1;
        break;
      case 'failed':
        this.counts.failed += 1;
        break;
      case 'delivered':
      case 'dead-lettered':
        // Counted when the destination or the queue answered, since drained and healed records count too.
        break;
    }
  }

  /**
   * A swept account that could not be finished (its records stay parked for the next sweep): a failure without a
   * stream position, naming the account and, when its watermark was read, the version it waits for.
   */
  /**
   * A sweep could not read the rest of the accounts waiting for a missing version (the gaps index out of reach): one
   * failure without an account or a position, so it is counted and logged (with `why`, as `waitingUnread`); the
   * accounts not read stay parked for the next sweep.
   */
  failWaitingRead(why: string): void {
    this.accountFailures.push({ sequenceNumber: '', shardId: '' });
    this.counts.failed += 1;
    this.waitingUnread = why;
  }

  failAccount(accountId: string, version?: number): void {
    this.accountFailures.push(version === undefined ? { accountId, sequenceNumber: '', shardId: '' } : { accountId, version, sequenceNumber: '', shardId: '' });
    this.counts.failed += 1;
  }

  outcome(): BatchOutcome {
    const failed = this.dispositions
      .filter((entry) => entry.disposition === 'failed')
      .map(({ sequenceNumber, shardId, accountId, version }): RecordPosition => ({ sequenceNumber, shardId, accountId, version }));
    failed.push(...this.accountFailures);
    const outcome = { counts: { ...this.counts }, dispositions: this.dispositions, failed };
    return this.waitingUnread === undefined ? outcome : { ...outcome, waitingUnread: this.waitingUnread };
  }
}
