import type { AccountView } from '../../shared/consumer/operator-command';
import type { SkipOutcome } from '../../shared/ordering/in-order-run';
import { describeVersions, hasVersion, type VersionRanges } from '../../shared/ordering/version-ranges';
import type { PipelineTarget } from '../target';
import { accountArgument, readAccountArgument, shownAccount } from '../account-text';

/**
 * The gap side of `fanout redrive`: an operator's skips (`--skip-gap <account>@<version>`), and the GAP_TIMEOUT
 * notices, which carry no record: redriving one revisits its account in the destination's function and tells whether
 * the gap has closed since (the missing versions were delivered, or skipped).
 */

/** `--skip-gap <account>@<version>`: give up on the account's missing versions up to and including `through`. */
export interface GapSkip {
  readonly accountId: string;
  readonly through: number;
}

export function parseGapSkip(text: string): GapSkip {
  const at = text.lastIndexOf('@');
  const accountId = at > 0 ? readAccountArgument(text.slice(0, at)) : '';
  const through = Number(at > 0 ? text.slice(at + 1) : Number.NaN);
  if (accountId === '' || !Number.isSafeInteger(through) || through < 1) {
    throw new RangeError(`--skip-gap expects <account>@<version> (the last missing version to skip), got "${text}"`);
  }
  return { accountId, through };
}

/** What one skip came to, as `redrive` reports it. */
export interface SkipReport {
  readonly accountId: string;
  readonly through: number;
  /** What was skipped, or why nothing was (the function refused: not behind that gap, a parked record in it...). */
  readonly outcome: SkipOutcome | { readonly refused: string };
  /** Versions delivered after the skip: what was parked behind the gap. */
  readonly delivered: number;
  readonly account?: AccountView;
}

/** Applies each skip in the destination's function, one after another; never throws for one that fails. */
export async function applySkips(
  target: PipelineTarget,
  destination: string,
  skips: readonly GapSkip[],
  reason: string,
): Promise<SkipReport[]> {
  const reports: SkipReport[] = [];
  for (const { accountId, through } of skips) {
    try {
      const { orderedFanout: result } = await target.command(destination, { command: 'skip-gap', accountId, through, reason });
      reports.push({
        accountId,
        through,
        outcome: result.skip ?? { refused: 'the function did not say' },
        delivered: result.counts.delivered,
        ...(result.accounts[0] ? { account: result.accounts[0] } : {}),
      });
    } catch (error) {
      reports.push({ accountId, through, outcome: { refused: `the command failed: ${(error as Error).message}` }, delivered: 0 });
    }
  }
  return reports;
}

/** Accounts per resume command (one invocation each). */
const RESUME_BATCH = 100;

/** Revisits the accounts in the destination's function (delivering what has become deliverable) and returns their views. */
export async function resumeAccounts(
  target: PipelineTarget,
  destination: string,
  accountIds: readonly string[],
): Promise<Map<string, AccountView>> {
  const views = new Map<string, AccountView>();
  const unique = [...new Set(accountIds)];
  for (let start = 0; start < unique.length; start += RESUME_BATCH) {
    for (const view of await resumeChunk(target, destination, unique.slice(start, start + RESUME_BATCH))) views.set(view.accountId, view);
  }
  return views;
}

/**
 * One resume command, split in halves while its answer is over Lambda's 6 MB (`Function.ResponseSizeTooLarge`): a view
 * is up to about 60 KB at the worst state the limits allow (a 2,048-byte id escaped, 200 ranges of each kind, 16 skip
 * notes), so 100 of them can pass it. Revisiting an account again is harmless: the work is done by then, or redone.
 */
async function resumeChunk(target: PipelineTarget, destination: string, accountIds: readonly string[]): Promise<readonly AccountView[]> {
  try {
    return (await target.command(destination, { command: 'resume', accountIds })).orderedFanout.accounts;
  } catch (error) {
    if (accountIds.length === 1 || !isResponseTooLarge(error)) throw error;
    const half = Math.ceil(accountIds.length / 2);
    return [...(await resumeChunk(target, destination, accountIds.slice(0, half))), ...(await resumeChunk(target, destination, accountIds.slice(half)))];
  }
}

/** Lambda's refusal of an answer over 6 MB: the local function's `FunctionError`, or the error payload `Invoke` returns on AWS. */
export function isResponseTooLarge(error: unknown): boolean {
  return /Function\.ResponseSizeTooLarge|Response payload size .*exceeded/.test(error instanceof Error ? error.message : String(error));
}

/**
 * A GAP_TIMEOUT notice is resolved once its account no longer misses any of its versions: the watermark has passed
 * them and none is still owed (in-order: delivered or skipped; every-version: delivered after all).
 */
export function gapResolved(missing: VersionRanges, view: AccountView): boolean {
  return missing.every(([from, to]) => to <= view.version && !overlaps(view.owed, from, to));
}

/** What the operator can do about a notice that is not resolved. */
export function gapAdvice(destination: string, missing: VersionRanges, view: AccountView): string {
  const last = missing[missing.length - 1]?.[1];
  const what = `account ${shownAccount(view.accountId)} still misses versions ${describeVersions(missing)} (state ${view.state})`;
  if (view.parked.length > 0 || view.state === 'gap-timed-out' || view.state === 'parked-behind-gap') {
    return `${what}: redrive or replay the missing versions, or skip them: fanout redrive ${destination} --skip-gap ${accountArgument(view.accountId)}@${last} --reason "..."`;
  }
  return `${what}: a copy that arrives is still delivered; once you accept they are lost, --acknowledge GAP_TIMEOUT deletes the notice`;
}

function overlaps(ranges: VersionRanges, from: number, to: number): boolean {
  if (hasVersion(ranges, from) || hasVersion(ranges, to)) return true;
  return ranges.some(([start, end]) => start >= from && end <= to);
}
