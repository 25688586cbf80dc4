import type { AccountImage } from '../accounts/account';

export type ChangeKind = 'INSERT' | 'MODIFY' | 'REMOVE';

/**
 * One change of one account, decoded from a Kinesis Data Streams for DynamoDB record.
 *
 * `version` is the version this change produced. For a REMOVE, which has no new image, it is the old image's
 * version + 1: a deletion is a tombstone that takes its place in the account's history like any other write.
 */
export interface ChangeRecord {
  readonly accountId: string;
  readonly version: number;
  /** The version this change started from: 0 for the change that created the account. */
  readonly previousVersion: number;
  readonly kind: ChangeKind;
  /** Absent on REMOVE. */
  readonly newImage?: AccountImage;
  /** Absent on INSERT. */
  readonly oldImage?: AccountImage;
  /** `ApproximateCreationDateTime` normalised to microseconds since the epoch, whatever its precision. */
  readonly createdAtMicros: number;
  /** DynamoDB's event id (`eventID` of the payload), unique per item change but repeated on duplicates. */
  readonly eventId: string;
  /** The Kinesis sequence number: identifies this copy of the change, not the change. */
  readonly sequenceNumber: string;
  readonly shardId: string;
  /** When Kinesis accepted the record, in milliseconds, if known. */
  readonly arrivedAtMs?: number;
  /** A REMOVE done by DynamoDB's TTL process rather than by a caller. */
  readonly removedByTtl?: boolean;
  /**
   * The UTF-8 bytes of the Kinesis data this change was decoded from, which hold both images' DynamoDB JSON: a bound
   * on the stored size of either image (DynamoDB never counts an attribute map as more than its DynamoDB JSON). Set
   * by the decoder; absent on a heal, whose images come from other records.
   */
  readonly payloadBytes?: number;
}

/** Where a record sits in the stream, for errors and dead letters. */
export interface RecordPosition {
  readonly accountId?: string;
  readonly version?: number;
  readonly sequenceNumber: string;
  readonly shardId: string;
}

export function describeRecord(position: RecordPosition): string {
  const account = position.accountId ?? '?';
  const version = position.version ?? '?';
  return `account ${account} v${version} (${position.shardId}/${position.sequenceNumber})`;
}
