/**
 * `report.html` for `fanout status --watch`: the run report's page (local/report), drawn from successive status
 * snapshots instead of a run's deliveries. `status` sees no single delivery, so there are no latencies; what it sees
 * over time is how far the ledger's watermarks have come and how far the table is ahead of them:
 * - committed/s: the table's versions summed, per second (every write raises one version by one);
 * - delivered/s: each destination's watermark versions summed, per second (a change delivered, or skipped over);
 * - lag: versions in the table its watermarks have not reached;
 * - what waits for an operator at the last snapshot: parked records, gap time-outs, dead letters by reason.
 */
import { histogram, MAX_BUCKETS } from '../local/report/report-data';
import type { DestinationSeries, ReportData } from '../local/report/report-page-data';
import type { DestinationSummary } from '../local/pipeline/verify-pipeline';
import type { DestinationStatus, StatusSnapshot } from './commands/status';

/** One snapshot of the watch, with the dead letters by reason where they were read. */
export interface WatchPoint {
  readonly snapshot: StatusSnapshot;
  readonly deadLetterReasons?: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

export interface WatchReportContext {
  readonly targetDescription: string;
  readonly intervalSeconds: number;
  readonly command: string;
  readonly generatedAt: string;
}

/** At most this many points are drawn (the run report's limit on buckets); a longer watch is thinned evenly. */
export const MAX_POINTS = MAX_BUCKETS;

/** Every `n`-th point, evenly spread, first and last kept: rates stay right (they come from running totals). */
export function thinPoints<T>(points: readonly T[], max = MAX_POINTS): T[] {
  if (points.length <= max) return [...points];
  const step = (points.length - 1) / (max - 1);
  return Array.from({ length: max }, (_, i) => points[Math.round(i * step)] as T);
}

const round = (value: number, digits = 1): number => Number(value.toFixed(digits));

/** What a running total gained from the point before (0 for the first, where unknown or where `reset` says it restarted). */
function gains(totals: readonly (number | null)[], reset: (i: number) => boolean = () => false): number[] {
  return totals.map((total, i) => {
    const before = totals[i - 1];
    if (i === 0 || total === null || before === null || before === undefined || reset(i)) return 0;
    // A total can fall (an account deleted from the table takes its versions out of both sums): no progress, not negative.
    return Math.max(0, total - before);
  });
}

/** Gains per second between consecutive points. */
function perSecond(seconds: readonly number[], gained: readonly number[]): number[] {
  return gained.map((gain, i) => (i === 0 ? 0 : round(gain / Math.max(0.001, (seconds[i] as number) - (seconds[i - 1] as number)))));
}

/** Why a destination needs an operator at this snapshot; empty when nothing waits for one. */
function attention(row: DestinationStatus | undefined): string[] {
  if (!row) return ['not in the last snapshot'];
  const reasons: string[] = [];
  if (row.errors.length > 0) reasons.push(`unreadable (${row.errors.join('; ')})`);
  if ((row.deadLetters?.total ?? 0) > 0) reasons.push(`${row.deadLetters?.total} dead letters`);
  if ((row.gapTimedOut ?? 0) > 0) reasons.push(`${row.gapTimedOut} accounts gap-timed-out`);
  if ((row.blockedOnFailure ?? 0) > 0) reasons.push(`${row.blockedOnFailure} accounts blocked on a dead-lettered version`);
  return reasons;
}

/** A replay's accounts it owes nothing are not lag: said apart, so a smaller lag than the table's is explained. */
function unchangedNote(row: DestinationStatus | undefined): string {
  const count = row?.unchangedSinceReplayStart ?? 0;
  return count > 0 ? ` (${count} accounts unchanged since the replay's start ${row?.replayFrom}: not part of the replay, not lag)` : '';
}

export function buildStatusReportData(all: readonly WatchPoint[], context: WatchReportContext): ReportData {
  if (all.length === 0) throw new RangeError('a status report needs at least one snapshot');
  const points = thinPoints(all);
  const origin = Date.parse(points[0]!.snapshot.at);
  const seconds = points.map(({ snapshot }) => round((Date.parse(snapshot.at) - origin) / 1000));
  const last = points[points.length - 1] as WatchPoint;
  const spanSeconds = Math.max(0.001, seconds[seconds.length - 1] as number);
  const names = [...new Set(points.flatMap(({ snapshot }) => Object.keys(snapshot.destinations)))];
  const phases: { at: number; label: string }[] = [];
  const failing: string[] = [];
  const destinations: Record<string, DestinationSeries> = {};

  for (const name of names) {
    const rows = points.map(({ snapshot }) => snapshot.destinations[name]);
    const current = rows[rows.length - 1];
    // A new epoch (a replay) starts its watermarks from nothing: its first step is no progress, and is marked.
    const epochChanged = (i: number): boolean => rows[i]?.epoch !== rows[i - 1]?.epoch;
    rows.forEach((row, i) => i > 0 && row && epochChanged(i) && phases.push({ at: seconds[i] as number, label: `${name}: epoch ${row.epoch}` }));
    const progress = gains(rows.map((row) => row?.watermarkVersions ?? null), epochChanged);
    const throughput = perSecond(seconds, progress);
    const delivered = progress.reduce((sum, gain) => sum + gain, 0);
    let lastLag = 0;
    const lag = rows.map((row) => (lastLag = row?.versionsBehind ?? lastLag));
    const needs = attention(current);
    if (needs.length > 0) failing.push(`${name}: ${needs.join(', ')}`);
    const summary: DestinationSummary = {
      delivered,
      duplicatesSkipped: 0,
      stale: 0,
      healed: 0,
      parked: current?.parked ?? 0,
      deadLettered: current?.deadLetters?.total ?? 0,
      orderViolations: 0,
      missing: current?.versionsBehind ?? 0,
      recordsPerSecond: round(delivered / spanSeconds),
      latencyMs: { p50: 0, p99: 0 },
    };
    const none = points.map(() => null);
    const byState: Record<string, number> = {
      'accounts gap-timed-out (a notice went out)': current?.gapTimedOut ?? 0,
      'accounts blocked behind a dead-lettered version': current?.blockedOnFailure ?? 0,
    };
    destinations[name] = {
      mode: current?.mode ?? rows.find((row) => row)?.mode ?? 'every-version',
      ok: needs.length === 0,
      summary,
      latency: { p50: 0, p90: 0, p95: 0, p99: 0, max: 0, samples: 0 },
      warm: { p50: 0, p95: 0, p99: 0, samples: 0 },
      histogram: histogram([]),
      latencyOverTime: { p50: none, p99: none, max: none },
      throughput,
      lag,
      stages: null,
      deadLetters: { leftInQueue: summary.deadLettered, byReason: {}, inQueueByReason: last.deadLetterReasons?.[name] ?? {} },
      parked: {
        total: summary.parked,
        waitingAccounts: current?.waitingAccounts ?? 0,
        byReason: Object.fromEntries(Object.entries(byState).filter(([, count]) => count > 0)),
      },
      functionMetrics: { retries: 0, quarantined: 0, failedRecords: 0, duplicatesSkipped: 0, stale: 0 },
      statsText:
        `epoch ${current?.epoch ?? '?'}: the watermarks passed ${delivered} versions in ${round(spanSeconds)} s (${summary.recordsPerSecond}/s); ` +
        `at the last snapshot ${current?.accountsBehind ?? '?'} accounts (${current?.versionsBehind ?? '?'} versions) behind, ` +
        `${current?.waitingAccounts ?? '?'} waiting, ${current?.parked ?? '?'} parked, ${current?.deadLetters?.total ?? '?'} dead letters, ` +
        `${current?.deletionsNotDelivered ?? '?'} deletions not delivered${unchangedNote(current)}. ` +
        'Read from the ledger and the queues: no latencies, and the function-metrics table is not read (zeros).',
    };
  }

  const versions = points.map(({ snapshot }) => snapshot.versions);
  const first = points[0]!.snapshot;
  const committedTotal = (last.snapshot.versions ?? 0) - (first.versions ?? 0);
  return {
    generatedAt: context.generatedAt,
    command: context.command,
    title: `ordered-fanout: status over time, ${context.targetDescription}`,
    timeOrigin: 'the first snapshot',
    verdict: {
      ok: failing.length === 0,
      headline:
        failing.length === 0
          ? `OK at ${last.snapshot.at}: nothing waits for an operator (no dead letters, gap time-outs or blocked accounts)`
          : `NEEDS AN OPERATOR at ${last.snapshot.at}: ${failing.join('; ')}`,
      failing: failing.map((line) => line.slice(0, line.indexOf(':'))),
    },
    facts: [
      `${all.length} snapshots from ${first.at} to ${last.snapshot.at}, every ${context.intervalSeconds} s${all.length > points.length ? ` (${points.length} drawn)` : ''}`,
      `table: ${last.snapshot.accounts ?? '?'} accounts; ${committedTotal} changes committed while watched`,
      'delivered/s is the ledger watermarks\' progress in versions per second; lag is versions in the table the watermarks have not reached',
    ],
    bucketSeconds: context.intervalSeconds,
    t: seconds,
    committed: perSecond(seconds, gains(versions)),
    phases,
    // The type lists the built-ins, but the page draws whichever destinations it is given (`--destination` picks one).
    destinations: destinations as ReportData['destinations'],
    faults: { events: [], counts: [], described: [] },
  };
}
