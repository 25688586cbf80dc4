import type { BadRecord } from '../change-record/bad-record';
import type { RecordPosition } from '../change-record/change-record';
import type { EngineCounts, RecordDisposition } from '../ordering/outcome';
import type { DeadLetter } from '../ordering/ports';
import type { WaitingReport } from './waiting-report';

/*
 * What one batch came to, as `ChangeConsumer` reports it. Its own file because the handlers and the telemetry read it
 * without needing the consumer that produces it.
 */

/** What one batch came to: what the handler returns to Lambda, and what the metrics and logs say. */
export interface ConsumedBatch {
  readonly destination: string;
  readonly records: number;
  readonly counts: EngineCounts;
  /** Undecodable records stored in the dead-letter queue. */
  readonly quarantined: number;
  /** Items the destination adapter sent again (throttling, 5xx, time-outs). */
  readonly retries: number;
  /** Records to report as `batchItemFailures`: neither delivered, parked nor dead-lettered. */
  readonly failures: readonly RecordPosition[];
  readonly dispositions: readonly RecordDisposition[];
  readonly badRecords: readonly BadRecord[];
  /** Every letter the dead-letter queue stored during the batch. */
  readonly deadLetters: readonly DeadLetter[];
  readonly durationMs: number;
  /** Milliseconds between the oldest change of the batch being written to the table and the end of the batch. */
  readonly oldestChangeAgeMs: number | undefined;
  /** What waits in the ledger for a missing version, when this batch looked (see `parkedReportEveryMs`). */
  readonly waiting?: WaitingReport;
  /** A sweep that could not read all the accounts waiting for a missing version: why (counted among `failures`). */
  readonly waitingUnread?: string;
}
