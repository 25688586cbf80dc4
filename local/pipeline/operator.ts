/**
 * The operator of a fault-injected local run (`--crash-rate`, `--destination-faults`, `--permanent-gap-rate`): once the
 * destinations are quiet it does what the README's runbooks say, through the `fanout` commands' own functions, and
 * prints each action: redrive every dead-letter queue (failed deliveries go back through the engine, GAP_TIMEOUT
 * notices whose gap has closed are deleted); skip the fraud gaps the bridge dropped on purpose
 * (`--skip-gap <account>@<version> --reason "dropped by --permanent-gap-rate (seed N)"`); acknowledge the audit
 * notices that name only dropped versions; `reconcile --repair` search when an account's last version was dropped;
 * and again, until the queues are empty and nothing waits, or a bound is reached. It never skips or acknowledges a
 * version that was not dropped: what it cannot explain it reports.
 */
import { countVersions, type VersionRanges } from '../../shared/ordering/version-ranges';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { DESTINATION_NAMES, type DestinationName, type PipelineConfig } from '../../infra/config/pipeline-config';
import { reconcile } from '../../ops/commands/reconcile';
import { redrive, type RedriveResult } from '../../ops/commands/redrive';
import { resumeAccounts } from '../../ops/commands/redrive-gaps';
import type { CommandIO } from '../../ops/io';
import { localTarget } from '../../ops/target';
import { DynamoDBLedger } from '../../shared/ledger/dynamodb-ledger';
import { hasVersion } from '../../shared/ordering/version-ranges';
import type { DroppedChange } from '../bridge/kinesis-bridge';
import type { LocalEnvironment } from './environment';
import { localStateOf } from './local-state';

/** A run of consecutive versions of one account that never reached the stream. */
export interface DroppedGap {
  readonly accountId: string;
  readonly from: number;
  readonly to: number;
}

/** The dropped changes as gaps: consecutive versions of an account together, by account and version. */
export function gapsOf(dropped: readonly DroppedChange[]): DroppedGap[] {
  const byAccount = new Map<string, number[]>();
  for (const { accountId, version } of dropped) byAccount.set(accountId, [...(byAccount.get(accountId) ?? []), version]);
  const gaps: DroppedGap[] = [];
  for (const [accountId, versions] of [...byAccount].sort(([a], [b]) => a.localeCompare(b))) {
    const sorted = [...new Set(versions)].sort((a, b) => a - b);
    let from = sorted[0] as number;
    let to = from;
    for (const version of sorted.slice(1)) {
      if (version === to + 1) to = version;
      else {
        gaps.push({ accountId, from, to });
        from = to = version;
      }
    }
    gaps.push({ accountId, from, to });
  }
  return gaps;
}

export interface SkippedGap extends DroppedGap {
  readonly reason: string;
  /** Versions the skip delivered right away: what waited parked behind the gap. */
  readonly delivered: number;
}

export interface NoticeReport {
  readonly destination: DestinationName;
  readonly accountId: string;
  /** As the notice names them, e.g. `3-4`. */
  readonly versions: string;
  readonly missing: VersionRanges;
}

export interface SearchRepair {
  readonly accounts: number;
  readonly delivered: number;
  readonly alreadyCurrent: number;
  readonly stale: number;
  readonly failed: number;
}

/** What the operator did (`details.operator` of the report). */
export interface OperatorReport {
  readonly rounds: number;
  /** Each action as printed, in order. */
  readonly actions: readonly string[];
  /** Per destination, per reason: letters sent back through the engine and deleted. */
  readonly redriven: Readonly<Record<DestinationName, Readonly<Record<string, number>>>>;
  /** GAP_TIMEOUT notices deleted by a redrive because their gap had closed since (late versions, skips). */
  readonly noticesResolved: Readonly<Record<DestinationName, number>>;
  /** GAP_TIMEOUT notices seen still open: the gaps the destinations reported. */
  readonly noticesSeen: readonly NoticeReport[];
  readonly gapsSkipped: readonly SkippedGap[];
  readonly noticesAcknowledged: readonly NoticeReport[];
  readonly searchRepairs: readonly SearchRepair[];
  /** What the operator found and could not put down to a dropped version (empty in a clean run). */
  readonly unexplained: readonly string[];
  /** Every queue is empty, nothing is parked, every dropped gap is closed and search matches the table. */
  readonly drained: boolean;
}

export interface OperatorOptions {
  readonly env: LocalEnvironment;
  readonly config: PipelineConfig;
  readonly gaps: readonly DroppedGap[];
  /** The table's final version of every account. */
  readonly finalVersions: ReadonlyMap<string, number>;
  /** The seed named in the skips' reason. */
  readonly seed: number;
  /** The functions' maximum gap age, and how often the local sweepers run. */
  readonly maxGapAgeMs: number;
  readonly sweepEveryMs: number;
  /** The operator gives up after this long. */
  readonly timeoutMs: number;
  readonly log: (message: string) => void;
  readonly signal?: AbortSignal;
}

const MAX_ROUNDS = 8;
const SWEPT: readonly DestinationName[] = ['audit', 'fraud'];

/** Acts as the operator until everything is drained or `MAX_ROUNDS`/`timeoutMs` pass. */
export async function actAsOperator(options: OperatorOptions): Promise<OperatorReport> {
  const { env, config, gaps, finalVersions } = options;
  const deadline = Date.now() + options.timeoutMs;
  const reason = `dropped by --permanent-gap-rate (seed ${options.seed})`;
  const actions: string[] = [];
  const began = Date.now();
  const act = (line: string): void => {
    const stamped = `+${((Date.now() - began) / 1000).toFixed(1)} s  ${line}`;
    actions.push(stamped);
    options.log(`operator: ${stamped}`);
  };
  const redriven = Object.fromEntries(DESTINATION_NAMES.map((name) => [name, {} as Record<string, number>])) as Record<DestinationName, Record<string, number>>;
  const noticesResolved = Object.fromEntries(DESTINATION_NAMES.map((name) => [name, 0])) as Record<DestinationName, number>;
  const noticesSeen = new Map<string, NoticeReport>();
  const gapsSkipped: SkippedGap[] = [];
  const noticesAcknowledged: NoticeReport[] = [];
  const searchRepairs: SearchRepair[] = [];
  /** Found in the last round (what later rounds may still clear), and for good (an acknowledgement cannot be undone). */
  let unexplained: string[] = [];
  const unexplainedForGood: string[] = [];
  const dropped = droppedSet(gaps);
  const target = localTarget(localStateOf(env, config));
  let rounds = 0;
  let drained = false;
  try {
    while (rounds < MAX_ROUNDS && Date.now() < deadline) {
      options.signal?.throwIfAborted();
      rounds += 1;
      const waited = await waitForGapClocks(env, config, options, deadline);
      if (waited >= 1_000) act(`waited ${(waited / 1000).toFixed(1)} s for the gap clocks of the waiting accounts (maximum gap age + one sweep)`);
      unexplained = [];

      // 1. Every queue back through the engine: failed deliveries redriven, closed gaps' notices deleted.
      const open: NoticeReport[] = [];
      for (const destination of DESTINATION_NAMES) {
        if ((await queueDepth(env, destination)) === 0) continue;
        const result = await run((io) => redrive(target, { destination }, io));
        tally(result, redriven[destination], noticesResolved, destination);
        act(`fanout redrive ${destination}: ${describeRedrive(result)}`);
        for (const notice of result.gapTimeouts) {
          if (notice.resolved || notice.deleted || !notice.accountId) continue;
          const seen = { destination, accountId: notice.accountId, versions: notice.missingVersions, missing: notice.missing };
          noticesSeen.set(`${destination}#${seen.accountId}#${seen.versions}`, seen);
          open.push(seen);
        }
      }

      // 2. fraud: skip each dropped gap the account now waits at (never one it has not reached: what comes before a
      //    gap may be a version that is only late or dead-lettered, and a skip gives up on everything below `through`).
      //    An account with two gaps reaches the second once the first is skipped: skip again, without waiting.
      for (let pass = 0; pass < 10; pass += 1) {
        const pending = pendingFraudGaps(env, gaps, gapsSkipped);
        if (pending.length === 0) break;
        const views = await resumeAccounts(target, 'fraud', [...new Set(pending.map((gap) => gap.accountId))]);
        const first = new Map<string, DroppedGap>();
        for (const gap of pending) if (views.get(gap.accountId)?.version === gap.from - 1 && !first.has(gap.accountId)) first.set(gap.accountId, gap);
        const skips = [...first.values()];
        if (skips.length === 0) break;
        const result = await run((io) =>
          redrive(target, { destination: 'fraud', skipGaps: skips.map((gap) => ({ accountId: gap.accountId, through: gap.to })), reason }, io),
        );
        tally(result, redriven.fraud, noticesResolved, 'fraud');
        let skipped = 0;
        for (const skip of result.skips) {
          const gap = skips.find((candidate) => candidate.accountId === skip.accountId && candidate.to === skip.through);
          if (gap && 'skipped' in skip.outcome) {
            skipped += 1;
            gapsSkipped.push({ ...gap, from: skip.outcome.skipped.from, reason, delivered: skip.delivered });
            act(`fanout redrive fraud --skip-gap ${skip.accountId}@${skip.through} --reason "${reason}": skipped v${range(skip.outcome.skipped.from, skip.outcome.skipped.to)}, then delivered ${skip.delivered} that waited behind`);
          } else if ('refused' in skip.outcome) {
            act(`fanout redrive fraud --skip-gap ${skip.accountId}@${skip.through}: refused (${skip.outcome.refused}); tried again next round`);
          }
        }
        if (skipped === 0) break;
      }

      // 3. audit: acknowledge its open notices once each names only versions that were dropped, or that came late and
      //    are in the bucket by now (a notice can name both: it stays open then, as some of its versions stay owed).
      const auditNotices = open.filter((notice) => notice.destination === 'audit');
      const inBucket = auditHas(env);
      const unexplainedNotices = auditNotices.filter((notice) => !explained(notice, dropped, inBucket));
      if (unexplainedNotices.length > 0) {
        const named = unexplainedNotices.slice(0, 3).map((n) => `${n.accountId} v${n.versions}: not v${unaccounted(n, dropped, inBucket).join(',')}`);
        act(`audit: ${unexplainedNotices.length} open GAP_TIMEOUT notices name versions neither dropped nor in the bucket (${named.join('; ')}): not acknowledged`);
      }
      if (auditNotices.length > 0 && unexplainedNotices.length === 0) {
        const result = await run((io) => redrive(target, { destination: 'audit', acknowledge: ['GAP_TIMEOUT'] }, io));
        tally(result, redriven.audit, noticesResolved, 'audit');
        for (const notice of result.gapTimeouts) {
          if (!notice.deleted || notice.resolved || !notice.accountId) continue;
          const report = { destination: 'audit' as const, accountId: notice.accountId, versions: notice.missingVersions, missing: notice.missing };
          noticesAcknowledged.push(report);
          if (!explained(report, dropped, auditHas(env))) unexplainedForGood.push(`audit: acknowledged a GAP_TIMEOUT notice that arrived meanwhile for ${report.accountId} v${report.versions}, not all dropped`);
        }
        act(`fanout redrive audit --acknowledge GAP_TIMEOUT: ${result.gapTimeouts.filter((n) => n.deleted && !n.resolved).length} notices of dropped versions deleted`);
      }
      for (const notice of unexplainedNotices) unexplained.push(`audit: GAP_TIMEOUT notice for ${notice.accountId} v${notice.versions} names versions neither dropped nor delivered since`);

      // 4. search: put the table's state back where an account's last version was dropped (and only then).
      const behind = await searchBehind(env, finalVersions);
      if (behind.length > 0) {
        const notDropped = behind.filter((accountId) => !dropped.get(accountId)?.has(finalVersions.get(accountId) ?? 0));
        if (notDropped.length === 0) {
          const io = jsonIO();
          await reconcile(target, { destination: 'search', repair: true }, io);
          const repair = (JSON.parse(io.lines.join('\n')) as { destinations: { search?: { repair?: SearchRepair | null } } }).destinations.search?.repair;
          if (repair) {
            searchRepairs.push({ accounts: repair.accounts, delivered: repair.delivered, alreadyCurrent: repair.alreadyCurrent, stale: repair.stale, failed: repair.failed });
            act(`fanout reconcile --destination search --repair: ${behind.length} accounts whose last version was dropped; re-delivered ${repair.accounts}: ${repair.delivered} delivered, ${repair.alreadyCurrent} already current, ${repair.stale} stale, ${repair.failed} failed`);
          }
        } else {
          unexplained.push(`search: ${notDropped.length} accounts behind the table whose last version was not dropped (${notDropped.slice(0, 3).join(', ')}${notDropped.length > 3 ? ', …' : ''})`);
        }
      }

      // 5. Done when nothing is left anywhere.
      const left = await leftOver(env, config, gaps, gapsSkipped, finalVersions);
      if (left.length === 0) {
        drained = true;
        unexplained = [];
        break;
      }
      act(`round ${rounds}: still ${left.join('; ')}`);
      // Give the sweepers and the functions a moment before looking again.
      if (rounds < MAX_ROUNDS) await sleep(Math.min(2_000, Math.max(0, deadline - Date.now())));
    }
  } finally {
    await target.close();
  }
  if (!drained) unexplained.push(...(await leftOver(env, config, gaps, gapsSkipped, finalVersions)));
  unexplained = [...unexplainedForGood, ...unexplained];
  return {
    rounds,
    actions,
    redriven,
    noticesResolved,
    noticesSeen: [...noticesSeen.values()],
    gapsSkipped,
    noticesAcknowledged,
    searchRepairs,
    unexplained,
    drained,
  };
}

/** Per account, the versions dropped. */
export function droppedSet(gaps: readonly DroppedGap[]): Map<string, Set<number>> {
  const result = new Map<string, Set<number>>();
  for (const { accountId, from, to } of gaps) {
    let versions = result.get(accountId);
    if (!versions) result.set(accountId, (versions = new Set()));
    for (let version = from; version <= to; version += 1) versions.add(version);
  }
  return result;
}

/** Whether every version a notice names was dropped, or has been delivered since (`delivered`: `<account>#<version>`). */
function explained(notice: NoticeReport, dropped: ReadonlyMap<string, ReadonlySet<number>>, delivered: ReadonlySet<string>): boolean {
  if (notice.missing.length === 0 || countVersions(notice.missing) > 100_000) return false;
  return unaccounted(notice, dropped, delivered).length === 0;
}

/** The versions of a notice neither dropped nor delivered since (the first few): what the operator cannot explain. */
function unaccounted(notice: NoticeReport, dropped: ReadonlyMap<string, ReadonlySet<number>>, delivered: ReadonlySet<string>, limit = 5): number[] {
  const mine = dropped.get(notice.accountId);
  const versions: number[] = [];
  for (const [from, to] of notice.missing) {
    for (let version = from; version <= to && versions.length < limit; version += 1) {
      if (mine?.has(version) !== true && !delivered.has(`${notice.accountId}#${version}`)) versions.push(version);
    }
  }
  return versions;
}

/** The audit objects created so far, as `<account>#<version>` (from the create-only proxy's log of creations). */
function auditHas(env: LocalEnvironment): Set<string> {
  const has = new Set<string>();
  for (const { path } of env.s3Proxy.created) {
    const match = /account_id=([^/]+)\/version=(\d+)\.json$/.exec(path);
    if (match) has.add(`${decodeURIComponent(match[1] as string)}#${Number(match[2])}`);
  }
  return has;
}

/** Dropped gaps fraud has neither received (whole) nor had skipped yet. */
function pendingFraudGaps(env: LocalEnvironment, gaps: readonly DroppedGap[], skipped: readonly SkippedGap[]): DroppedGap[] {
  const received = new Set(
    env.eventBridge.events(env.resources.eventBus).map((event) => {
      const { accountId, version } = event.detail as { accountId: string; version: number };
      return `${accountId}#${version}`;
    }),
  );
  return gaps.filter((gap) => {
    if (skipped.some((skip) => skip.accountId === gap.accountId && skip.to >= gap.to && skip.from <= gap.from)) return false;
    for (let version = gap.from; version <= gap.to; version += 1) if (!received.has(`${gap.accountId}#${version}`)) return true;
    return false;
  });
}

/**
 * Accounts whose search document is not the table's final version, from the stand-in's log of accepted writes (its
 * faults are still on: a read through the client could be refused).
 */
async function searchBehind(env: LocalEnvironment, finalVersions: ReadonlyMap<string, number>): Promise<string[]> {
  const indexed = new Map<string, number>();
  for (const write of env.openSearch.writes(env.resources.index)) indexed.set(write.id, Math.max(indexed.get(write.id) ?? 0, write.version));
  return [...finalVersions].filter(([accountId, final]) => indexed.get(accountId) !== final).map(([accountId]) => accountId);
}

/** What still keeps the run from being drained, one phrase each; empty when nothing. */
async function leftOver(
  env: LocalEnvironment,
  config: PipelineConfig,
  gaps: readonly DroppedGap[],
  skipped: readonly SkippedGap[],
  finalVersions: ReadonlyMap<string, number>,
): Promise<string[]> {
  const left: string[] = [];
  for (const destination of DESTINATION_NAMES) {
    const depth = await queueDepth(env, destination);
    if (depth > 0) left.push(`${depth} letters in the ${destination} dead-letter queue`);
  }
  for (const destination of SWEPT) {
    const waiting = await waitingAccounts(env, config, destination);
    if (waiting.length > 0) left.push(`${waiting.length} ${destination} accounts waiting for a missing version`);
  }
  const pending = pendingFraudGaps(env, gaps, skipped);
  if (pending.length > 0) left.push(`${pending.length} dropped fraud gaps neither received nor skipped`);
  const behind = await searchBehind(env, finalVersions);
  if (behind.length > 0) left.push(`${behind.length} search documents behind the table`);
  return left;
}

/**
 * Waits until the gap clocks have run out for every account that waits for a missing version (audit, fraud), so that
 * the sweepers have sent the GAP_TIMEOUT notices the operator acts on: an account's clock ends at its wait's start
 * plus the maximum gap age plus one sweep. A fraud account that already had its notice, or that waits behind a
 * dead-lettered version (no notice comes for that: it waits for its redrive), is not waited for.
 */
async function waitForGapClocks(env: LocalEnvironment, config: PipelineConfig, options: OperatorOptions, deadline: number): Promise<number> {
  const slack = 1_000;
  const began = Date.now();
  for (;;) {
    options.signal?.throwIfAborted();
    let until = 0;
    for (const destination of SWEPT) {
      const ledger = ledgerOf(env, config, destination);
      const waiting: { accountId: string; since: number }[] = [];
      for await (const account of ledger.waiting()) waiting.push(account);
      const watermarks = await ledger.load(waiting.map((account) => account.accountId));
      for (const { accountId, since } of waiting) {
        const w = watermarks.get(accountId);
        if (destination === 'fraud' && w && (w.gapNotice !== undefined || hasVersion(w.owed, w.version + 1))) continue;
        until = Math.max(until, since + options.maxGapAgeMs + options.sweepEveryMs + slack);
      }
    }
    const now = Date.now();
    if (until <= now || now >= deadline) return now - began;
    await sleep(Math.min(1_000, until - now, deadline - now));
  }
}

async function waitingAccounts(env: LocalEnvironment, config: PipelineConfig, destination: DestinationName): Promise<string[]> {
  const accounts: string[] = [];
  for await (const { accountId } of ledgerOf(env, config, destination).waiting()) accounts.push(accountId);
  return accounts;
}

function ledgerOf(env: LocalEnvironment, config: PipelineConfig, destination: DestinationName): DynamoDBLedger {
  return new DynamoDBLedger({ client: env.dynamodb, tableName: env.resources.ledgerTable, destination, epoch: config.destinations[destination].epoch });
}

export async function queueDepth(env: LocalEnvironment, destination: DestinationName): Promise<number> {
  const { Attributes } = await env.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: env.resources.deadLetterQueues[destination],
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return Number(Attributes?.ApproximateNumberOfMessages ?? 0) + Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
}

function jsonIO(): CommandIO & { readonly lines: string[] } {
  const lines: string[] = [];
  return { json: true, lines, out: (line) => void lines.push(line), err: () => undefined, progress: () => undefined };
}

/** Runs a redrive with JSON output and returns its result document. */
async function run(command: (io: CommandIO) => Promise<number>): Promise<RedriveResult> {
  const io = jsonIO();
  await command(io);
  return JSON.parse(io.lines.join('\n')) as RedriveResult;
}

function tally(result: RedriveResult, into: Record<string, number>, resolved: Record<DestinationName, number>, destination: DestinationName): void {
  for (const [reason, counts] of Object.entries(result.reasons)) {
    if (reason === 'GAP_TIMEOUT') resolved[destination] += counts.redriven;
    else if (counts.redriven > 0) into[reason] = (into[reason] ?? 0) + counts.redriven;
  }
}

function describeRedrive(result: RedriveResult): string {
  const parts = Object.entries(result.reasons).map(([reason, c]) =>
    reason === 'GAP_TIMEOUT'
      ? `${c.received} GAP_TIMEOUT notices (${c.deleted} closed since, deleted; ${c.stillFailing} still open)`
      : `${c.received} ${reason} (${c.redriven} redriven${c.stillFailing ? `, ${c.stillFailing} failing again` : ''}${c.skipped ? `, ${c.skipped} left` : ''})`,
  );
  // What still fails, with why (the letter's detail), so an unexplained remainder can be read from the report.
  const failing = result.failures.filter((failure) => failure.reason !== 'GAP_TIMEOUT').map((f) => `${f.accountId ?? '?'} v${f.version ?? '?'}: ${f.detail}`);
  return `${parts.length > 0 ? parts.join(', ') : 'nothing to do'}${failing.length > 0 ? ` [${failing.join('; ')}]` : ''}`;
}

function range(from: number, to: number): string {
  return from === to ? `${from}` : `${from}-${to}`;
}
