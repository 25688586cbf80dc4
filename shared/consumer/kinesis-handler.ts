import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { fromLambdaKinesisRecord } from '../change-record/decode';
import type { Telemetry } from '../observability/telemetry';
import type { ChangeConsumer } from './change-consumer';

export interface ConsumerRuntime {
  readonly consumer: ChangeConsumer;
  readonly telemetry: Telemetry;
}

export type KinesisHandler = (event: KinesisStreamEvent, context: Context) => Promise<KinesisStreamBatchResponse>;

/**
 * A Lambda handler for an EFO event source mapping with `ReportBatchItemFailures`: decode, order, deliver, and report
 * only the records that could be neither delivered, parked nor dead-lettered. Anything unexpected is thrown, so Lambda
 * bisects the batch (`bisectBatchOnFunctionError`) instead of us dead-lettering records for a bug.
 *
 * `build` runs once per execution environment, at the first invocation; if it fails (bad configuration) the
 * invocation fails with its error and the next one tries again.
 */
export function createKinesisHandler(build: () => ConsumerRuntime | Promise<ConsumerRuntime>): KinesisHandler {
  let runtime: Promise<ConsumerRuntime> | undefined;
  return async (event, context) => {
    runtime ??= Promise.resolve().then(build);
    let ready: ConsumerRuntime;
    try {
      ready = await runtime;
    } catch (error) {
      runtime = undefined;
      throw error;
    }
    const { consumer, telemetry } = ready;
    telemetry.invocation(context);
    const started = Date.now();
    const deadline = started + context.getRemainingTimeInMillis();
    const records = event.Records ?? [];
    try {
      const batch = await consumer.consume(records.map(fromLambdaKinesisRecord), { deadline });
      telemetry.batch(batch);
      return { batchItemFailures: batch.failures.map((failure) => ({ itemIdentifier: failure.sequenceNumber })) };
    } catch (error) {
      telemetry.batchError(error, records.length, Date.now() - started);
      throw error;
    }
  };
}
