import type { KinesisStreamRecord } from 'aws-lambda';
import type { AccountReport } from '../ordering/engine';
import type { SkipOutcome } from '../ordering/in-order-run';
import type { EngineCounts } from '../ordering/outcome';
import type { VersionRanges } from '../ordering/version-ranges';
import type { WriteOffOutcome } from '../ordering/every-version-rules';
import { MAX_RANGES } from '../ordering/limits';

/**
 * What an operator sends a consumer function directly (Lambda `Invoke`, by `fanout redrive`), rather than through its
 * event source mapping. It runs in the function because only the function may write to the destination: a skip
 * delivers what was parked behind the gap, in order, a resume drains what has become deliverable, and a redrive
 * sends dead-lettered records back through the engine.
 */
export type OperatorCommand =
  /**
   * Records to process as a side path, not as a batch of their shard: in a Kinesis event's `Records` shape. A Kinesis
   * event is the event source mapping's, which Lambda serializes per shard (per shard and partition key above a
   * `parallelizationFactor` of 1), and that is the batch's lane; anything else may run while that lane's own batch
   * does, so it must claim (or fence) before it delivers.
   */
  | { readonly command: 'redrive'; readonly records: readonly KinesisStreamRecord[] }
  /** Give up on versions watermark+1..`through` of an in-order account, with a reason kept in the ledger. */
  | { readonly command: 'skip-gap'; readonly accountId: string; readonly through: number; readonly reason: string }
  /** Revisit accounts (as the sweeper does) and report their state: resolves GAP_TIMEOUT notices whose gap has closed. */
  | { readonly command: 'resume'; readonly accountIds: readonly string[] }
  /**
   * Accept versions of an every-version account as lost (`fanout redrive --acknowledge`): the owed ones are written off
   * in the ledger with the reason, so nothing reports them missing; a copy that turns up later is still delivered.
   */
  | { readonly command: 'write-off'; readonly accountId: string; readonly versions: VersionRanges; readonly reason: string };

export interface OperatorCommandEvent {
  readonly orderedFanout: OperatorCommand;
}

/** One account as an operator sees it: state, watermark, and what waits, is owed or was skipped, as version ranges. */
export interface AccountView {
  readonly accountId: string;
  readonly state: string;
  /** The watermark: everything up to it is delivered or accounted for. */
  readonly version: number;
  readonly parked: VersionRanges;
  readonly owed: VersionRanges;
  readonly skipped: VersionRanges;
  /** The gap a GAP_TIMEOUT notice was sent for, if the account still waits behind it. */
  readonly gapNotice?: { readonly from: number; readonly to: number };
  readonly skips: readonly { readonly from: number; readonly to: number; readonly reason: string; readonly at: string }[];
}

export interface OperatorCommandResult {
  readonly orderedFanout: {
    readonly command: OperatorCommand['command'];
    readonly destination: string;
    readonly counts: EngineCounts;
    readonly accounts: readonly AccountView[];
    /** skip-gap: what was skipped, or why the skip was refused (nothing changed then). */
    readonly skip?: SkipOutcome;
    /** write-off: the versions written off, or why none was (nothing changed then). */
    readonly writeOff?: WriteOffOutcome;
    /** redrive: the records to try again (neither delivered, parked nor dead-lettered), as a batch would report them. */
    readonly batchItemFailures?: readonly { readonly itemIdentifier: string }[];
  };
}

/** True for the event shape of an operator command (anything else is a Kinesis event). */
export function isOperatorCommandEvent(event: unknown): event is OperatorCommandEvent {
  return typeof event === 'object' && event !== null && 'orderedFanout' in event;
}

/** Checks an operator command's shape; throws a `TypeError` naming what is wrong. */
export function parseOperatorCommand(event: OperatorCommandEvent): OperatorCommand {
  const command = event.orderedFanout as Partial<Record<string, unknown>> | undefined;
  if (typeof command !== 'object' || command === null) throw new TypeError('orderedFanout must be an object');
  switch (command.command) {
    case 'skip-gap': {
      const { accountId, through, reason } = command;
      if (typeof accountId !== 'string' || accountId === '') throw new TypeError('skip-gap needs an accountId');
      if (typeof through !== 'number' || !Number.isSafeInteger(through) || through < 1) {
        throw new TypeError('skip-gap needs through: the last version to skip, a positive integer');
      }
      if (typeof reason !== 'string' || reason.trim() === '') throw new TypeError('skip-gap needs a reason (it is kept in the ledger)');
      return { command: 'skip-gap', accountId, through, reason: reason.trim() };
    }
    case 'resume': {
      const { accountIds } = command;
      if (!Array.isArray(accountIds) || accountIds.length === 0 || !accountIds.every((id) => typeof id === 'string' && id !== '')) {
        throw new TypeError('resume needs accountIds: a non-empty list of account ids');
      }
      return { command: 'resume', accountIds: accountIds as string[] };
    }
    case 'write-off': {
      const { accountId, versions, reason } = command;
      if (typeof accountId !== 'string' || accountId === '') throw new TypeError('write-off needs an accountId');
      if (!isVersionRanges(versions)) {
        throw new TypeError(`write-off needs versions: 1 to ${MAX_RANGES} ranges [from, to] of positive integers, ascending and apart`);
      }
      if (typeof reason !== 'string' || reason.trim() === '') throw new TypeError('write-off needs a reason (it is kept in the ledger)');
      return { command: 'write-off', accountId, versions, reason: reason.trim() };
    }
    case 'redrive': {
      const { records } = command;
      if (!Array.isArray(records) || records.length === 0 || !records.every(isKinesisRecord)) {
        throw new TypeError('redrive needs records: a non-empty list of Kinesis event records (eventID "<shard>:<sequence>", kinesis.data, kinesis.sequenceNumber)');
      }
      return { command: 'redrive', records: records as KinesisStreamRecord[] };
    }
    default:
      throw new TypeError(`unknown operator command ${JSON.stringify(command.command)}: expected skip-gap, write-off, resume or redrive`);
  }
}

function isVersionRanges(value: unknown): value is VersionRanges {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_RANGES) return false;
  let last = 0;
  for (const range of value) {
    if (!Array.isArray(range) || range.length !== 2) return false;
    const [from, to] = range as unknown[];
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || (from as number) <= last || (to as number) < (from as number)) return false;
    last = (to as number) + 1;
  }
  return true;
}

function isKinesisRecord(record: unknown): boolean {
  if (typeof record !== 'object' || record === null) return false;
  const { eventID, kinesis } = record as { eventID?: unknown; kinesis?: { data?: unknown; sequenceNumber?: unknown } };
  return typeof eventID === 'string' && eventID.indexOf(':') > 0 && typeof kinesis?.data === 'string' && typeof kinesis.sequenceNumber === 'string';
}

export function accountView(report: AccountReport): AccountView {
  const w = report.watermark;
  return {
    accountId: report.accountId,
    state: report.state,
    version: w?.version ?? 0,
    parked: w?.parked ?? [],
    owed: w?.owed ?? [],
    skipped: w?.skipped ?? [],
    ...(w?.gapNotice ? { gapNotice: { from: w.gapNotice.from, to: w.gapNotice.to } } : {}),
    skips: (w?.skips ?? []).map((skip) => ({ from: skip.from, to: skip.to, reason: skip.reason, at: new Date(skip.at).toISOString() })),
  };
}
