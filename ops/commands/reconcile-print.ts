import type { DeliveryMode } from '../../shared/ordering/delivery-mode';
import { shownAccount } from '../account-text';
import type { CommandIO } from '../io';
import type { PipelineTarget } from '../target';
import { formatTable } from './format';
import type { ReconcileOptions } from './reconcile';
import type { Repair } from './reconcile-contents';

/** What `fanout reconcile` finds per destination, and how it prints it. */

/** Accounts listed per kind of problem in the human output (JSON lists them all). */
const SHOWN = 20;

/** `owed`: `every-version` versions its watermark passed that the destination does not hold (dead-lettered, gap timed out). */
export interface Lagging { readonly accountId: string; readonly version: number; readonly watermark: number; readonly owed?: string }
export interface Missing { readonly accountId: string; readonly version: number }
/** `found`: the version the destination holds (audit: the current version's object exists), null for none. */
export interface Mismatched { readonly accountId: string; readonly version: number; readonly found: number | null }
/** An account gone from the table whose watermark's last change is not its REMOVE. */
export interface Deleted { readonly accountId: string; readonly watermark: number; readonly lastKind: string }
/** An account gone from the table whose watermark does not record what its last change did (see `deletionsUnverified`). */
export interface Unverified { readonly accountId: string; readonly watermark: number }

export interface DestinationReconcile {
  mode: DeliveryMode;
  epoch: string;
  accounts: number;
  lagging: Lagging[];
  missing: Missing[];
  deletionsNotDelivered: Deleted[];
  /**
   * Accounts gone from the table whose `every-version` watermark moved onto its last version over versions delivered
   * earlier, so the ledger does not say whether that was the REMOVE: listed, not counted against being in sync.
   */
  deletionsUnverified: Unverified[];
  /** A replay epoch's window start (`EPOCH_REPLAY_FROM`), null without one. */
  replayFrom: string | null;
  /** Accounts without a watermark whose `updated_at` precedes the replay's start: the replay owes them nothing. */
  unchangedSinceReplayStart: { count: number; sample: string[] };
  contents: { checked: boolean; note?: string; mismatched: Mismatched[] } | null;
  repair: Repair | null;
  error: string | null;
  inSync: boolean;
}

export function printReport(
  io: CommandIO,
  target: PipelineTarget,
  scanned: number,
  options: ReconcileOptions,
  names: readonly string[],
  report: Readonly<Record<string, DestinationReconcile>>,
  ok: boolean,
): void {
  io.out(`target   ${target.description}`);
  io.out(`scanned  ${scanned} accounts in ${target.accountsTable} (${options.segments ?? 4} segments), ledger ${target.ledgerTable}`);
  io.out('');
  const rows = [['destination', 'mode', 'epoch', 'accounts', 'lagging', 'missing', 'deleted', 'contents', 'result']];
  for (const name of names) {
    const entry = report[name] as DestinationReconcile;
    const contents = entry.contents === null ? '-' : entry.contents.checked ? `${entry.contents.mismatched.length} mismatched` : 'not readable';
    const result = entry.error ? 'UNREADABLE' : entry.repair && !entry.inSync ? 'REPAIR FAILED' : entry.repair ? 'REPAIRED' : entry.inSync ? 'in sync' : 'OUT OF SYNC';
    rows.push([name, entry.mode, entry.epoch, String(entry.accounts), String(entry.lagging.length), String(entry.missing.length), String(entry.deletionsNotDelivered.length), contents, result]);
  }
  for (const line of formatTable(rows, new Set([3, 4, 5, 6]))) io.out(line);
  for (const name of names) {
    const entry = report[name] as DestinationReconcile;
    const list = (title: string, lines: string[]): void => {
      if (lines.length === 0) return;
      io.out('');
      io.out(`${name}: ${lines.length} ${title}`);
      for (const line of lines.slice(0, SHOWN)) io.out(`  ${line}`);
      if (lines.length > SHOWN) io.out(`  … and ${lines.length - SHOWN} more (--json lists them all)`);
    };
    const owes = (owed: string | undefined): string => (owed === undefined ? '' : `  owed v${owed}`);
    list('lagging (watermark below the table, or versions owed)', entry.lagging.map((a) => `${shownAccount(a.accountId)}  table v${a.version}  watermark v${a.watermark}${owes(a.owed)}`));
    list('missing (no watermark)', entry.missing.map((a) => `${shownAccount(a.accountId)}  table v${a.version}`));
    list(
      "deletions not delivered (gone from the table; the watermark's last change is no REMOVE)",
      entry.deletionsNotDelivered.map((a) => `${shownAccount(a.accountId)}  watermark v${a.watermark} (${a.lastKind})`),
    );
    list(
      'deletions unverified (gone from the table; the watermark does not record its last change: the REMOVE may have been delivered ahead of a gap)',
      entry.deletionsUnverified.map((a) => `${shownAccount(a.accountId)}  watermark v${a.watermark}`),
    );
    const holds = (found: number | null): string => (found === null ? 'holds nothing' : `holds v${found}`);
    list('mismatched in the destination', (entry.contents?.mismatched ?? []).map((a) => `${shownAccount(a.accountId)}  table v${a.version}  ${holds(a.found)}`));
    const unchanged = entry.unchangedSinceReplayStart;
    if (unchanged.count > 0) {
      io.out('');
      io.out(
        `${name}: ${unchanged.count} account${unchanged.count === 1 ? '' : 's'} unchanged since the replay's start (${entry.replayFrom}): ` +
          `not part of the replay, not missing; e.g. ${unchanged.sample.map(shownAccount).join(', ')}`,
      );
    }
    if (entry.contents?.note) io.out(`${name}: contents not checked: ${entry.contents.note}`);
    if (entry.repair) {
      const r = entry.repair;
      io.out(`${name}: repair re-delivered ${r.accounts} accounts: ${r.delivered} delivered, ${r.alreadyCurrent} already current, ${r.stale} stale, ${r.failed} failed`);
      for (const failure of r.failures.slice(0, SHOWN)) io.out(`  ${shownAccount(failure.accountId)}  ${failure.detail}`);
    }
    if (options.repair && entry.deletionsNotDelivered.length > 0) {
      io.out(`${name}: deletions are not repaired (a deleted account has no current state to re-deliver): redrive the REMOVE's letter, or replay`);
    }
    if (entry.error) io.err(`${name}: unreadable: ${entry.error}`);
  }
  io.out('');
  io.out(ok ? 'RESULT: OK (every destination matches the table)' : 'RESULT: OUT OF SYNC');
}
