import type { _Record, AttributeValue as StreamAttributeValue } from '@aws-sdk/client-dynamodb-streams';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { KinesisDynamoDBPayload } from '../../shared/change-record/kinesis-input';
import type { ChangeKind } from '../../shared/change-record/change-record';

type JsonAttributeMap = Record<string, AttributeValue>;

export interface ToKdsOptions {
  /** DynamoDB Streams records do not name their table; Kinesis Data Streams for DynamoDB records do. */
  readonly tableName: string;
}

/**
 * Turns one DynamoDB Streams record into the JSON that Kinesis Data Streams for DynamoDB puts into a Kinesis record.
 *
 * The two formats carry the same change but differ in ways consumers notice: the Kinesis form names the table, has
 * `recordFormat`, gives the creation time in microseconds with its precision, and has no DynamoDB sequence number
 * (so nothing downstream may order by it). Throws when the record lacks what every DynamoDB stream record has: that
 * is a broken emulator or SDK, and inventing a value would hide it.
 */
export function streamRecordToKds(record: _Record, options: ToKdsOptions): KinesisDynamoDBPayload {
  const stream = record.dynamodb;
  const eventName = record.eventName;
  if (!record.eventID || !stream || !stream.Keys) {
    throw new TypeError(`DynamoDB stream record ${record.eventID ?? '(no eventID)'} has no eventID, dynamodb or Keys`);
  }
  if (eventName !== 'INSERT' && eventName !== 'MODIFY' && eventName !== 'REMOVE') {
    throw new TypeError(`DynamoDB stream record ${record.eventID} has eventName ${String(eventName)}`);
  }
  const created = stream.ApproximateCreationDateTime;
  if (!(created instanceof Date) || Number.isNaN(created.getTime())) {
    throw new TypeError(`DynamoDB stream record ${record.eventID} has no ApproximateCreationDateTime`);
  }
  const identity = record.userIdentity;
  return {
    awsRegion: record.awsRegion ?? '',
    eventID: record.eventID,
    eventName: eventName satisfies ChangeKind,
    // Only TTL deletions carry an identity; Kinesis spells its fields in lower camel case and writes null otherwise.
    userIdentity:
      identity?.Type !== undefined && identity.PrincipalId !== undefined
        ? { type: identity.Type, principalId: identity.PrincipalId }
        : null,
    recordFormat: 'application/json',
    tableName: options.tableName,
    dynamodb: {
      // The SDK gives a Date; the Kinesis form counts microseconds.
      ApproximateCreationDateTime: creationMicros(created, stream.NewImage),
      Keys: toJsonMap(stream.Keys),
      ...(stream.NewImage ? { NewImage: toJsonMap(stream.NewImage) } : {}),
      ...(stream.OldImage ? { OldImage: toJsonMap(stream.OldImage) } : {}),
      SizeBytes: stream.SizeBytes ?? 0,
      ApproximateCreationDateTimePrecision: 'MICROSECOND',
    },
    eventSource: 'aws:dynamodb',
  };
}

/**
 * DynamoDB Local rounds `ApproximateCreationDateTime` down to the minute (measured: three writes 1.3 s apart all read
 * 03:03:00.000), where Kinesis Data Streams for DynamoDB gives microseconds. When the stream time is a whole minute and
 * the item's `updated_at` (set by the writer library at the write) falls inside that minute, the bridge uses it, so
 * local creation times, latencies and `occurredAt` fields are as precise as on AWS to the millisecond.
 */
function creationMicros(created: Date, newImage: Record<string, StreamAttributeValue> | undefined): number {
  const streamMs = created.getTime();
  const written = Date.parse(newImage?.updated_at?.S ?? '');
  if (streamMs % 60_000 === 0 && Number.isFinite(written) && written >= streamMs && written < streamMs + 60_000) return written * 1000;
  return streamMs * 1000;
}

function toJsonMap(map: Record<string, StreamAttributeValue>): JsonAttributeMap {
  return Object.fromEntries(Object.entries(map).map(([name, value]) => [name, toJsonValue(value)]));
}

/**
 * The SDK decodes binary attributes to bytes; in the Kinesis JSON they are base64 strings, as on the wire. Everything
 * else already has its wire shape.
 */
function toJsonValue(value: StreamAttributeValue): AttributeValue {
  if (value.B !== undefined) return { B: base64(value.B) } as unknown as AttributeValue;
  if (value.BS !== undefined) return { BS: value.BS.map(base64) } as unknown as AttributeValue;
  if (value.M !== undefined) return { M: toJsonMap(value.M) };
  if (value.L !== undefined) return { L: value.L.map(toJsonValue) };
  return value as AttributeValue;
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}
