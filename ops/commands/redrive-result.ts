import type { VersionRanges } from '../../shared/ordering/version-ranges';
import type { SkipReport } from './redrive-gaps';
import type { SettleReport } from './redrive-settle';

/* What `fanout redrive` reports: its counts, failures and gap notices, printed (`redrive-print.ts`) or as JSON. */

/** Per reason: letters received, sent through the engine and deleted, left failing, left aside, deleted. */
export interface RedriveCounts {
  received: number;
  redriven: number;
  stillFailing: number;
  skipped: number;
  deleted: number;
}

export interface GapTimeoutReport {
  readonly accountId?: string;
  readonly epoch: string;
  /** The versions the account never received, e.g. `3-4, 9`. */
  readonly missingVersions: string;
  /** The same versions as ranges, e.g. `[[3, 4], [9, 9]]`. */
  readonly missing: VersionRanges;
  /** The gap has closed since (the versions were delivered, or skipped): the notice was deleted. */
  readonly resolved: boolean;
  readonly deleted: boolean;
  /** What to do about a notice still open. */
  readonly advice?: string;
}

export interface RedriveFailure {
  readonly reason: string;
  readonly accountId?: string;
  readonly version?: number;
  readonly detail: string;
}

/** What `redrive` prints (`--json`: this document). */
export interface RedriveResult {
  readonly destination: string;
  readonly queueUrl: string;
  readonly epoch: string;
  readonly dryRun: boolean;
  readonly reasons: Readonly<Record<string, RedriveCounts>>;
  readonly total: RedriveCounts;
  readonly gapTimeouts: readonly GapTimeoutReport[];
  /** The skips asked for, and what each came to. */
  readonly skips: readonly SkipReport[];
  /** The first letters still failing (at most 20). */
  readonly failures: readonly RedriveFailure[];
  readonly notes: readonly string[];
  /** Accounts whose redriven version waited for their home lane or a fence, and how revisiting them went. */
  readonly settled?: SettleReport;
  /**
   * Letters the function reported storing during the run beyond those counted as still failing: e.g. versions parked
   * behind a redriven one that failed when they went out after it (the run stopped before reading them back).
   */
  readonly newLetters?: number;
  /**
   * Nothing was left failing and every skip was applied. Never true for a dry run, which drains nothing (`dryRun`).
   */
  readonly drained: boolean;
}
