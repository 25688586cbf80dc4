import { boundedKeyPart } from '../accounts/account-key';
import { LIVE_EPOCH } from '../ordering/delivery-mode';

/**
 * The ledger table's key design, shared by the DynamoDB adapter, the CDK stack and the local emulators.
 *
 * One table serves every destination. Each item's partition key is `<destination>#<epoch>#<account id>`, so the
 * watermark of one destination never contends with another's, and a replay under a new epoch starts from nothing.
 * Under that partition key sit the watermark item (sort key `WATERMARK`) and one item per parked record (sort key
 * `PARKED#<zero-padded version>`), so a single Query drains an account's parked records in version order.
 *
 * A sparse index (`gaps`) holds only watermark items of accounts that are waiting for a missing version, keyed by
 * `<destination>#<epoch>` and the time the wait began: the sweep reads it oldest first. No item has a TTL attribute:
 * parked records never expire silently.
 *
 * One more item per destination and epoch, under the partition key `<destination>#<epoch>` (no account part, so no
 * account's key can be it) and the sort key `SWEEP_POSITION`: where the last sweep that ran out of time stopped.
 */
export const LEDGER_PARTITION_KEY = 'pk';
export const LEDGER_SORT_KEY = 'sk';
export const WATERMARK_SORT_KEY = 'WATERMARK';
export const PARKED_SORT_KEY_PREFIX = 'PARKED#';
export const SWEEP_POSITION_SORT_KEY = 'SWEEP_POSITION';
export const GAPS_INDEX = 'gaps';
export const GAPS_INDEX_PARTITION_KEY = 'gap_scope';
export const GAPS_INDEX_SORT_KEY = 'gap_since';

/** Destination names and epochs become part of keys; keep them to a safe alphabet without `#`. */
export const LEDGER_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/**
 * What is wrong with `epoch` as a ledger epoch's name, or undefined: a name that cannot be part of a key, or a case
 * variant of `live` (any name but `live` itself is a replay epoch with a fresh ledger, which "Live" is unlikely to mean).
 */
export function epochNameProblem(epoch: string): string | undefined {
  if (!LEDGER_NAME_PATTERN.test(epoch)) return "must be 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit";
  if (epoch !== LIVE_EPOCH.id && epoch.toLowerCase() === LIVE_EPOCH.id) return `is written "${LIVE_EPOCH.id}" (any other name is a replay epoch with a fresh ledger)`;
  return undefined;
}

export function assertLedgerName(kind: 'destination' | 'epoch', value: string): void {
  if (!LEDGER_NAME_PATTERN.test(value)) {
    throw new RangeError(`${kind} "${value}" must be 1-63 characters of letters, digits, '.', '_' or '-'`);
  }
}

/** DynamoDB's longest partition key value, in bytes of UTF-8. */
export const MAX_PARTITION_KEY_BYTES = 2048;

/**
 * `<destination>#<epoch>#<account id>`. An account id may take the Accounts table's whole 2,048 bytes, and the prefix
 * adds up to 128: an id that would take the key past DynamoDB's 2,048 bytes keeps its start and a digest of the whole
 * id (`boundedKeyPart`), so its writes are not refused on every attempt. Items hold the whole id in `account_id`.
 */
export function ledgerPartitionKey(destination: string, epoch: string, accountId: string): string {
  const prefix = `${destination}#${epoch}#`;
  return prefix + boundedKeyPart(accountId, MAX_PARTITION_KEY_BYTES - prefix.length);
}

export function gapScope(destination: string, epoch: string): string {
  return `${destination}#${epoch}`;
}

/** Versions are positive safe integers (at most 16 digits), so 16 zero-padded digits sort numerically. */
export function parkedSortKey(version: number): string {
  return `${PARKED_SORT_KEY_PREFIX}${version.toString().padStart(16, '0')}`;
}
