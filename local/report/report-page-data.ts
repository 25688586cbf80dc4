import type { DestinationName } from '../../infra/config/pipeline-config';
import type { PluginName } from '../../shared/config/consumer-config';
import type { DeliveryMode } from '../../shared/ordering/delivery-mode';
import type { StageBreakdown } from '../pipeline/stage-clock';
import type { DestinationSummary } from '../pipeline/verify-pipeline';

/*
 * `ReportData`: what a report page draws, bucketed in time. Its own file because two builders make it (a run's
 * `buildReportData`, and `fanout status --watch` from status snapshots) and `report-html.ts` renders it from either.
 */

export interface Histogram {
  /** Upper edge of each bin, ms (the last bin holds everything above the one before). */
  readonly edges: readonly number[];
  readonly counts: readonly number[];
}

export interface DestinationSeries {
  readonly mode: DeliveryMode;
  readonly ok: boolean;
  readonly summary: DestinationSummary;
  readonly latency: { readonly p50: number; readonly p90: number; readonly p95: number; readonly p99: number; readonly max: number; readonly samples: number };
  readonly warm: { readonly p50: number; readonly p95: number; readonly p99: number; readonly samples: number };
  readonly histogram: Histogram;
  /** Per bucket (by commit time): latency percentiles of the changes committed in it; null where none was. */
  readonly latencyOverTime: { readonly p50: readonly (number | null)[]; readonly p99: readonly (number | null)[]; readonly max: readonly (number | null)[] };
  /** Per bucket (by delivery time): deliveries accepted per second. */
  readonly throughput: readonly number[];
  /** At each bucket's end: changes committed and not yet delivered (search: not yet fresh). */
  readonly lag: readonly number[];
  readonly stages: StageBreakdown | null;
  readonly deadLetters: {
    readonly leftInQueue: number;
    readonly byReason: Readonly<Record<string, number>>;
    /** Letters in the queue, by reason (a status report reads them there; a run reports what it redrove). */
    readonly inQueueByReason?: Readonly<Record<string, number>>;
  };
  readonly parked: { readonly total: number; readonly waitingAccounts: number; readonly byReason: Readonly<Record<string, number>> };
  readonly functionMetrics: { readonly retries: number; readonly quarantined: number; readonly failedRecords: number; readonly duplicatesSkipped: number; readonly stale: number };
  /** The line under the destination's heading instead of the latency summary: for a report without latencies (`fanout status --watch`). */
  readonly statsText?: string;
}

export interface ReportData {
  readonly generatedAt: string;
  readonly command: string;
  /** The page's heading. @default `ordered-fanout: local pipeline run` */
  readonly title?: string;
  /** What the time axis counts seconds from. @default `the run's first commit` */
  readonly timeOrigin?: string;
  readonly verdict: { readonly ok: boolean; readonly headline: string; readonly failing: readonly string[] };
  readonly facts: readonly string[];
  /** Buckets: start of each, seconds from the first commit; all of `bucketSeconds` wide. */
  readonly bucketSeconds: number;
  readonly t: readonly number[];
  /** Changes committed per second, per bucket. */
  readonly committed: readonly number[];
  /** Run phases, seconds from the first commit (the workload ends, convergence ends, ...). */
  readonly phases: readonly { readonly at: number; readonly label: string }[];
  readonly destinations: Readonly<Record<DestinationName | PluginName, DestinationSeries>>;
  readonly faults: {
    /** Timed events, seconds from the first commit, by destination and kind. */
    readonly events: readonly { readonly at: number; readonly destination: string; readonly kind: string }[];
    /** Counted (untimed) faults: what the stand-ins counted, crashes by point, versions dropped before the stream. */
    readonly counts: readonly { readonly destination: string; readonly kind: string; readonly count: number }[];
    readonly described: readonly string[];
  };
}
