import type { Context, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import type { KinesisRecordInput } from '../shared/change-record/kinesis-input';

export interface LambdaEventOptions {
  readonly region: string;
  readonly streamArn: string;
  /** The role Lambda assumes; only echoed in the event. */
  readonly invokeIdentityArn?: string;
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

/** A Lambda context for running a handler outside Lambda, with `timeoutMs` to spend from now. */
export function localLambdaContext(functionName: string, timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: crypto.randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
