import type { DestinationName } from '../../infra/config/pipeline-config';
import type { PluginName } from '../../shared/config/consumer-config';
import type { PipelineReport } from '../pipeline/run-pipeline';

/*
 * What a run records for its report: its changes with their commit times, what each destination accepted and when,
 * and its timed events. Apart from the builder (`report-data.ts`) because the pipeline and its destination functions
 * record these while the run goes on, and need nothing of how the page is built.
 */

/** A change as the bridge saw it (a subset of `BridgedChange`). */
export interface TimedChange {
  readonly accountId: string;
  readonly version: number;
  /** DynamoDB's commit time, µs. */
  readonly createdAtMicros: number;
}

/** A delivery a destination accepted (a subset of `Accepted`). */
export interface TimedDelivery {
  readonly accountId: string;
  readonly version: number;
  readonly at: number;
}

/** Something that happened at a known time during the run: an injected crash, a batch sent to the on-failure bucket. */
export interface TimelineEvent {
  readonly atMs: number;
  /** A built-in destination or a plug-in's name. */
  readonly destination: string;
  readonly kind: string;
}

/** What `runPipeline` records over time for the report (see `PipelineRun.timeline`). */
export interface RunTimeline {
  readonly startedAtMs: number;
  readonly changes: readonly TimedChange[];
  readonly events: readonly TimelineEvent[];
}

export interface ReportInput {
  readonly report: PipelineReport;
  readonly timeline: RunTimeline;
  /** Per destination of the run (plug-ins included): what it accepted, when. */
  readonly accepted: Readonly<Record<DestinationName | PluginName, readonly TimedDelivery[]>>;
  /** Faults in force for the whole run (`--fail`), as text. */
  readonly standingFaults?: readonly string[];
  readonly generatedAt: string;
  readonly command?: string;
}
