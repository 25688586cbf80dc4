import type { ChangeRecord } from '../change-record/change-record';
import { DeadLetterQueueUnavailableError } from './errors';
import type { DeadLetter } from './ports';
import type { RunContext } from './run-context';

/*
 * A run's dead letters: what a letter carries (the record, with its account, version, sequence number and shard, and
 * the reason) and how a stored one is counted. Apart from the run, so every mode letters and counts alike.
 */

export function recordLetter(ctx: RunContext, record: ChangeRecord, reason: DeadLetter['reason'], detail: string, attempts: number): DeadLetter {
  return {
    destination: ctx.destination,
    epoch: ctx.epoch.id,
    reason,
    detail,
    attempts,
    accountId: record.accountId,
    version: record.version,
    sequenceNumber: record.sequenceNumber,
    shardId: record.shardId,
    record,
    at: ctx.now(),
  };
}

/** Sends a letter; true when the queue stored it (then counted), false when the queue is out of reach. */
export async function sendLetter(ctx: RunContext, letter: DeadLetter): Promise<boolean> {
  try {
    const stored = await ctx.deadLetter(letter);
    if (stored) {
      ctx.tally.counts.deadLettered += 1;
      const breach = breachCounter(letter.reason);
      if (breach) ctx.tally.counts[breach] += 1;
    }
    return stored;
  } catch (error) {
    if (error instanceof DeadLetterQueueUnavailableError) return false;
    throw error;
  }
}

/** The counter each breach letter raises besides `deadLettered`. */
function breachCounter(reason: DeadLetter['reason']): 'contractBreaches' | 'healMismatches' | 'beforeBaseline' | 'parkLimit' | undefined {
  switch (reason) {
    case 'CONTRACT_BREACH':
      return 'contractBreaches';
    case 'HEAL_MISMATCH':
      return 'healMismatches';
    case 'BEFORE_BASELINE':
      return 'beforeBaseline';
    case 'PARK_LIMIT':
      return 'parkLimit';
    default:
      return undefined;
  }
}
