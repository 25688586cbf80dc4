import type { CommandIO } from '../io';
import type { RedriveCounts, RedriveResult } from './redrive-result';
import { shownAccount } from '../account-text';

/** The redrive's result as an operator reads it: a row per reason, then skips, gap notices, waits and what still fails. */
export function printRedriveResult(io: CommandIO, r: RedriveResult, description: string): void {
  io.out(`redrive ${r.destination} (epoch ${r.epoch}) from ${r.queueUrl}, ${description}${r.dryRun ? ': dry run, nothing invoked or deleted' : ''}`);
  const row = (name: string, c: RedriveCounts): string =>
    `${name.padEnd(16)}${[c.received, c.redriven, c.stillFailing, c.skipped, c.deleted].map((n) => String(n).padStart(12)).join('')}`;
  io.out(`${'reason'.padEnd(16)}${['received', r.dryRun ? 'would send' : 'redriven', 'failing', 'skipped', 'deleted'].map((h) => h.padStart(12)).join('')}`);
  for (const [reason, c] of Object.entries(r.reasons)) io.out(row(reason, c));
  io.out(row('total', r.total));
  for (const skip of r.skips) {
    const outcome = 'skipped' in skip.outcome
      ? `skipped versions ${skip.outcome.skipped.from}-${skip.outcome.skipped.to}, then delivered ${skip.delivered} that waited behind them`
      : `not skipped: ${skip.outcome.refused}`;
    io.out(`skip-gap ${shownAccount(skip.accountId)}@${skip.through}: ${outcome}`);
  }
  for (const gap of r.gapTimeouts) {
    const status = gap.resolved ? 'resolved since (letter deleted)' : gap.deleted ? 'acknowledged (letter deleted)' : gap.advice ?? 'letter kept';
    io.out(`gap timeout: account ${gap.accountId === undefined ? '?' : shownAccount(gap.accountId)} (epoch ${gap.epoch}) versions ${gap.missingVersions || '?'}: ${status}`);
  }
  if (r.settled) {
    io.out(`waited ${(r.settled.waitedMs / 1000).toFixed(1)} s for ${r.settled.accounts} in-order account(s) whose redriven version waited for their home lane or a fence: ${r.settled.delivered} delivered`);
  }
  for (const failure of r.failures) io.out(`still failing: ${failure.reason} account ${failure.accountId === undefined ? '?' : shownAccount(failure.accountId)} v${failure.version ?? '?'}: ${failure.detail}`);
  for (const note of r.notes) io.out(`note: ${note}`);
  if (r.dryRun) io.out(`RESULT: dry run, nothing drained: ${r.total.redriven} of ${r.total.received} letters would be sent through the engine`);
  else io.out(r.drained ? `RESULT: drained (${r.total.redriven} redriven, ${r.total.skipped} left aside)` : `RESULT: ${notDrained(r)}`);
}

/** Why a redrive did not drain: what still fails, what else the function dead-lettered, the skips refused. */
function notDrained(r: RedriveResult): string {
  const refused = r.skips.filter((skip) => !('skipped' in skip.outcome)).length;
  return [
    `${r.total.stillFailing} still failing (left in the queue)`,
    ...(r.newLetters ? [`${r.newLetters} more letter(s) dead-lettered during the run (in the queue)`] : []),
    ...(refused > 0 ? [`${refused} skip(s) refused`] : []),
  ].join(', ');
}
