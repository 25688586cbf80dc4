/**
 * What the local operator does about dropped versions, one function per delivery mode, whatever the destination's
 * name (a plug-in is operated exactly as the built-in of its mode): in-order destinations get the gap they wait at
 * skipped with a reason; every-version destinations get the GAP_TIMEOUT notices of dropped versions acknowledged;
 * latest-state destinations get the table's state re-delivered where an account's last version was dropped.
 */
import { reconcile } from '../../ops/commands/reconcile';
import { redrive } from '../../ops/commands/redrive';
import type { RedriveResult } from '../../ops/commands/redrive-result';
import { resumeAccounts } from '../../ops/commands/redrive-gaps';
import type { PipelineTarget } from '../../ops/target';
import type { DeliveryMode } from '../../shared/ordering/delivery-mode';
import type { LocalEnvironment } from './environment';
import type { DroppedGap, NoticeReport, SearchRepair, SkippedGap } from './operator';
import { behindTable, explained, jsonIO, pendingGaps, range, receivedBy, run, unaccounted, type Dropped } from './operator-support';

/** What the operator did so far, added to by each action (the report is made from it). */
export interface OperatorRecord {
  readonly redriven: Record<string, Record<string, number>>;
  readonly noticesResolved: Record<string, number>;
  readonly gapsSkipped: SkippedGap[];
  readonly noticesAcknowledged: NoticeReport[];
  readonly searchRepairs: SearchRepair[];
  /** Found and not to be cleared by a later round (an acknowledgement cannot be undone). */
  readonly unexplainedForGood: string[];
}

/** One round of the operator: what it knows, and where its findings go. */
export interface OperatorRound {
  readonly env: LocalEnvironment;
  readonly target: PipelineTarget;
  readonly gaps: readonly DroppedGap[];
  readonly dropped: Dropped;
  readonly finalVersions: ReadonlyMap<string, number>;
  /** The reason every skip is given (kept in the ledger). */
  readonly reason: string;
  readonly record: OperatorRecord;
  /** Found in this round (a later round may still clear it). */
  readonly unexplained: string[];
  act(line: string): void;
}

/** The action for a destination of `mode`, after its dead-letter queue was redriven. */
export async function actByMode(round: OperatorRound, destination: string, mode: DeliveryMode, open: readonly NoticeReport[]): Promise<void> {
  switch (mode) {
    case 'in-order':
      return skipDroppedGaps(round, destination);
    case 'every-version':
      return acknowledgeDroppedNotices(round, destination, open.filter((notice) => notice.destination === destination));
    case 'latest-state':
      return repairDroppedFinals(round, destination);
  }
}

export function tally(result: RedriveResult, record: OperatorRecord, destination: string): void {
  const into = (record.redriven[destination] ??= {});
  for (const [reason, counts] of Object.entries(result.reasons)) {
    if (reason === 'GAP_TIMEOUT') record.noticesResolved[destination] = (record.noticesResolved[destination] ?? 0) + counts.redriven;
    else if (counts.redriven > 0) into[reason] = (into[reason] ?? 0) + counts.redriven;
  }
}

/**
 * in-order: skip each dropped gap the account now waits at (never one it has not reached: what comes before a gap may
 * be a version that is only late or dead-lettered, and a skip gives up on everything below `through`). An account with
 * two gaps reaches the second once the first is skipped: skip again, without waiting.
 */
async function skipDroppedGaps(round: OperatorRound, destination: string): Promise<void> {
  const { env, target, gaps, reason, record, act } = round;
  for (let pass = 0; pass < 10; pass += 1) {
    const pending = await pendingGaps(env, destination, gaps, record.gapsSkipped);
    if (pending.length === 0) break;
    const views = await resumeAccounts(target, destination, [...new Set(pending.map((gap) => gap.accountId))]);
    const first = new Map<string, DroppedGap>();
    for (const gap of pending) if (views.get(gap.accountId)?.version === gap.from - 1 && !first.has(gap.accountId)) first.set(gap.accountId, gap);
    const skips = [...first.values()];
    if (skips.length === 0) break;
    const result = await run((io) => redrive(target, { destination, skipGaps: skips.map((gap) => ({ accountId: gap.accountId, through: gap.to })), reason }, io));
    tally(result, record, destination);
    let skipped = 0;
    for (const skip of result.skips) {
      const gap = skips.find((candidate) => candidate.accountId === skip.accountId && candidate.to === skip.through);
      if (gap && 'skipped' in skip.outcome) {
        skipped += 1;
        record.gapsSkipped.push({ ...gap, destination, from: skip.outcome.skipped.from, reason, delivered: skip.delivered });
        act(
          `fanout redrive ${destination} --skip-gap ${skip.accountId}@${skip.through} --reason "${reason}": ` +
            `skipped v${range(skip.outcome.skipped.from, skip.outcome.skipped.to)}, then delivered ${skip.delivered} that waited behind`,
        );
      } else if ('refused' in skip.outcome) {
        act(`fanout redrive ${destination} --skip-gap ${skip.accountId}@${skip.through}: refused (${skip.outcome.refused}); tried again next round`);
      }
    }
    if (skipped === 0) break;
  }
}

/**
 * every-version: acknowledge its open notices once each names only versions that were dropped, or that came late and
 * are delivered by now (a notice can name both: it stays open then, as some of its versions stay owed).
 */
async function acknowledgeDroppedNotices(round: OperatorRound, destination: string, notices: readonly NoticeReport[]): Promise<void> {
  const { env, target, dropped, record, act } = round;
  if (notices.length === 0) return;
  const delivered = await receivedBy(env, destination);
  const unexplainedNotices = notices.filter((notice) => !explained(notice, dropped, delivered));
  if (unexplainedNotices.length > 0) {
    const named = unexplainedNotices.slice(0, 3).map((n) => `${n.accountId} v${n.versions}: not v${unaccounted(n, dropped, delivered).join(',')}`);
    act(`${destination}: ${unexplainedNotices.length} open GAP_TIMEOUT notices name versions neither dropped nor delivered (${named.join('; ')}): not acknowledged`);
    for (const notice of unexplainedNotices) {
      round.unexplained.push(`${destination}: GAP_TIMEOUT notice for ${notice.accountId} v${notice.versions} names versions neither dropped nor delivered since`);
    }
    return;
  }
  const result = await run((io) => redrive(target, { destination, acknowledge: ['GAP_TIMEOUT'] }, io));
  tally(result, record, destination);
  const deliveredNow = await receivedBy(env, destination);
  for (const notice of result.gapTimeouts) {
    if (!notice.deleted || notice.resolved || !notice.accountId) continue;
    const report = { destination, accountId: notice.accountId, versions: notice.missingVersions, missing: notice.missing };
    record.noticesAcknowledged.push(report);
    // The acknowledgement deletes whatever GAP_TIMEOUT notice is in the queue, one that came meanwhile too.
    if (!explained(report, dropped, deliveredNow)) {
      record.unexplainedForGood.push(`${destination}: acknowledged a GAP_TIMEOUT notice that arrived meanwhile for ${report.accountId} v${report.versions}, not all dropped`);
    }
  }
  act(`fanout redrive ${destination} --acknowledge GAP_TIMEOUT: ${result.gapTimeouts.filter((n) => n.deleted && !n.resolved).length} notices of dropped versions deleted`);
}

/** latest-state: put the table's state back where an account's last version was dropped (and only then). */
async function repairDroppedFinals(round: OperatorRound, destination: string): Promise<void> {
  const { env, target, dropped, finalVersions, record, act } = round;
  const behind = await behindTable(env, destination, finalVersions);
  if (behind.length === 0) return;
  const notDropped = behind.filter((accountId) => !dropped.get(accountId)?.has(finalVersions.get(accountId) ?? 0));
  if (notDropped.length > 0) {
    const listed = `${notDropped.slice(0, 3).join(', ')}${notDropped.length > 3 ? ', …' : ''}`;
    round.unexplained.push(`${destination}: ${notDropped.length} accounts behind the table whose last version was not dropped (${listed})`);
    return;
  }
  const io = jsonIO();
  await reconcile(target, { destination, repair: true }, io);
  const answer = JSON.parse(io.lines.join('\n')) as { destinations: Record<string, { repair?: Omit<SearchRepair, 'destination'> | null; error?: string | null }> };
  const repair = answer.destinations[destination]?.repair;
  if (!repair) {
    act(`fanout reconcile --destination ${destination} --repair: nothing re-delivered${answer.destinations[destination]?.error ? ` (${answer.destinations[destination]?.error})` : ''}`);
    return;
  }
  record.searchRepairs.push({ destination, accounts: repair.accounts, delivered: repair.delivered, alreadyCurrent: repair.alreadyCurrent, stale: repair.stale, failed: repair.failed });
  act(
    `fanout reconcile --destination ${destination} --repair: ${behind.length} accounts whose last version was dropped; re-delivered ${repair.accounts}: ` +
      `${repair.delivered} delivered, ${repair.alreadyCurrent} already current, ${repair.stale} stale, ${repair.failed} failed`,
  );
}
