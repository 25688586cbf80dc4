import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { fromLambdaKinesisRecord } from '../change-record/kinesis-input';
import type { Telemetry } from '../observability/telemetry';
import type { ChangeConsumer } from './change-consumer';
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

/**
 * The skeleton every handler of a consumer shares: `build` runs once per execution environment, at the first
 * invocation (if it fails, with a bad configuration say, the invocation fails with its error and the next one tries
 * again); each invocation gets the Lambda context's deadline; what `work` throws is reported as a batch error and
 * rethrown, so the invocation fails visibly.
 */
export function consumerInvocation<Event, Result>(
  build: () => ConsumerRuntime | Promise<ConsumerRuntime>,
  work: (runtime: ConsumerRuntime, event: Event, deadline: number) => Promise<Result>,
  recordsOf: (event: Event) => number,
): (event: Event, context: Context) => Promise<Result> {
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
    ready.telemetry.invocation(context);
    const started = Date.now();
    try {
      return await work(ready, event, started + context.getRemainingTimeInMillis());
    } catch (error) {
      ready.telemetry.batchError(error, recordsOf(event), Date.now() - started, ready.consumer.lettersOfAbandonedBatch());
      throw error;
    }
  };
}

/**
 * A Lambda handler for an EFO event source mapping with `ReportBatchItemFailures`: decode, order, deliver, and report
 * only the records that could be neither delivered, parked nor dead-lettered. Anything unexpected is thrown, so Lambda
 * bisects the batch (`bisectBatchOnFunctionError`) instead of us dead-lettering records for a bug.
 */
export function createKinesisHandler(build: () => ConsumerRuntime | Promise<ConsumerRuntime>): KinesisHandler {
  return consumerInvocation<KinesisStreamEvent | OperatorCommandEvent, KinesisStreamBatchResponse | OperatorCommandResult>(
    build,
    async ({ consumer, telemetry }, event, deadline) => {
      if (isOperatorCommandEvent(event)) {
        const { result, batch } = await consumer.command(parseOperatorCommand(event), { deadline });
        telemetry.batch(batch);
        return result;
      }
      const batch = await consumer.consume((event.Records ?? []).map(fromLambdaKinesisRecord), { deadline });
      telemetry.batch(batch);
      return { batchItemFailures: batch.failures.map((failure) => ({ itemIdentifier: failure.sequenceNumber })) };
    },
    (event) => (isOperatorCommandEvent(event) ? 0 : (event.Records?.length ?? 0)),
  ) as KinesisHandler;
}
