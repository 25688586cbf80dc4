import type { ConsumedBatch } from '../consumer/consumed-batch';
import type { DeadLetter } from '../ordering/ports';

/** Where a consumer reports each batch: logs and metrics. `PowertoolsTelemetry` on Lambda; tests may record. */
export interface Telemetry {
  /** Called at the start of each invocation with Lambda's context (or nothing, locally). */
  invocation(context?: unknown): void;
  batch(batch: ConsumedBatch): void;
  /**
   * A batch that threw: Lambda will retry or bisect it. `deadLetters`: what the queue stored for the batch before it
   * threw (other accounts' letters): they are in the queue, so they are logged and counted like any batch's.
   */
  batchError(error: unknown, records: number, durationMs: number, deadLetters?: readonly DeadLetter[]): void;
}

/**
 * The Powertools service name (also the metrics' `service` dimension) when `POWERTOOLS_SERVICE_NAME` is unset, and the
 * metrics namespace. The stack and the local pipeline set the variable to the pipeline's name, which is what the
 * alarms read: this default only names the output of a handler run on its own.
 */
export const SERVICE_NAME = 'ordered-fanout';
export const METRICS_NAMESPACE = 'OrderedFanout';

/** The metric names, each published with the dimensions `service` and `destination`. */
export const METRIC_NAMES = {
  records: 'RecordsReceived',
  delivered: 'Delivered',
  duplicates: 'DuplicatesSkipped',
  stale: 'StaleSkipped',
  parked: 'Parked',
  unparked: 'Unparked',
  healed: 'Healed',
  deadLettered: 'DeadLettered',
  gapTimeouts: 'GapTimeouts',
  contractBreaches: 'ContractBreaches',
  healMismatches: 'HealMismatches',
  beforeBaseline: 'BeforeBaseline',
  parkLimit: 'ParkLimit',
  gapsSkipped: 'GapsSkipped',
  versionsSkipped: 'VersionsSkipped',
  beforeWindow: 'BeforeWindow',
  baselined: 'Baselined',
  claimsLost: 'ClaimsLost',
  homesFenced: 'HomesFenced',
  quarantined: 'Quarantined',
  retries: 'DeliveryRetries',
  ledgerConflicts: 'LedgerConflicts',
  failed: 'FailedRecords',
  batchErrors: 'BatchErrors',
  batchLatency: 'BatchLatency',
  changeAge: 'OldestChangeAge',
  waitingAccounts: 'WaitingAccounts',
  oldestParkedAge: 'OldestParkedAge',
  parkedTooLong: 'AccountsParkedTooLong',
} as const;

export type MetricName = (typeof METRIC_NAMES)[keyof typeof METRIC_NAMES];

/** The counters of one batch under their metric names (all of them, zeros included, so dashboards have no holes). */
export function batchMetrics(batch: ConsumedBatch): Record<MetricName, number | undefined> {
  const { counts } = batch;
  return {
    [METRIC_NAMES.records]: batch.records,
    [METRIC_NAMES.delivered]: counts.delivered,
    [METRIC_NAMES.duplicates]: counts.duplicates,
    [METRIC_NAMES.stale]: counts.stale,
    [METRIC_NAMES.parked]: counts.parked,
    [METRIC_NAMES.unparked]: counts.unparked,
    [METRIC_NAMES.healed]: counts.healed,
    [METRIC_NAMES.deadLettered]: counts.deadLettered,
    [METRIC_NAMES.gapTimeouts]: counts.gapTimeouts,
    [METRIC_NAMES.contractBreaches]: counts.contractBreaches,
    [METRIC_NAMES.healMismatches]: counts.healMismatches,
    [METRIC_NAMES.beforeBaseline]: counts.beforeBaseline,
    [METRIC_NAMES.parkLimit]: counts.parkLimit,
    [METRIC_NAMES.gapsSkipped]: counts.gapsSkipped,
    [METRIC_NAMES.versionsSkipped]: counts.versionsSkipped,
    [METRIC_NAMES.beforeWindow]: counts.beforeWindow,
    [METRIC_NAMES.baselined]: counts.baselined,
    [METRIC_NAMES.claimsLost]: counts.claimsLost,
    [METRIC_NAMES.homesFenced]: counts.homesFenced,
    [METRIC_NAMES.quarantined]: batch.quarantined,
    [METRIC_NAMES.retries]: batch.retries,
    [METRIC_NAMES.ledgerConflicts]: counts.ledgerConflicts,
    [METRIC_NAMES.failed]: batch.failures.length,
    [METRIC_NAMES.batchErrors]: 0,
    [METRIC_NAMES.batchLatency]: batch.durationMs,
    [METRIC_NAMES.changeAge]: batch.oldestChangeAgeMs,
    [METRIC_NAMES.waitingAccounts]: batch.waiting?.accounts,
    [METRIC_NAMES.oldestParkedAge]: batch.waiting?.oldestAgeSeconds,
    [METRIC_NAMES.parkedTooLong]: batch.waiting?.tooLong,
  } as Record<MetricName, number | undefined>;
}
