/**
 * What the local operator (`operator.ts`) reads between its actions: queue depths, the ledger's waiting accounts,
 * what each destination still owes; and how it runs a `fanout` command for its JSON answer. Every check goes by the
 * destination's mode, never by its name: a plug-in is operated as the built-in of the same mode.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { RedriveResult } from '../../ops/commands/redrive-result';
import type { CommandIO } from '../../ops/io';
import { DynamoDBLedger } from '../../shared/ledger/dynamodb-ledger';
import type { DeliveryMode } from '../../shared/ordering/delivery-mode';
import { countVersions, hasVersion } from '../../shared/ordering/version-ranges';
import type { LocalEnvironment } from './environment';
import type { DroppedGap, NoticeReport, SkippedGap } from './operator';
import { acceptedSoFar } from './read-back';

/** A destination of the run as the operator works on it: built-in or plug-in, told apart only by `mode`. */
export interface OperatedDestination {
  readonly name: string;
  readonly mode: DeliveryMode;
  /** Its ledger epoch (the configuration's for a built-in, the defaults' for a plug-in). */
  readonly epoch: string;
}

export type Dropped = ReadonlyMap<string, ReadonlySet<number>>;

export async function queueDepth(env: LocalEnvironment, destination: string): Promise<number> {
  const { Attributes } = await env.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: env.resources.deadLetterQueues[destination],
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return Number(Attributes?.ApproximateNumberOfMessages ?? 0) + Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
}

export function ledgerOf(env: LocalEnvironment, { name, epoch }: OperatedDestination): DynamoDBLedger {
  return new DynamoDBLedger({ client: env.dynamodb, tableName: env.resources.ledgerTable, destination: name, epoch });
}

async function waitingAccounts(env: LocalEnvironment, destination: OperatedDestination): Promise<string[]> {
  const accounts: string[] = [];
  for await (const { accountId } of ledgerOf(env, destination).waiting()) accounts.push(accountId);
  return accounts;
}

/** What the destination has accepted so far, as `<account>#<version>`. */
export async function receivedBy(env: LocalEnvironment, destination: string): Promise<Set<string>> {
  return new Set((await acceptedSoFar(env, destination)).map(({ accountId, version }) => `${accountId}#${version}`));
}

/** Dropped gaps an in-order destination has neither received (whole) nor had skipped yet. */
export async function pendingGaps(env: LocalEnvironment, destination: string, gaps: readonly DroppedGap[], skipped: readonly SkippedGap[]): Promise<DroppedGap[]> {
  const received = await receivedBy(env, destination);
  return gaps.filter((gap) => {
    if (skipped.some((skip) => skip.destination === destination && skip.accountId === gap.accountId && skip.to >= gap.to && skip.from <= gap.from)) return false;
    for (let version = gap.from; version <= gap.to; version += 1) if (!received.has(`${gap.accountId}#${version}`)) return true;
    return false;
  });
}

/** Accounts whose newest accepted version is not the table's final one (a latest-state destination behind the table). */
export async function behindTable(env: LocalEnvironment, destination: string, finalVersions: ReadonlyMap<string, number>): Promise<string[]> {
  const newest = new Map<string, number>();
  for (const { accountId, version } of await acceptedSoFar(env, destination)) newest.set(accountId, Math.max(newest.get(accountId) ?? 0, version));
  return [...finalVersions].filter(([accountId, final]) => newest.get(accountId) !== final).map(([accountId]) => accountId);
}

/** What still keeps the run from being drained, one phrase each; empty when nothing. */
export async function leftOver(
  env: LocalEnvironment,
  destinations: readonly OperatedDestination[],
  gaps: readonly DroppedGap[],
  skipped: readonly SkippedGap[],
  finalVersions: ReadonlyMap<string, number>,
): Promise<string[]> {
  const left: string[] = [];
  for (const destination of destinations) {
    const { name, mode } = destination;
    const depth = await queueDepth(env, name);
    if (depth > 0) left.push(`${depth} letters in the ${name} dead-letter queue`);
    if (mode === 'latest-state') {
      const behind = await behindTable(env, name, finalVersions);
      if (behind.length > 0) left.push(`${behind.length} ${name} accounts behind the table`);
      continue;
    }
    const waiting = await waitingAccounts(env, destination);
    if (waiting.length > 0) left.push(`${waiting.length} ${name} accounts waiting for a missing version`);
    if (mode === 'in-order') {
      const pending = await pendingGaps(env, name, gaps, skipped);
      if (pending.length > 0) left.push(`${pending.length} dropped ${name} gaps neither received nor skipped`);
    }
  }
  return left;
}

/**
 * Waits until the gap clocks have run out for every account that waits for a missing version (every destination but
 * the latest-state ones), so that the sweepers have sent the GAP_TIMEOUT notices the operator acts on: an account's
 * clock ends at its wait's start plus the maximum gap age plus one sweep. An in-order account that already had its
 * notice, or that waits behind a dead-lettered version (no notice comes for that: it waits for its redrive), is not
 * waited for.
 */
export async function waitForGapClocks(
  env: LocalEnvironment,
  destinations: readonly OperatedDestination[],
  timing: { readonly maxGapAgeMs: number; readonly sweepEveryMs: number; readonly signal?: AbortSignal },
  deadline: number,
): Promise<number> {
  const slack = 1_000;
  const began = Date.now();
  for (;;) {
    timing.signal?.throwIfAborted();
    let until = 0;
    for (const destination of destinations) {
      if (destination.mode === 'latest-state') continue;
      const ledger = ledgerOf(env, destination);
      const waiting: { accountId: string; since: number }[] = [];
      for await (const account of ledger.waiting()) waiting.push(account);
      const watermarks = await ledger.load(waiting.map((account) => account.accountId));
      for (const { accountId, since } of waiting) {
        const w = watermarks.get(accountId);
        if (destination.mode === 'in-order' && w && (w.gapNotice !== undefined || hasVersion(w.owed, w.version + 1))) continue;
        until = Math.max(until, since + timing.maxGapAgeMs + timing.sweepEveryMs + slack);
      }
    }
    const now = Date.now();
    if (until <= now || now >= deadline) return now - began;
    await sleep(Math.min(1_000, until - now, deadline - now));
  }
}

/** Whether every version a notice names was dropped, or has been delivered since (`delivered`: `<account>#<version>`). */
export function explained(notice: NoticeReport, dropped: Dropped, delivered: ReadonlySet<string>): boolean {
  if (notice.missing.length === 0 || countVersions(notice.missing) > 100_000) return false;
  return unaccounted(notice, dropped, delivered).length === 0;
}

/** The versions of a notice neither dropped nor delivered since (the first few): what the operator cannot explain. */
export function unaccounted(notice: NoticeReport, dropped: Dropped, delivered: ReadonlySet<string>, limit = 5): number[] {
  const mine = dropped.get(notice.accountId);
  const versions: number[] = [];
  for (const [from, to] of notice.missing) {
    for (let version = from; version <= to && versions.length < limit; version += 1) {
      if (mine?.has(version) !== true && !delivered.has(`${notice.accountId}#${version}`)) versions.push(version);
    }
  }
  return versions;
}

export function jsonIO(): CommandIO & { readonly lines: string[] } {
  const lines: string[] = [];
  return { json: true, lines, out: (line) => void lines.push(line), err: () => undefined, progress: () => undefined };
}

/** Runs a redrive with JSON output and returns its result document. */
export async function run(command: (io: CommandIO) => Promise<number>): Promise<RedriveResult> {
  const io = jsonIO();
  await command(io);
  return JSON.parse(io.lines.join('\n')) as RedriveResult;
}

export function describeRedrive(result: RedriveResult): string {
  const parts = Object.entries(result.reasons).map(([reason, c]) =>
    reason === 'GAP_TIMEOUT'
      ? `${c.received} GAP_TIMEOUT notices (${c.deleted} closed since, deleted; ${c.stillFailing} still open)`
      : `${c.received} ${reason} (${c.redriven} redriven${c.stillFailing ? `, ${c.stillFailing} failing again` : ''}${c.skipped ? `, ${c.skipped} left` : ''})`,
  );
  // What still fails, with why (the letter's detail), so an unexplained remainder can be read from the report.
  const failing = result.failures.filter((failure) => failure.reason !== 'GAP_TIMEOUT').map((f) => `${f.accountId ?? '?'} v${f.version ?? '?'}: ${f.detail}`);
  return `${parts.length > 0 ? parts.join(', ') : 'nothing to do'}${failing.length > 0 ? ` [${failing.join('; ')}]` : ''}`;
}

export function range(from: number, to: number): string {
  return from === to ? `${from}` : `${from}-${to}`;
}
