import { modeOf, type PipelineTarget } from '../target';
import type { GapSkip } from './redrive-gaps';

/*
 * What `fanout redrive` accepts: its options, their defaults, and the refusals made before the queue is touched. Its
 * own file because the command line applies the same limits (`MAX_REDRIVE_BATCH`, `skipReasonError`) in its parser,
 * before a target is looked for, without the redrive itself.
 */

export interface RedriveOptions {
  readonly destination: string;
  /** Read and count the letters without invoking or deleting anything; they become visible again. */
  readonly dryRun?: boolean;
  /** Stop after this many messages. @default the whole queue */
  readonly max?: number;
  /** Records per invocation, 1-10000. @default 100 */
  readonly batchSize?: number;
  /** Leave BAD_RECORD letters in the queue instead of sending their original data again. */
  readonly skipBad?: boolean;
  /** Delete GAP_TIMEOUT letters once reported, resolved or not (same as `acknowledge: ['GAP_TIMEOUT']`). */
  readonly deleteGapTimeouts?: boolean;
  /**
   * Reasons whose letters are reported and deleted instead of redriven: for what an operator has looked at and
   * accepts (a HEAL_MISMATCH investigated, a CONTRACT_BREACH explained, versions known to be lost).
   */
  readonly acknowledge?: readonly string[];
  /** Gaps to give up on first (`--skip-gap <account>@<version>`), each with `reason`, kept in the ledger. */
  readonly skipGaps?: readonly GapSkip[];
  readonly reason?: string;
  /**
   * How long to keep revisiting `in-order` accounts whose redriven version waits for their home lane or a fence (see
   * `settleWaiting`); 0 leaves them to the sweeper. @default 30000 (a home's 10 s bound, then a fence's, with room)
   */
  readonly settleMs?: number;
  /** When the held letters' visibility runs out is told by this clock. @default Date.now (tests move time on) */
  readonly clock?: () => number;
  /** Letters SQS keeps in flight at most (see `SQS_MAX_IN_FLIGHT`). @default 120000 (tests lower it) */
  readonly inFlightLimit?: number;
}

/** The limits and switches of an accepted redrive, with their defaults. */
export interface RedriveSettings {
  readonly batchSize: number;
  /** `Infinity`: the whole queue. */
  readonly max: number;
  readonly dryRun: boolean;
  readonly skipGaps: readonly GapSkip[];
  /** The reasons acknowledged: `acknowledge`, and GAP_TIMEOUT with `deleteGapTimeouts`. */
  readonly acknowledged: ReadonlySet<string>;
}

/** Records per invocation at most: a Kinesis event source mapping's largest batch. */
export const MAX_REDRIVE_BATCH = 10_000;

/** Why a redrive's `--skip-gap` and `--reason` cannot go together as given: each needs the other. */
export function skipReasonError(skipGaps: number, reason: string | undefined): string | undefined {
  if (skipGaps > 0 && !(reason ?? '').trim()) return '--skip-gap needs --reason "...": why the versions are given up on (it is kept in the ledger)';
  if (skipGaps === 0 && reason !== undefined) return '--reason goes with --skip-gap (it is kept in the ledger with the skip): without a --skip-gap nothing would keep it';
  return undefined;
}

/** The settings of a redrive with `options` on `target`, or why it is refused (a usage error). */
export function redriveSettings(target: PipelineTarget, options: RedriveOptions): RedriveSettings | { readonly refused: string } {
  const { destination } = options;
  const batchSize = options.batchSize ?? 100;
  const max = options.max ?? Number.POSITIVE_INFINITY;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_REDRIVE_BATCH) return { refused: `--batch-size must be an integer from 1 to ${MAX_REDRIVE_BATCH}, got ${batchSize}` };
  if (!(max === Number.POSITIVE_INFINITY || (Number.isInteger(max) && max >= 1))) return { refused: `--max must be a positive integer, got ${max}` };
  const dryRun = options.dryRun ?? false;
  const skipGaps = options.skipGaps ?? [];
  const unpaired = skipReasonError(skipGaps.length, options.reason);
  if (unpaired !== undefined) return { refused: unpaired };
  if (skipGaps.length > 0) {
    const mode = modeOf(target, destination);
    if (mode !== 'in-order') {
      const instead = mode === 'every-version' ? ': to delete a GAP_TIMEOUT notice of versions known to be lost, use --acknowledge GAP_TIMEOUT' : '';
      return { refused: `--skip-gap is for in-order destinations: ${destination} is ${mode} and never waits behind a gap, so there is nothing to skip${instead}` };
    }
  }
  const acknowledged = new Set([...(options.acknowledge ?? []), ...(options.deleteGapTimeouts ? ['GAP_TIMEOUT'] : [])]);
  return { batchSize, max, dryRun, skipGaps, acknowledged };
}
