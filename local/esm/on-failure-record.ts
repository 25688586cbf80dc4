import { randomUUID } from 'node:crypto';
import type { Context, KinesisStreamEvent } from 'aws-lambda';
import type { KinesisRecordInput } from '../../shared/change-record/kinesis-input';
import type { KinesisBatchInfo, OnFailureCondition, OnFailureRecord } from './types';

export interface FailedBatch {
  readonly records: readonly KinesisRecordInput[];
  readonly shardId: string;
  readonly streamArn: string;
  readonly condition: OnFailureCondition;
  /** Invocations of exactly these records (the first and its retries); 0 when they expired before any. */
  readonly invokeCount: number;
  /**
   * The last invocation's context (request id, function ARN) and event (the S3 destination's payload); for records
   * never invoked, a fresh context and the event they would have been invoked with.
   */
  readonly context: Context;
  readonly event: KinesisStreamEvent;
  /** Whether the last invocation threw (`functionError: 'Unhandled'`) rather than answering with failures. */
  readonly functionError: boolean;
  /**
   * Whether the records went through an invocation at all, perhaps in a larger batch before a bisection: only then is
   * there a response to report. @default invokeCount > 0
   */
  readonly invoked?: boolean;
  readonly now?: Date;
}

/** The invocation record Lambda sends to an on-failure destination after giving up on a Kinesis batch. */
export function buildOnFailureRecord(failed: FailedBatch): OnFailureRecord {
  const now = failed.now ?? new Date();
  return {
    requestContext: {
      requestId: failed.context.awsRequestId,
      functionArn: failed.context.invokedFunctionArn,
      condition: failed.condition,
      approximateInvokeCount: failed.invokeCount,
    },
    // No invocation, no response: records that expired before their first invocation carry none.
    ...((failed.invoked ?? failed.invokeCount > 0)
      ? {
          responseContext: {
            statusCode: 200,
            executedVersion: failed.context.functionVersion,
            ...(failed.functionError ? { functionError: 'Unhandled' } : {}),
          },
        }
      : {}),
    version: '1.0',
    timestamp: now.toISOString(),
    KinesisBatchInfo: batchInfo(failed, now),
    payload: JSON.stringify(failed.event),
  };
}

function batchInfo(failed: FailedBatch, now: Date): KinesisBatchInfo {
  const first = failed.records[0];
  const last = failed.records[failed.records.length - 1];
  if (first === undefined || last === undefined) throw new Error('an on-failure record needs at least one record');
  return {
    shardId: failed.shardId,
    startSequenceNumber: first.sequenceNumber,
    endSequenceNumber: last.sequenceNumber,
    approximateArrivalOfFirstRecord: arrival(first, now),
    approximateArrivalOfLastRecord: arrival(last, now),
    batchSize: failed.records.length,
    streamArn: failed.streamArn,
  };
}

function arrival(record: KinesisRecordInput, now: Date): string {
  const seconds = record.approximateArrivalTimestamp;
  return (seconds === undefined ? now : new Date(Math.round(seconds * 1000))).toISOString();
}

/**
 * The key Lambda gives a stream mapping's on-failure record in an S3 destination:
 * `aws/lambda/<mapping UUID>/<shard id>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<random UUID>` (UTC), one object per record.
 */
export function onFailureObjectKey(mappingUuid: string, shardId: string, at: Date = new Date(), objectUuid: string = randomUUID()): string {
  const iso = at.toISOString();
  const day = `${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)}`;
  return `aws/lambda/${mappingUuid}/${shardId}/${day}/${iso.slice(0, 10)}T${iso.slice(11, 19).replaceAll(':', '.')}-${objectUuid}`;
}
