import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { describeVersions } from '../ordering/version-ranges';
import type { ConsumedBatch } from '../consumer/consumed-batch';
import type { DeadLetter } from '../ordering/ports';
import { describeError } from '../retry/classify-error';
import { batchMetrics, METRIC_NAMES, METRICS_NAMESPACE, SERVICE_NAME, type MetricName, type Telemetry } from './telemetry';

export interface PowertoolsTelemetryOptions {
  readonly destination: string;
  /** @default a Logger with service POWERTOOLS_SERVICE_NAME (the pipeline's name), else `ordered-fanout` */
  readonly logger?: Logger;
  /** @default Metrics in namespace `OrderedFanout` (POWERTOOLS_METRICS_NAMESPACE overrides) */
  readonly metrics?: Metrics;
}

const MILLISECOND_METRICS = new Set<MetricName>([METRIC_NAMES.batchLatency, METRIC_NAMES.changeAge]);

/**
 * Structured JSON logs (Powertools Logger) and CloudWatch EMF metrics (Powertools Metrics), dimensions `service` (the
 * pipeline's name, from POWERTOOLS_SERVICE_NAME) and `destination`.
 * Every record that is not simply delivered is logged with its account, version and stream position.
 */
export class PowertoolsTelemetry implements Telemetry {
  readonly logger: Logger;
  readonly metrics: Metrics;

  constructor(options: PowertoolsTelemetryOptions) {
    // Constructor options win over Powertools' environment variables, so the variables are read here.
    const serviceName = process.env.POWERTOOLS_SERVICE_NAME || SERVICE_NAME;
    const namespace = process.env.POWERTOOLS_METRICS_NAMESPACE || METRICS_NAMESPACE;
    this.logger = options.logger ?? new Logger({ serviceName, persistentKeys: { destination: options.destination } });
    this.metrics =
      options.metrics ?? new Metrics({ namespace, serviceName, defaultDimensions: { destination: options.destination } });
  }

  invocation(context?: unknown): void {
    if (isLambdaContext(context)) this.logger.addContext(context);
  }

  batch(batch: ConsumedBatch): void {
    for (const bad of batch.badRecords) {
      // Where it is first, the detail last: a line CloudWatch cuts (256 KB) loses the end. A record whose letter the
      // queue did not take is also among the failures below, as retried.
      this.logger.warn('an undecodable record, quarantined unless logged below as retried', {
        reason: bad.reason,
        accountId: bad.accountId,
        version: bad.version,
        sequenceNumber: bad.sequenceNumber,
        shardId: bad.shardId,
        detail: boundedDetail(bad.detail),
      });
    }
    this.logLetters(batch.deadLetters);
    for (const failure of batch.failures) {
      // A swept account has no stream position: what failed is the sweep's work on it, not a record of the stream.
      if (failure.sequenceNumber === '' && failure.accountId === undefined) {
        this.logger.error('the sweep could not read all the accounts waiting for a missing version (the gaps index out of reach): those not read stay parked for the next sweep', {
          detail: batch.waitingUnread,
        });
        continue;
      }
      if (failure.sequenceNumber === '') {
        this.logger.error('the sweep could not finish this account (ledger, queue or destination out of reach, or out of time): its records stay parked for the next sweep', {
          accountId: failure.accountId,
          waitsForVersion: failure.version,
        });
        continue;
      }
      this.logger.error('record neither delivered, parked nor dead-lettered (ledger or queue out of reach, or no time left in the invocation to send it): it will be retried', {
        accountId: failure.accountId,
        version: failure.version,
        sequenceNumber: failure.sequenceNumber,
        shardId: failure.shardId,
      });
    }
    for (const entry of batch.dispositions) {
      if (entry.disposition !== 'parked') continue;
      this.logger.info('parked until the missing version arrives', {
        accountId: entry.accountId,
        version: entry.version,
        sequenceNumber: entry.sequenceNumber,
      });
    }
    this.logger.info('batch done', {
      records: batch.records,
      ...batch.counts,
      quarantined: batch.quarantined,
      retries: batch.retries,
      failed: batch.failures.length,
      durationMs: batch.durationMs,
    });
    for (const [name, value] of Object.entries(batchMetrics(batch)) as [MetricName, number | undefined][]) {
      if (value === undefined) continue;
      if (!Number.isFinite(value)) {
        // EMF would carry it as null, and CloudWatch drop the whole blob: every metric of the batch.
        this.logger.warn('metric left out: not a finite number', { metric: name, value: String(value) });
        continue;
      }
      const unit = MILLISECOND_METRICS.has(name)
        ? MetricUnit.Milliseconds
        : name === METRIC_NAMES.oldestParkedAge
          ? MetricUnit.Seconds
          : MetricUnit.Count;
      this.metrics.addMetric(name, unit, value);
    }
    this.metrics.publishStoredMetrics();
  }

  /** Every letter stored, with its account, version and sequence number (bad records are logged as quarantined). */
  private logLetters(letters: readonly DeadLetter[]): void {
    for (const letter of letters) {
      if (letter.reason === 'BAD_RECORD') continue;
      this.logger.warn('sent to the dead-letter queue', {
        reason: letter.reason,
        detail: boundedDetail(letter.detail),
        attempts: letter.attempts,
        accountId: letter.accountId,
        version: letter.version,
        sequenceNumber: letter.sequenceNumber,
        ...(letter.missing ? { missing: describeVersions(letter.missing), waiting: letter.waiting } : {}),
      });
    }
  }

  batchError(error: unknown, records: number, durationMs: number, deadLetters: readonly DeadLetter[] = []): void {
    this.logger.error('batch failed: Lambda will retry or bisect it', { error: describeError(error), records, durationMs });
    // Stored before the batch threw: in the queue whatever Lambda does with the batch next.
    this.logLetters(deadLetters);
    const quarantined = deadLetters.filter((letter) => letter.reason === 'BAD_RECORD').length;
    if (deadLetters.length > quarantined) this.metrics.addMetric(METRIC_NAMES.deadLettered, MetricUnit.Count, deadLetters.length - quarantined);
    if (quarantined > 0) this.metrics.addMetric(METRIC_NAMES.quarantined, MetricUnit.Count, quarantined);
    this.metrics.addMetric(METRIC_NAMES.batchErrors, MetricUnit.Count, 1);
    this.metrics.addMetric(METRIC_NAMES.batchLatency, MetricUnit.Milliseconds, durationMs);
    this.metrics.publishStoredMetrics();
  }
}

/** Longest detail a log line carries: the line stays far below CloudWatch Logs' 256 KB per event whatever a detail holds. */
export const MAX_LOGGED_DETAIL_CHARS = 8_000;

function boundedDetail(detail: string | undefined): string | undefined {
  if (detail === undefined || detail.length <= MAX_LOGGED_DETAIL_CHARS) return detail;
  return `${detail.slice(0, MAX_LOGGED_DETAIL_CHARS)}… (${detail.length} characters; the whole detail is in the letter)`;
}

function isLambdaContext(context: unknown): context is Parameters<Logger['addContext']>[0] {
  return typeof context === 'object' && context !== null && 'awsRequestId' in context && 'functionName' in context;
}
