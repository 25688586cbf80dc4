import { shownAccount } from '../account-text';
import type { CommandIO } from '../io';
import type { PipelineTarget } from '../target';
import { formatAge, formatTable } from './format';
import type { StatusSnapshot } from './status';

/** How `fanout status` prints a snapshot. */

/** The snapshot as JSON (one document) or as the aligned table, errors on stderr. */
export function printStatus(io: CommandIO, target: PipelineTarget, snapshot: StatusSnapshot): void {
  if (io.json) {
    io.out(JSON.stringify(snapshot, null, 2));
    return;
  }
  const show = (value: number | null): string => (value === null ? '?' : String(value));
  io.out(`target  ${target.description}`);
  io.out(`table   ${target.accountsTable}: ${show(snapshot.accounts)} accounts; ledger ${target.ledgerTable}`);
  io.out('');
  const rows = [['destination', 'mode', 'epoch', 'start', 'consumer', 'behind', 'waiting', 'parked', 'oldest wait', 'gap-timed-out', 'blocked', 'dead letters', 'deletions', 'consumer arn']];
  for (const [name, row] of Object.entries(snapshot.destinations)) {
    rows.push([
      name,
      row.mode,
      row.epoch,
      row.startingPosition,
      row.consumerStatus ?? '?',
      show(row.accountsBehind),
      show(row.waitingAccounts),
      show(row.parked),
      row.oldestWaitSeconds === null ? '?' : row.waitingAccounts ? formatAge(row.oldestWaitSeconds * 1000) : '-',
      show(row.gapTimedOut),
      show(row.blockedOnFailure),
      row.deadLetters === null ? '?' : String(row.deadLetters.total),
      show(row.deletionsNotDelivered),
      row.consumerArn,
    ]);
  }
  for (const line of formatTable(rows, new Set([5, 6, 7, 9, 10, 11, 12]))) io.out(line);
  for (const line of statusNotes(snapshot)) io.out(line);
  for (const [name, row] of Object.entries(snapshot.destinations)) for (const error of row.errors) io.err(`${name}: unreadable: ${error}`);
}

/** What the table's columns cannot say: which deletions are not delivered, and what a replay does not owe. */
function statusNotes(snapshot: StatusSnapshot): string[] {
  const notes: string[] = [];
  const plural = (count: number, word: string): string => `${count} ${word}${count === 1 ? '' : 's'}`;
  for (const [name, row] of Object.entries(snapshot.destinations)) {
    if (row.deletionsNotDelivered) {
      const more = row.deletionsNotDelivered > row.deletionSamples.length ? ', …' : '';
      notes.push(
        `${name}: ${plural(row.deletionsNotDelivered, 'deletion')} not delivered (the account is gone from the table, its last change here is no REMOVE): ` +
          `${row.deletionSamples.map(shownAccount).join(', ')}${more}`,
      );
    }
    if (row.deletionsUnverified) {
      notes.push(
        `${name}: ${plural(row.deletionsUnverified, 'account')} gone from the table whose deletion the ledger cannot confirm (the watermark moved onto its last version over versions delivered earlier, so its kind is not recorded): reconcile lists them`,
      );
    }
    if (row.unchangedSinceReplayStart) {
      notes.push(
        `${name}: ${plural(row.unchangedSinceReplayStart, 'account')} unchanged since the replay's start (${row.replayFrom}): not part of the replay epoch ${row.epoch}, not counted as behind`,
      );
    }
  }
  return notes.length > 0 ? ['', ...notes] : [];
}

