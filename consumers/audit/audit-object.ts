import { boundedKeyPart } from '../../shared/accounts/account-key';
import type { Delivery } from '../../shared/ordering/ports';

/** Marks the object format, so readers of a years-long log can tell versions of it apart. */
export const AUDIT_OBJECT_FORMAT = 'ordered-fanout.audit/1';

/** Digits of a zero-padded version: every safe integer fits, and keys list in version order. */
const VERSION_DIGITS = 16;

/** S3's longest object key, in bytes of UTF-8. */
export const MAX_OBJECT_KEY_BYTES = 1024;

/**
 * The object key of one account version, derived from the record alone so a retry or a duplicate lands on the same
 * key: `<prefix>account_id=<id>/version=<16 digits>.json`, the id URL-encoded. The Hive-style `account_id=` partition
 * lets Athena prune by account, and listing the partition returns the account's history in version order. An id too
 * long for S3's 1,024-byte key (the Accounts table allows 2,048 bytes) keeps its start and a digest of the whole
 * encoded id (`boundedKeyPart`); the object itself holds the whole id.
 */
export function auditObjectKey(accountId: string, version: number, prefix = 'changes/'): string {
  const head = `${prefix}account_id=`;
  const tail = `/version=${String(version).padStart(VERSION_DIGITS, '0')}.json`;
  const room = MAX_OBJECT_KEY_BYTES - Buffer.byteLength(head, 'utf8') - tail.length;
  return `${head}${boundedKeyPart(encodeURIComponent(accountId), room)}${tail}`;
}

/**
 * The object's `account-id` metadata: the id URL-encoded as in the key (an HTTP header carries no character above
 * U+00FF, and S3 would read Latin-1 where it got UTF-8), bounded as the key's part is, well within S3's 2 KB of
 * user-defined metadata.
 */
export function auditAccountMetadata(accountId: string): string {
  return boundedKeyPart(encodeURIComponent(accountId), MAX_OBJECT_KEY_BYTES);
}

/** The immutable record of one account version, as stored in the audit bucket. */
export interface AuditObject {
  readonly format: typeof AUDIT_OBJECT_FORMAT;
  readonly accountId: string;
  readonly version: number;
  readonly previousVersion: number;
  readonly kind: 'INSERT' | 'MODIFY' | 'REMOVE';
  /** DynamoDB's event id of the change (the same on every duplicate of it). */
  readonly eventId: string;
  /** When DynamoDB made the change: ISO 8601 with microseconds, and the raw microseconds. */
  readonly occurredAt: string;
  readonly createdAtMicros: number;
  /** Balance before and after, and the difference (minor units); null where an image is absent. */
  readonly balanceBefore: number | null;
  readonly balanceAfter: number | null;
  readonly balanceDelta: number;
  /** Rebuilt from its neighbours' images because its own stream record never arrived. */
  readonly healed: boolean;
  readonly replay: boolean;
  readonly epoch: string;
  readonly removedByTtl: boolean;
  readonly oldImage: Record<string, unknown> | null;
  readonly newImage: Record<string, unknown> | null;
}

export function toAuditObject({ record, healed, replay, epoch }: Delivery): AuditObject {
  const before = record.oldImage?.balance ?? null;
  const after = record.newImage?.balance ?? null;
  return {
    format: AUDIT_OBJECT_FORMAT,
    accountId: record.accountId,
    version: record.version,
    previousVersion: record.previousVersion,
    kind: record.kind,
    eventId: record.eventId,
    occurredAt: microsToIso(record.createdAtMicros),
    createdAtMicros: record.createdAtMicros,
    balanceBefore: before,
    balanceAfter: after,
    balanceDelta: (after ?? 0) - (before ?? 0),
    healed,
    replay,
    epoch,
    removedByTtl: record.removedByTtl ?? false,
    oldImage: record.oldImage ?? null,
    newImage: record.newImage ?? null,
  };
}

/** `2026-11-23T10:15:30.123456Z`: `Date` keeps milliseconds only, so the last three digits are added by hand. */
export function microsToIso(micros: number): string {
  const millis = Math.floor(micros / 1000);
  const extra = String(Math.floor(micros - millis * 1000)).padStart(3, '0');
  return new Date(millis).toISOString().replace('Z', `${extra}Z`);
}
