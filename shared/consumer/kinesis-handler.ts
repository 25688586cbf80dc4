import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import type { RecordPosition } from '../change-record/change-record';
import { fromLambdaKinesisRecord } from '../change-record/kinesis-input';
import type { Telemetry } from '../observability/telemetry';
import { batchSummary, reportTelemetryFailure } from '../observability/telemetry-failure';
import { describeError } from '../retry/classify-error';
import type { ChangeConsumer } from './change-consumer';
import type { ConsumedBatch } from './consumed-batch';
import {
  isOperatorCommandEvent,
  parseOperatorCommand,
  type OperatorCommandEvent,
  type OperatorCommandResult,
} from './operator-command';

export interface ConsumerRuntime {
  readonly consumer: ChangeConsumer;
  readonly telemetry: Telemetry;
}

/**
 * The consumer function: its event source mapping invokes it with Kinesis events; an operator (`fanout redrive`)
 * may invoke it directly with an operator command.
 */
export type KinesisHandler = {
  (event: KinesisStreamEvent, context: Context): Promise<KinesisStreamBatchResponse>;
  (event: OperatorCommandEvent, context: Context): Promise<OperatorCommandResult>;
  (event: KinesisStreamEvent | OperatorCommandEvent, context: Context): Promise<KinesisStreamBatchResponse | OperatorCommandResult>;
};

/** What a handler's work came to: the invocation's answer, and the batch to report (telemetry). */
export interface InvocationWork<Result> {
  readonly result: Result;
  readonly batch: ConsumedBatch;
}

/**
 * The skeleton every handler of a consumer shares: `build` runs once per execution environment, at the first
 * invocation (if it fails, with a bad configuration say, the invocation fails with its error and the next one tries
 * again); each invocation gets the Lambda context's deadline; what `work` throws is reported as a batch error and
 * rethrown, so the invocation fails visibly.
 *
 * Telemetry never decides an invocation: a logger or metrics flush that throws (`invocation`, `batch`, `batchError`)
 * is reported on stderr (`reportTelemetryFailure`) and the invocation answers what the batch came to, or throws the
 * batch's own error. Thrown instead, a batch whose records were delivered and dead-lettered would be sent again by
 * Lambda (its letters stored twice), and a batch error would be replaced by the telemetry's.
 */
export function consumerInvocation<Event, Result>(
  build: () => ConsumerRuntime | Promise<ConsumerRuntime>,
  work: (runtime: ConsumerRuntime, event: Event, deadline: number) => Promise<InvocationWork<Result>>,
  recordsOf: (event: Event) => number,
): (event: Event, context: Context) => Promise<Result> {
  let runtime: Promise<ConsumerRuntime> | undefined;
  return async (event, context) => {
    const building = (runtime ??= Promise.resolve().then(build));
    let ready: ConsumerRuntime;
    try {
      ready = await building;
    } catch (error) {
      // Only the failed build is forgotten: one a later invocation started meanwhile stays.
      if (runtime === building) runtime = undefined;
      throw error;
    }
    const { consumer, telemetry } = ready;
    guarded('invocation', consumer.destination, () => telemetry.invocation(context));
    const started = Date.now();
    let done: InvocationWork<Result>;
    try {
      done = await work(ready, event, started + remainingMs(context));
    } catch (error) {
      const letters = consumer.lettersOfAbandonedBatch();
      const records = recordsOf(event);
      guarded('batchError', consumer.destination, () => telemetry.batchError(error, records, Date.now() - started, letters), {
        batchError: describeError(error),
        records,
        deadLetters: letters,
      });
      throw error;
    }
    guarded('batch', consumer.destination, () => telemetry.batch(done.batch), batchSummary(done.batch));
    return done.result;
  };
}

/**
 * The context's time left, never negative; one that is not a number leaves the batch no time (its records are
 * reported failed, for Lambda to retry), rather than no deadline at all.
 */
function remainingMs(context: Context): number {
  if (typeof context?.getRemainingTimeInMillis !== 'function') {
    throw new TypeError('the handler needs the Lambda context (getRemainingTimeInMillis) to bound the batch by its deadline');
  }
  const left = context.getRemainingTimeInMillis();
  return Number.isFinite(left) ? Math.max(0, left) : 0;
}

function guarded(stage: string, destination: string, report: () => void, summary?: Record<string, unknown>): void {
  try {
    report();
  } catch (error) {
    reportTelemetryFailure(stage, destination, error, summary);
  }
}

/**
 * The Lambda response for a batch: each failed record's sequence number once (Lambda retries from the lowest). A
 * failure that names no record of the batch (no sequence number, or one of another batch) cannot be left out, or its
 * record would be checkpointed past, nor sent as it is: an empty or unknown `itemIdentifier` is Lambda's to interpret
 * (an empty one fails the whole batch). It is reported as the batch's first record, so Lambda retries the whole batch,
 * and logged.
 */
export function batchItemFailures(
  failures: readonly RecordPosition[],
  records: readonly { readonly sequenceNumber: string }[],
  destination = '',
): { itemIdentifier: string }[] {
  const inBatch = new Set(records.map((record) => record.sequenceNumber));
  const identifiers = new Set<string>();
  const unplaced: RecordPosition[] = [];
  for (const failure of failures) {
    if (failure.sequenceNumber !== '' && inBatch.has(failure.sequenceNumber)) identifiers.add(failure.sequenceNumber);
    else unplaced.push(failure);
  }
  const first = records[0]?.sequenceNumber;
  if (unplaced.length > 0 && first !== undefined) {
    identifiers.add(first);
    reportTelemetryFailure('batchItemFailures', destination, new Error(
      `${unplaced.length} failure(s) name no record of the batch: the whole batch is reported failed from its first record (${first}), so Lambda retries it`,
    ), { unplaced: unplaced.slice(0, 100) });
  }
  return [...identifiers].map((itemIdentifier) => ({ itemIdentifier }));
}

/**
 * A Lambda handler for an EFO event source mapping with `ReportBatchItemFailures`: decode, order, deliver, and report
 * only the records that could be neither delivered, parked nor dead-lettered. Anything unexpected is thrown, so Lambda
 * bisects the batch (`bisectBatchOnFunctionError`) instead of us dead-lettering records for a bug.
 */
export function createKinesisHandler(build: () => ConsumerRuntime | Promise<ConsumerRuntime>): KinesisHandler {
  return consumerInvocation<KinesisStreamEvent | OperatorCommandEvent, KinesisStreamBatchResponse | OperatorCommandResult>(
    build,
    async ({ consumer }, event, deadline) => {
      if (isOperatorCommandEvent(event)) {
        const { result, batch } = await consumer.command(parseOperatorCommand(event), { deadline });
        return { result, batch };
      }
      const records = kinesisRecordsOf(event);
      const inputs = records.map(fromLambdaKinesisRecord);
      const batch = await consumer.consume(inputs, { deadline });
      return { result: { batchItemFailures: batchItemFailures(batch.failures, inputs, consumer.destination) }, batch };
    },
    (event) => (isOperatorCommandEvent(event) ? 0 : recordCount(event)),
  ) as KinesisHandler;
}

/** The event's records; an event that is neither a Kinesis event nor an operator command is refused, naming it. */
function kinesisRecordsOf(event: unknown): readonly KinesisStreamRecord[] {
  if (typeof event !== 'object' || event === null) {
    throw new TypeError(`expected a Kinesis event ({ Records: [...] }) or an operator command ({ orderedFanout: ... }), got ${event === null ? 'null' : typeof event}`);
  }
  const records = (event as { Records?: unknown }).Records;
  if (records === undefined) return [];
  if (!Array.isArray(records)) throw new TypeError(`a Kinesis event's Records must be a list, got ${typeof records}`);
  return records as KinesisStreamRecord[];
}

function recordCount(event: unknown): number {
  const records = typeof event === 'object' && event !== null ? (event as { Records?: unknown }).Records : undefined;
  return Array.isArray(records) ? records.length : 0;
}
