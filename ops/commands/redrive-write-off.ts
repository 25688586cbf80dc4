import type { Message } from '@aws-sdk/client-sqs';
import type { DeliveryMode } from '../../shared/ordering/delivery-mode';
import type { DeadLetter } from '../../shared/ordering/ports';
import { addVersions, countVersions, describeVersions, NO_VERSIONS, unionVersions, type VersionRanges } from '../../shared/ordering/version-ranges';
import type { PipelineTarget } from '../target';
import { shownAccount } from '../account-text';

/**
 * `--acknowledge` on an `every-version` destination: the letter's versions are owed in the ledger (dead-lettered, or
 * given up on by a gap time-out), so deleting the letter alone left them reported missing by `status` and `reconcile`
 * until a replay. Before its letters are deleted, each account's acknowledged versions are written off in the function
 * (operator command `write-off`): owed ones become skipped, with the reason, and a copy that turns up later is still
 * delivered. `in-order` and `latest-state` keep no owed versions for a letter (in-order gives up with --skip-gap).
 */
export interface AcknowledgedLetter {
  readonly message: Message;
  readonly letter: DeadLetter;
}

/** Whether deleting `letter` on acknowledgement must first write its versions off in the destination's ledger. */
export function needsWriteOff(letter: DeadLetter, mode: DeliveryMode | undefined, epoch: string): boolean {
  return mode === 'every-version' && letter.epoch === epoch && letter.accountId !== undefined && versionsOf(letter).length > 0;
}

/** The versions a letter stands for: a gap notice's missing ones, or the dead-lettered change's own. */
function versionsOf(letter: DeadLetter): VersionRanges {
  if (letter.missing && letter.missing.length > 0) return letter.missing;
  return letter.version !== undefined ? addVersions(NO_VERSIONS, letter.version) : NO_VERSIONS;
}

/**
 * Writes off each account's acknowledged versions (one command per account) and answers the messages that may now be
 * deleted: those whose account's write-off was applied or found nothing owed. A write-off that fails keeps its
 * account's letters in the queue, with a note.
 */
export async function writeOffAcknowledged(
  target: PipelineTarget,
  destination: string,
  acknowledged: readonly AcknowledgedLetter[],
  notes: Set<string>,
): Promise<Message[]> {
  const byAccount = new Map<string, { versions: VersionRanges; reasons: Set<string>; messages: Message[] }>();
  for (const { message, letter } of acknowledged) {
    const accountId = letter.accountId as string;
    const entry = byAccount.get(accountId) ?? { versions: NO_VERSIONS, reasons: new Set<string>(), messages: [] };
    entry.versions = unionVersions(entry.versions, versionsOf(letter));
    entry.reasons.add(letter.reason);
    entry.messages.push(message);
    byAccount.set(accountId, entry);
  }
  const deletable: Message[] = [];
  let written = 0;
  let accounts = 0;
  for (const [accountId, { versions, reasons, messages }] of byAccount) {
    const reason = `acknowledged as lost (fanout redrive --acknowledge ${[...reasons].sort().join(',')})`;
    try {
      const { orderedFanout: result } = await target.command(destination, { command: 'write-off', accountId, versions, reason });
      const outcome = result.writeOff;
      if (outcome && 'writtenOff' in outcome) {
        written += countVersions(outcome.writtenOff);
        accounts += 1;
      }
      deletable.push(...messages);
    } catch (error) {
      notes.add(`account ${shownAccount(accountId)}: versions ${describeVersions(versions)} could not be written off (${(error as Error).message}); its acknowledged letters are kept: run again`);
    }
  }
  if (written > 0) notes.add(`${written} acknowledged version(s) of ${accounts} account(s) written off in the ledger: status and reconcile no longer count them missing`);
  return deletable;
}
