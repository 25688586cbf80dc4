import { decodeChangeRecord } from '../../shared/change-record/decode';
import type { AccountView, OperatorCommandResult } from '../../shared/consumer/operator-command';
import type { DeliveryMode } from '../../shared/ordering/delivery-mode';
import { hasVersion } from '../../shared/ordering/version-ranges';
import { modeOf, type PipelineTarget } from '../target';
import type { RedriveItem } from './redrive-batches';
import { positionOf } from './redrive-letters';
import type { RedriveFailure } from './redrive-result';

/*
 * How a redrive tells which of the letters it sent failed again: what it observes of the function's answers while it
 * runs (`watching`), the rule that judges each letter from that (`stillFailingAfterRedrive`), and the failures it
 * reports in the end (`failuresAfterRedrive`).
 */

/** A letter this run sent through the engine and deleted: the function did not report its record failed. */
export interface RedrivenLetter {
  readonly key: string;
  readonly reason: string;
  readonly accountId?: string;
  readonly version?: number;
  /** A BAD_RECORD letter whose data the decoder still refuses: the function quarantined it again. */
  readonly undecodable?: boolean;
}

/** What a redrive saw of the letters it sent, once its invocations (and its revisits of waiting accounts) are over. */
export interface RedriveObservations {
  /** The destination's mode, when the target says. */
  readonly mode?: DeliveryMode;
  /** Each account as the function last reported it: its answers to the redrive, then to the revisits (`resume`). */
  readonly views: ReadonlyMap<string, AccountView>;
  /** Letters of records (gap notices aside) that the function's answers said it stored during the run. */
  readonly lettersStored: number;
  /** Keys of the letters read from the queue that were written while the run lasted. */
  readonly readBack: ReadonlySet<string>;
}

/**
 * Which of the letters a redrive sent through the engine (and deleted) failed again, each with why the run knows. A
 * record the function dead-lettered anew is not reported failed (it is handled: its new letter is in the queue), so
 * the batch's failures do not tell; what does:
 * - its new letter was read back from the queue during the run;
 * - a BAD_RECORD's data that the decoder still refuses is quarantined again;
 * - the function stored letters during the run, and its last view of the account still owes the version (`owed`,
 *   and not parked for its lane: `in-order`, `every-version`), or, `latest-state`, has not reached the account's
 *   newest redriven version.
 * Whether the loop happened to read a new letter back (it stops at `--max`) does not decide it.
 */
export function stillFailingAfterRedrive(letters: readonly RedrivenLetter[], seen: RedriveObservations): Map<string, string> {
  const failed = new Map<string, string>();
  const newest = new Map<string, number>();
  for (const { accountId, version } of letters) {
    if (accountId !== undefined && version !== undefined) newest.set(accountId, Math.max(version, newest.get(accountId) ?? 0));
  }
  for (const letter of letters) {
    const { key, accountId, version } = letter;
    if (seen.readBack.has(key)) failed.set(key, 'dead-lettered again (its new letter is in the queue)');
    else if (letter.undecodable) failed.set(key, 'quarantined again: the decoder still refuses its data');
    else if (seen.lettersStored === 0 || accountId === undefined || version === undefined) continue;
    else {
      const view = seen.views.get(accountId);
      if (!view) continue;
      if (seen.mode === 'latest-state') {
        if (version === newest.get(accountId) && view.version < version) failed.set(key, `dead-lettered again: account ${accountId} is still at version ${view.version}`);
      } else if (hasVersion(view.owed, version) && !hasVersion(view.parked, version)) {
        failed.set(key, `dead-lettered again: account ${accountId} still owes version ${version} (state ${view.state})`);
      }
    }
  }
  return failed;
}

/**
 * What a run reports as failed again once it is over: each letter it sent that failed again (as its new letter says,
 * when one was read back), then each letter read back that was no sent one's; in that order, each under its reason.
 * `newLetters`: the letters the function stored during the run beyond those.
 */
export function failuresAfterRedrive(
  sent: readonly RedrivenLetter[],
  readBack: ReadonlyMap<string, RedriveFailure>,
  seen: Omit<RedriveObservations, 'readBack'>,
): { failures: RedriveFailure[]; newLetters: number } {
  const failedAgain = stillFailingAfterRedrive(sent, { ...seen, readBack: new Set(readBack.keys()) });
  const failures: RedriveFailure[] = [];
  let matched = 0;
  for (const letter of sent) {
    const detail = failedAgain.get(letter.key);
    if (detail === undefined) continue;
    const again = readBack.get(letter.key);
    failures.push({ reason: again?.reason ?? letter.reason, ...positionOf(again ?? letter), detail: again?.detail ?? detail });
    if (!letter.undecodable) matched += 1;
  }
  const sentKeys = new Set(sent.map((letter) => letter.key));
  for (const [key, again] of readBack) {
    if (sentKeys.has(key)) continue;
    failures.push(again);
    matched += 1;
  }
  return { failures, newLetters: Math.max(0, seen.lettersStored - matched) };
}

/** The letter of an item the function took: a BAD_RECORD's account and version are those its data decodes to, if any. */
export function redrivenLetter(item: RedriveItem, tableName: string): RedrivenLetter {
  const { key, reason } = item;
  if (item.accountId !== undefined && item.version !== undefined) return { key, reason, accountId: item.accountId, version: item.version };
  const decoded = decodeChangeRecord(item.input, { tableName });
  return decoded.ok ? { key, reason, accountId: decoded.record.accountId, version: decoded.record.version } : { key, reason, undecodable: true };
}

/** The destination's mode; undefined for a plug-in whose target does not say (only a skip needs it, and asks). */
export function modeOrNone(target: PipelineTarget, destination: string): DeliveryMode | undefined {
  try {
    return modeOf(target, destination);
  } catch {
    return undefined;
  }
}

/** `target`, telling `observe` every answer of the function to an operator command. */
export function watching(target: PipelineTarget, observe: (answer: OperatorCommandResult) => void): PipelineTarget {
  const command: PipelineTarget['command'] = async (destination, operatorCommand) => {
    const answer = await target.command(destination, operatorCommand);
    observe(answer);
    return answer;
  };
  return new Proxy(target, {
    get(of, property) {
      if (property === 'command') return command;
      const value: unknown = Reflect.get(of, property);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(of) : value;
    },
  });
}
