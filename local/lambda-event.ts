import type { Context, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import type { KinesisRecordInput } from '../shared/change-record/kinesis-input';

export interface LambdaEventOptions {
  readonly region: string;
  readonly streamArn: string;
  /** The role Lambda assumes; only echoed in the event. */
  readonly invokeIdentityArn?: string;
}

/** Lambda's limit on a synchronous invocation's payload (and an event source mapping's batch): 6 MB. */
export const LAMBDA_PAYLOAD_LIMIT_BYTES = 6 * 1024 * 1024;

/**
 * A record's JSON besides its data, partition key and event id: the constant fields, the role and the stream's ARNs
 * (at most about 200 characters each) and the region.
 */
const RECORD_ENVELOPE_BYTES = 700;

/**
 * At least what one record adds to a Kinesis event's JSON (`toLambdaKinesisEvent`): its data, its partition key and
 * event id JSON-escaped, and the rest of its fields. Counting the data alone, 10,000 small changes made an 8 MB event.
 */
export function kinesisEventRecordBytes(input: KinesisRecordInput): number {
  const escaped = (text: string) => Buffer.byteLength(JSON.stringify(text), 'utf8');
  return input.data.length + escaped(input.partitionKey ?? '') + escaped(`${input.shardId}:${input.sequenceNumber}`) + RECORD_ENVELOPE_BYTES;
}

/**
 * The event Lambda hands a function from a Kinesis event source mapping (an EFO consumer's mapping looks the same):
 * `eventID` is `shardId:sequenceNumber`, `data` the base64 record, arrival time in fractional seconds.
 */
export function toLambdaKinesisEvent(batch: readonly KinesisRecordInput[], options: LambdaEventOptions): KinesisStreamEvent {
  const Records: KinesisStreamRecord[] = batch.map((record) => ({
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: record.partitionKey ?? '',
      sequenceNumber: record.sequenceNumber,
      data: record.data,
      approximateArrivalTimestamp: record.approximateArrivalTimestamp ?? Date.now() / 1000,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `${record.shardId}:${record.sequenceNumber}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: options.invokeIdentityArn ?? 'arn:aws:iam::000000000000:role/ordered-fanout-local',
    awsRegion: options.region,
    eventSourceARN: options.streamArn,
  }));
  return { Records };
}

/**
 * A Lambda context for running a handler outside Lambda, with `timeoutMs` to spend from now. `awsRequestId`: the
 * invocation's id when the caller already gave it one (one invocation has one id on Lambda); otherwise a fresh one.
 */
export function localLambdaContext(functionName: string, timeoutMs: number, memoryMb = 1024, awsRequestId?: string): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: String(memoryMb),
    awsRequestId: awsRequestId ?? crypto.randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
