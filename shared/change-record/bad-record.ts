import type { RecordPosition } from './change-record';

/**
 * Every reason a Kinesis record can fail to become a `ChangeRecord`. Kept as data so dead-letter tooling, metrics
 * and tests can enumerate them; the union type is derived from it so the two cannot drift apart.
 */
export const BAD_RECORD_REASONS = [
  'NOT_BASE64',
  'NOT_JSON',
  'NOT_DYNAMODB_EVENT',
  'WRONG_TABLE',
  'UNKNOWN_EVENT_NAME',
  'MISSING_ACCOUNT_ID',
  'NOT_AN_ACCOUNT',
  'MISSING_NEW_IMAGE',
  'MISSING_OLD_IMAGE',
  'REMOVE_WITHOUT_OLD_IMAGE',
  'VERSION_MISSING',
  'VERSION_NOT_INTEGER',
  'VERSION_NOT_POSITIVE',
  'VERSION_NOT_INCREASING',
  'VERSION_JUMP',
  'BAD_CREATION_TIME',
  'UNDECODABLE',
] as const;

export type BadRecordReason = (typeof BAD_RECORD_REASONS)[number];

export function isBadRecordReason(value: unknown): value is BadRecordReason {
  return typeof value === 'string' && (BAD_RECORD_REASONS as readonly string[]).includes(value);
}

/**
 * A record that could not be decoded, with everything needed to quarantine it and later redrive it unchanged.
 * `accountId` and `version` are set whenever they could be read, so a quarantined record can still be placed in
 * its account's history; `version` is only ever a valid version (the raw invalid value is in `detail`).
 */
export interface BadRecord extends RecordPosition {
  readonly reason: BadRecordReason;
  /** A human sentence saying what was wrong. */
  readonly detail: string;
  /** The original base64 Kinesis data, byte for byte. */
  readonly data: string;
}
