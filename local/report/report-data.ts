/**
 * The data behind `report.html`: a pure function of what a run already has (the JSON report, the bridged changes with
 * their commit times, what each destination accepted and when, and the timed events of the run). Everything is
 * bucketed in time, so the page stays small however long the run was. What it reads is `report-input.ts`, what it
 * builds `report-page-data.ts`.
 */
import type { DestinationName } from '../../infra/config/pipeline-config';
import type { PluginName } from '../../shared/config/consumer-config';
import { percentile } from '../pipeline/delivery-latency';
import type { DestinationDetails, DestinationSummary } from '../pipeline/verify-pipeline';
import type { ReportInput, TimedChange, TimedDelivery } from './report-input';
import type { DestinationSeries, Histogram, ReportData } from './report-page-data';

/** Histogram bin upper edges, ms: roughly logarithmic, 1-2-5 steps. */
export const HISTOGRAM_EDGES: readonly number[] = [10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, Infinity];

/** At most this many time buckets: a long run gets wider buckets rather than a larger page. */
export const MAX_BUCKETS = 600;

const key = (accountId: string, version: number): string => `${accountId}#${version}`;

/** When each change was first held by the destination: its own first delivery, or (latest-state) that version or a newer one. */
export function deliveredAt(changes: readonly TimedChange[], accepted: readonly TimedDelivery[], freshness: boolean): Map<string, number> {
  const result = new Map<string, number>();
  if (!freshness) {
    for (const { accountId, version, at } of accepted) {
      const k = key(accountId, version);
      const seen = result.get(k);
      if (seen === undefined || at < seen) result.set(k, at);
    }
    return result;
  }
  const writes = new Map<string, { version: number; at: number }[]>();
  for (const { accountId, version, at } of accepted) {
    let list = writes.get(accountId);
    if (!list) writes.set(accountId, (list = []));
    list.push({ version, at });
  }
  for (const { accountId, version } of changes) {
    let held = Infinity;
    for (const write of writes.get(accountId) ?? []) if (write.version >= version && write.at < held) held = write.at;
    if (held !== Infinity) result.set(key(accountId, version), held);
  }
  return result;
}

export function histogram(values: readonly number[], edges: readonly number[] = HISTOGRAM_EDGES): Histogram {
  const counts = edges.map(() => 0);
  for (const value of values) {
    const bin = edges.findIndex((edge) => value <= edge);
    counts[bin === -1 ? edges.length - 1 : bin]! += 1;
  }
  return { edges: edges.map((edge) => (edge === Infinity ? -1 : edge)), counts };
}

/** Builds the report's data. Pure: the same input gives the same output. */
export function buildReportData(input: ReportInput): ReportData {
  const { report, timeline } = input;
  // Every destination of the run, plug-ins included, in the run's order.
  const names = Object.keys(report.destinations);
  // Distinct changes (the bridge may have seen a change twice).
  const changes = [...new Map(timeline.changes.map((change) => [key(change.accountId, change.version), change])).values()];
  const createdMs = (change: TimedChange): number => change.createdAtMicros / 1000;
  const allTimes = [
    ...changes.map(createdMs),
    ...names.flatMap((name) => (input.accepted[name] ?? []).map(({ at }) => at)),
    ...timeline.events.map(({ atMs }) => atMs),
  ];
  // reduce, not Math.min(...): a long run's arrays are too long to spread into arguments.
  const origin = changes.length > 0 ? changes.reduce((min, change) => Math.min(min, createdMs(change)), Infinity) : timeline.startedAtMs;
  const end = allTimes.length > 0 ? allTimes.reduce((max, at) => Math.max(max, at), origin) : origin;
  const spanSeconds = Math.max(1, Math.ceil((end - origin) / 1000) + 1);
  const bucketSeconds = Math.max(1, Math.ceil(spanSeconds / MAX_BUCKETS));
  const buckets = Math.ceil(spanSeconds / bucketSeconds);
  const bucketOf = (atMs: number): number => Math.min(buckets - 1, Math.max(0, Math.floor((atMs - origin) / 1000 / bucketSeconds)));
  const round = (value: number, digits = 1): number => Number(value.toFixed(digits));
  const t = Array.from({ length: buckets }, (_, i) => i * bucketSeconds);

  const committed = new Array<number>(buckets).fill(0);
  for (const change of changes) committed[bucketOf(createdMs(change))]! += 1;

  const destinations = {} as Record<DestinationName | PluginName, DestinationSeries>;
  const failing: string[] = [];
  for (const name of names) {
    const details = report.details.destinations[name] as DestinationDetails;
    const mode = details.mode;
    const summary = report.destinations[name] as DestinationSummary;
    const held = deliveredAt(changes, input.accepted[name] ?? [], mode === 'latest-state');
    const latencies: number[] = [];
    const perBucket: number[][] = Array.from({ length: buckets }, () => []);
    // Backlog: +1 when a change is committed, -1 when it is held; the running sum at each bucket's end.
    const delta = new Array<number>(buckets + 1).fill(0);
    for (const change of changes) {
      const created = createdMs(change);
      delta[bucketOf(created)]! += 1;
      const at = held.get(key(change.accountId, change.version));
      if (at === undefined) continue;
      const latency = Math.max(0, at - created);
      latencies.push(latency);
      perBucket[bucketOf(created)]!.push(latency);
      delta[bucketOf(at)]! -= 1;
    }
    const lag: number[] = [];
    let running = 0;
    for (let i = 0; i < buckets; i += 1) lag.push((running += delta[i]!));
    const throughput = new Array<number>(buckets).fill(0);
    for (const { at } of input.accepted[name] ?? []) throughput[bucketOf(at)]! += 1;
    const stat = (values: number[], fraction: number): number | null => (values.length === 0 ? null : percentile(values, fraction));
    if (!details.ok) failing.push(name);
    destinations[name] = {
      mode,
      ok: details.ok,
      summary,
      latency: {
        p50: percentile(latencies, 0.5),
        p90: percentile(latencies, 0.9),
        p95: percentile(latencies, 0.95),
        p99: percentile(latencies, 0.99),
        max: percentile(latencies, 1),
        samples: latencies.length,
      },
      warm: details.warmLatencyMs,
      histogram: histogram(latencies),
      latencyOverTime: {
        p50: perBucket.map((values) => stat(values, 0.5)),
        p99: perBucket.map((values) => stat(values, 0.99)),
        max: perBucket.map((values) => stat(values, 1)),
      },
      throughput: throughput.map((count) => round(count / bucketSeconds)),
      lag,
      stages: details.stagesMs && details.stagesMs.samples > 0 ? details.stagesMs : null,
      deadLetters: { leftInQueue: summary.deadLettered, byReason: { ...(report.details.operator?.redriven[name] ?? {}) } },
      parked: {
        total: summary.parked,
        waitingAccounts: details.waitingAccounts,
        // A record is parked for one reason: an earlier version of its account has not arrived.
        byReason: summary.parked > 0 ? { 'waiting for a missing earlier version': summary.parked } : {},
      },
      functionMetrics: {
        retries: details.retries,
        quarantined: details.quarantined,
        failedRecords: details.failedRecords,
        duplicatesSkipped: summary.duplicatesSkipped,
        stale: summary.stale,
      },
    };
  }

  const timings = report.details.timingsMs;
  const startOffset = (timeline.startedAtMs - origin) / 1000;
  const phases: { at: number; label: string }[] = [];
  let cursor = startOffset + timings.setup / 1000;
  phases.push({ at: round(cursor), label: 'workload starts' });
  cursor += timings.workload / 1000;
  phases.push({ at: round(cursor), label: 'workload done' });
  cursor += timings.converge / 1000;
  phases.push({ at: round(cursor), label: report.details.converged ? 'converged' : 'converge ended' });
  if (timings.operator !== undefined) {
    cursor += timings.operator / 1000;
    phases.push({ at: round(cursor), label: 'operator done' });
  }

  const faults = report.details.faults;
  const counts: { destination: string; kind: string; count: number }[] = [];
  if (faults) {
    // Crashes of every destination of the run; stand-in faults of those whose local half injects them.
    const injected: Readonly<Record<string, Readonly<Record<string, number>>>> = { ...faults.injected };
    for (const [name, crashes] of Object.entries(faults.crashes)) {
      for (const [point, count] of Object.entries(crashes.byPoint)) if (count > 0) counts.push({ destination: name, kind: `crash ${point}`, count });
      for (const [kind, count] of Object.entries(injected[name] ?? {})) if (count > 0) counts.push({ destination: name, kind, count });
    }
    if (faults.dropped.versions > 0) counts.push({ destination: 'stream', kind: 'versions dropped before the stream', count: faults.dropped.versions });
  }
  const bridge = report.details.bridge;
  for (const [kind, count] of [['duplicates put', bridge.duplicates], ['held back (reordered)', bridge.displaced], ['delayed', bridge.delayed]] as const) {
    if (count > 0) counts.push({ destination: 'bridge', kind, count });
  }

  const work = report.details.workload;
  const facts = [
    `${report.accounts} accounts, ${report.changes} changes committed in ${(work.durationMs / 1000).toFixed(1)} s (seed ${report.details.seed}, ${report.details.shards} shards)`,
    `stream ${report.details.capture.complete ? 'complete' : 'INCOMPLETE'}: ${bridge.captured} captured, ${bridge.put} records put`,
    `total ${(timings.total / 1000).toFixed(1)} s (setup ${(timings.setup / 1000).toFixed(1)} s, converge ${(timings.converge / 1000).toFixed(1)} s)`,
  ];
  return {
    generatedAt: input.generatedAt,
    command: input.command ?? 'npm start',
    verdict: {
      ok: report.ok,
      headline: report.ok
        ? 'OK: read back from every destination, nothing missing, misordered or left parked'
        : `FAIL: ${failing.length > 0 ? failing.join(', ') : 'the stream or the operator'} did not verify`,
      failing,
    },
    facts,
    bucketSeconds,
    t,
    committed: committed.map((count) => round(count / bucketSeconds)),
    phases,
    destinations,
    faults: {
      events: timeline.events
        .map(({ atMs, destination, kind }) => ({ at: round((atMs - origin) / 1000, 2), destination, kind }))
        .sort((a, b) => a.at - b.at),
      counts,
      described: [...(input.standingFaults ?? []), ...(faults?.destinationFaults ?? [])],
    },
  };
}
