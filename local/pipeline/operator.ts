/**
 * The operator of a fault-injected local run (`--crash-rate`, `--destination-faults`, `--permanent-gap-rate`): once the
 * destinations are quiet it does what the README's runbooks say, through the `fanout` commands' own functions, and
 * prints each action. For every destination of the run, built-ins and plug-ins alike, it decides by the destination's
 * mode, never its name: redrive its dead-letter queue (failed deliveries go back through the engine, GAP_TIMEOUT
 * notices whose gap has closed are deleted); then, in-order: skip the gaps the bridge dropped on purpose
 * (`--skip-gap <account>@<version> --reason "dropped by --permanent-gap-rate (seed N)"`); every-version: acknowledge
 * the notices that name only dropped versions; latest-state: `reconcile --repair` when an account's last version was
 * dropped; and again, until the queues are empty and nothing waits, or a bound is reached. It never skips or
 * acknowledges a version that was not dropped: what it cannot explain it reports.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { PipelineConfig } from '../../infra/config/pipeline-config';
import { redrive } from '../../ops/commands/redrive';
import { localTarget } from '../../ops/target';
import type { VersionRanges } from '../../shared/ordering/version-ranges';
import type { DroppedChange } from '../bridge/kinesis-bridge';
import type { LocalEnvironment } from './environment';
import type { PerDestination } from './fault-report';
import { localStateOf } from './local-state';
import { actByMode, tally, type OperatorRecord, type OperatorRound } from './operator-modes';
import { describeRedrive, leftOver, queueDepth, run, waitForGapClocks, type OperatedDestination } from './operator-support';

export { queueDepth, type OperatedDestination } from './operator-support';

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
  /** The in-order destination it was skipped in. */
  readonly destination: string;
  readonly reason: string;
  /** Versions the skip delivered right away: what waited parked behind the gap. */
  readonly delivered: number;
}

export interface NoticeReport {
  readonly destination: string;
  readonly accountId: string;
  /** As the notice names them, e.g. `3-4`. */
  readonly versions: string;
  readonly missing: VersionRanges;
}

/** One `reconcile --repair` of a latest-state destination (`searchRepairs`: named so before plug-ins could be). */
export interface SearchRepair {
  readonly destination: string;
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
  readonly redriven: PerDestination<Readonly<Record<string, number>>>;
  /** GAP_TIMEOUT notices deleted by a redrive because their gap had closed since (late versions, skips). */
  readonly noticesResolved: PerDestination<number>;
  /** GAP_TIMEOUT notices seen still open: the gaps the destinations reported. */
  readonly noticesSeen: readonly NoticeReport[];
  readonly gapsSkipped: readonly SkippedGap[];
  readonly noticesAcknowledged: readonly NoticeReport[];
  readonly searchRepairs: readonly SearchRepair[];
  /** What the operator found and could not put down to a dropped version (empty in a clean run). */
  readonly unexplained: readonly string[];
  /** Every queue is empty, nothing is parked, every dropped gap is closed and every latest-state destination matches the table. */
  readonly drained: boolean;
}

export interface OperatorOptions {
  readonly env: LocalEnvironment;
  readonly config: PipelineConfig;
  /** Every destination of the run, built-ins and plug-ins: what is done to each depends on its mode only. */
  readonly destinations: readonly OperatedDestination[];
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

/** Acts as the operator until everything is drained or `MAX_ROUNDS`/`timeoutMs` pass. */
export async function actAsOperator(options: OperatorOptions): Promise<OperatorReport> {
  const { env, config, gaps, finalVersions, destinations } = options;
  const deadline = Date.now() + options.timeoutMs;
  const reason = `dropped by --permanent-gap-rate (seed ${options.seed})`;
  const actions: string[] = [];
  const began = Date.now();
  const act = (line: string): void => {
    const stamped = `+${((Date.now() - began) / 1000).toFixed(1)} s  ${line}`;
    actions.push(stamped);
    options.log(`operator: ${stamped}`);
  };
  const names = destinations.map(({ name }) => name);
  const record: OperatorRecord = {
    redriven: Object.fromEntries(names.map((name) => [name, {}])),
    noticesResolved: Object.fromEntries(names.map((name) => [name, 0])),
    gapsSkipped: [],
    noticesAcknowledged: [],
    searchRepairs: [],
    unexplainedForGood: [],
  };
  const noticesSeen = new Map<string, NoticeReport>();
  let unexplained: string[] = [];
  const dropped = droppedSet(gaps);
  const target = localTarget(localStateOf(env, config));
  let rounds = 0;
  let drained = false;
  try {
    while (rounds < MAX_ROUNDS && Date.now() < deadline) {
      options.signal?.throwIfAborted();
      rounds += 1;
      const waited = await waitForGapClocks(env, destinations, options, deadline);
      if (waited >= 1_000) act(`waited ${(waited / 1000).toFixed(1)} s for the gap clocks of the waiting accounts (maximum gap age + one sweep)`);
      const round: OperatorRound = { env, target, gaps, dropped, finalVersions, reason, record, unexplained: [], act };

      // 1. Every queue back through the engine: failed deliveries redriven, closed gaps' notices deleted.
      const open: NoticeReport[] = [];
      for (const { name: destination } of destinations) {
        if ((await queueDepth(env, destination)) === 0) continue;
        const result = await run((io) => redrive(target, { destination }, io));
        tally(result, record, destination);
        act(`fanout redrive ${destination}: ${describeRedrive(result)}`);
        for (const notice of result.gapTimeouts) {
          if (notice.resolved || notice.deleted || !notice.accountId) continue;
          const seen = { destination, accountId: notice.accountId, versions: notice.missingVersions, missing: notice.missing };
          noticesSeen.set(`${destination}#${seen.accountId}#${seen.versions}`, seen);
          open.push(seen);
        }
      }

      // 2. What the dropped versions call for, by each destination's mode (`operator-modes.ts`).
      for (const { name, mode } of destinations) await actByMode(round, name, mode, open);
      unexplained = round.unexplained;

      // 3. Done when nothing is left anywhere.
      const left = await leftOver(env, destinations, gaps, record.gapsSkipped, finalVersions);
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
  if (!drained) unexplained.push(...(await leftOver(env, destinations, gaps, record.gapsSkipped, finalVersions)));
  return {
    rounds,
    actions,
    redriven: record.redriven as PerDestination<Record<string, number>>,
    noticesResolved: record.noticesResolved as PerDestination<number>,
    noticesSeen: [...noticesSeen.values()],
    gapsSkipped: record.gapsSkipped,
    noticesAcknowledged: record.noticesAcknowledged,
    searchRepairs: record.searchRepairs,
    unexplained: [...record.unexplainedForGood, ...unexplained],
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
