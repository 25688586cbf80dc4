import type { KinesisRecordInput } from '../../shared/change-record/kinesis-input';
import type { DeadLetter } from '../../shared/ordering/ports';
import { describeVersions, type VersionRanges } from '../../shared/ordering/version-ranges';
import { toKinesisInput } from './redrive-batches';

/*
 * The rules of `fanout redrive` for one letter read from the queue: whether it goes back through the engine (and as
 * what record), is settled as a gap notice, acknowledged, or left in the queue and why; and how the run names a letter
 * (its key, account and version, gap report). Kept apart from the run's receive, invoke and delete cycle in
 * `redrive.ts`, which carries these out.
 */

/** What the redrive does with a letter of its destination's queue that was written before the run. */
export type LetterRoute =
  /** Left in the queue; `note` says why in the report. */
  | { readonly to: 'skip'; readonly note: string }
  /** Reported and deleted (kept in a dry run). */
  | { readonly to: 'acknowledge' }
  /** A GAP_TIMEOUT notice: its account is revisited to tell whether the gap has closed since. */
  | { readonly to: 'gap' }
  /** Sent back through the engine as `input`. */
  | { readonly to: 'redrive'; readonly input: KinesisRecordInput; readonly position: { accountId?: string; version?: number } };

export interface LetterRules {
  readonly destination: string;
  /** The destination's epoch now: letters of another are its own, delivered from the stream. */
  readonly epoch: string;
  readonly acknowledged: ReadonlySet<string>;
  readonly skipBad: boolean;
  readonly accountsTable: string;
  readonly region: string;
}

/**
 * The route of `letter`, the rules tried in this order. `ordinal` names a BAD_RECORD's record when it kept no sequence
 * number (`redrive-<ordinal>`).
 */
export function routeOf(letter: DeadLetter, rules: LetterRules, ordinal: number): LetterRoute {
  const { destination, epoch } = rules;
  if (letter.destination !== destination) {
    return { to: 'skip', note: `letters of destination ${letter.destination} left in the queue (this is ${destination}'s queue)` };
  }
  // Before the epoch rule: a letter of an epoch a replay replaced can never be redriven (the function runs the new
  // epoch), and the replay re-delivers only what happened after its start, so acknowledging is the only end it has.
  if (rules.acknowledged.has(letter.reason)) return { to: 'acknowledge' };
  if (letter.epoch !== epoch) {
    return {
      to: 'skip',
      note:
        `letters of epoch ${letter.epoch} left in the queue: ${destination} now runs epoch ${epoch}, which delivers from the stream only what happened after its start; ` +
        `--acknowledge ${letter.reason} deletes them once you accept that`,
    };
  }
  if (letter.reason === 'GAP_TIMEOUT' && letter.accountId && letter.missing) return { to: 'gap' };
  if (letter.record) {
    const input = toKinesisInput(letter.record, rules.accountsTable, rules.region);
    return { to: 'redrive', input, position: { accountId: letter.record.accountId, version: letter.record.version } };
  }
  if (letter.bad && !rules.skipBad) {
    const bad = letter.bad;
    const input = { data: bad.data, sequenceNumber: bad.sequenceNumber || letter.sequenceNumber || `redrive-${ordinal}`, shardId: bad.shardId || letter.shardId || 'shardId-000000000000' };
    return { to: 'redrive', input, position: positionOf(letter) };
  }
  if (letter.bad) return { to: 'skip', note: 'BAD_RECORD letters kept (--skip-bad)' };
  return { to: 'skip', note: `${letter.reason} letters without a record kept` };
}

/** One key per change, bad record or gap notice: a later letter of a change redriven in this run is it failing again. */
export function letterKey(letter: DeadLetter): string {
  if (letter.record) return `${letter.record.accountId}#${letter.record.version}#${letter.record.eventId}`;
  if (letter.bad) return `bad#${letter.bad.shardId}#${letter.bad.sequenceNumber}#${letter.bad.data.length}`;
  return `${letter.reason}#${letter.accountId ?? ''}#${describeVersions(letter.missing ?? [])}`;
}

export function positionOf(of: { readonly accountId?: string; readonly version?: number }): { accountId?: string; version?: number } {
  return { ...(of.accountId !== undefined ? { accountId: of.accountId } : {}), ...(of.version !== undefined ? { version: of.version } : {}) };
}

export function gapReport(letter: DeadLetter): { accountId?: string; epoch: string; missingVersions: string; missing: VersionRanges } {
  const missing = letter.missing ?? [];
  return { ...(letter.accountId ? { accountId: letter.accountId } : {}), epoch: letter.epoch, missingVersions: describeVersions(missing), missing };
}
