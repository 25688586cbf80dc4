import { marshall } from '@aws-sdk/util-dynamodb';
import type { AccountImage } from '../../shared/accounts/account';
import { encodeKinesisPayload, type KinesisRecordInput } from '../../shared/change-record/kinesis-input';

// Any attribute name a table may hold, `constructor` included (a plain marshall takes such an image for a class).
const MARSHALL_OPTIONS = { removeUndefinedValues: true, convertClassInstanceToMap: true } as const;

/**
 * One Kinesis Data Streams for DynamoDB record built by hand in the documented JSON shape (as in
 * `../shared/fixtures/kds-dynamodb-records.jsonl`), for changes a workload does not make, such as a REMOVE.
 */
export function kdsRecord(
  change: { kind: 'INSERT' | 'MODIFY' | 'REMOVE'; oldImage?: AccountImage; newImage?: AccountImage; tableName: string },
  position: { sequenceNumber: string; shardId?: string; createdAtMicros?: number },
): KinesisRecordInput {
  const image = change.newImage ?? change.oldImage;
  const payload = {
    awsRegion: 'us-east-1',
    eventID: crypto.randomUUID(),
    eventName: change.kind,
    userIdentity: null,
    recordFormat: 'application/json',
    tableName: change.tableName,
    dynamodb: {
      ApproximateCreationDateTime: position.createdAtMicros ?? Date.now() * 1000,
      Keys: { account_id: { S: image?.account_id } },
      ...(change.newImage ? { NewImage: marshall(change.newImage, MARSHALL_OPTIONS) } : {}),
      ...(change.oldImage ? { OldImage: marshall(change.oldImage, MARSHALL_OPTIONS) } : {}),
      SizeBytes: 100,
      ApproximateCreationDateTimePrecision: 'MICROSECOND',
    },
    eventSource: 'aws:dynamodb',
  };
  return {
    data: encodeKinesisPayload(payload),
    sequenceNumber: position.sequenceNumber,
    shardId: position.shardId ?? 'shardId-000000000009',
  };
}
