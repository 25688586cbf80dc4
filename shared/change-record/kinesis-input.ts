import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { ChangeKind } from './change-record';

/*
 * What arrives: the Kinesis record as Lambda hands it over, and the Kinesis Data Streams for DynamoDB payload inside
 * it. `decode.ts` turns one into a `ChangeRecord` or a `BadRecord`; the local bridge and the tests write them.
 */

type AttributeMap = Record<string, AttributeValue>;

/** The JSON inside a Kinesis Data Streams for DynamoDB record, as documented. */
export interface KinesisDynamoDBPayload {
  readonly awsRegion: string;
  readonly eventID: string;
  readonly eventName: ChangeKind;
  /** `{ type: 'Service', principalId: 'dynamodb.amazonaws.com' }` for TTL deletions, otherwise null. */
  readonly userIdentity?: { readonly type: string; readonly principalId: string } | null;
  readonly recordFormat: 'application/json';
  readonly tableName: string;
  readonly dynamodb: {
    readonly ApproximateCreationDateTime: number;
    /** Absent in records captured from real streams, which carry milliseconds. */
    readonly ApproximateCreationDateTimePrecision?: 'MILLISECOND' | 'MICROSECOND';
    readonly Keys: AttributeMap;
    readonly NewImage?: AttributeMap;
    readonly OldImage?: AttributeMap;
    readonly SizeBytes: number;
  };
  readonly eventSource: 'aws:dynamodb';
}

export interface KinesisRecordInput {
  /** Base64 of the JSON payload. */
  readonly data: string;
  readonly sequenceNumber: string;
  readonly shardId: string;
  readonly partitionKey?: string;
  /** Seconds since the epoch (with a fraction), as Lambda gives it. */
  readonly approximateArrivalTimestamp?: number;
}

/** The parts of a Lambda Kinesis event record we use. */
export interface LambdaKinesisRecord {
  readonly eventID: string;
  readonly eventSourceARN?: string;
  readonly kinesis: {
    readonly data: string;
    readonly sequenceNumber: string;
    readonly partitionKey?: string;
    readonly approximateArrivalTimestamp?: number;
  };
}

/**
 * Lambda puts the shard only in `eventID` (`shardId-…:sequenceNumber`). Throws if it is not there: that would be a
 * broken platform contract, not a bad record, and guessing a shard would silently corrupt ordering.
 */
export function fromLambdaKinesisRecord(record: LambdaKinesisRecord): KinesisRecordInput {
  const colon = record.eventID.indexOf(':');
  if (colon <= 0) throw new TypeError(`Lambda Kinesis eventID "${record.eventID}" does not start with a shard id`);
  const { data, sequenceNumber, partitionKey, approximateArrivalTimestamp } = record.kinesis;
  return {
    data,
    sequenceNumber,
    shardId: record.eventID.slice(0, colon),
    ...(partitionKey === undefined ? {} : { partitionKey }),
    ...(approximateArrivalTimestamp === undefined ? {} : { approximateArrivalTimestamp }),
  };
}

export function encodeKinesisPayload(payload: object): string {
  return Buffer.from(JSON.stringify(payload), 'utf8').toString('base64');
}
