import type { Delivery } from '../../shared/ordering/ports';

/** Marks the object format, so readers of a years-long log can tell versions of it apart. */
export const AUDIT_OBJECT_FORMAT = 'ordered-fanout.audit/1';

/** Digits of a zero-padded version: every safe integer fits, and keys list in version order. */
const VERSION_DIGITS = 16;

/**
 * The object key of one account version, derived from the record alone so a retry or a duplicate lands on the same
 * key: `<prefix>account_id=<id>/version=<16 digits>.json`. The Hive-style `account_id=` partition lets Athena
 * prune by account, and listing the partition returns the account's history in version order.
 */
export function auditObjectKey(accountId: string, version: number, prefix = 'changes/'): string {
  return `${prefix}account_id=${encodeURIComponent(accountId)}/version=${String(version).padStart(VERSION_DIGITS, '0')}.json`;
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
