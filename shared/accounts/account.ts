/**
 * The version contract of the Accounts table.
 *
 * Every item carries `version`, a positive integer. An account is created at version 1 and every later write
 * (deposit, withdrawal, either side of a transfer, close) raises it by exactly 1 in the same conditional write
 * that changes the item. Nothing else in the pipeline needs a DynamoDB sequence number: `version` alone lets a
 * consumer tell a duplicate (version already seen), a gap (version skipped) and the order of two changes.
 *
 * Amounts are integers in the currency's minor unit (cents), so no floating point ever touches a balance.
 */

export const ACCOUNTS_KEY = 'account_id';

export type AccountStatus = 'OPEN' | 'CLOSED';

export type LastChangeType = 'OPENED' | 'DEPOSIT' | 'WITHDRAWAL' | 'TRANSFER_IN' | 'TRANSFER_OUT' | 'CLOSED';

/** What the write that produced this version did; lets consumers describe a change without diffing images. */
export interface LastChange {
  readonly type: LastChangeType;
  /** Minor units moved by this change; 0 for OPENED (the opening balance is in `balance`) and CLOSED. */
  readonly amount: number;
  /** The transfer id for both sides of a transfer, or the caller's reference. */
  readonly reference?: string;
  /** The other account of a transfer. */
  readonly counterparty?: string;
}

/** One Accounts item as stored, after unmarshalling. Unknown attributes are kept, never dropped. */
export interface AccountImage {
  readonly account_id: string;
  readonly balance: number;
  readonly version: number;
  readonly currency?: string;
  readonly status?: AccountStatus | string;
  readonly opened_at?: string;
  readonly updated_at?: string;
  readonly last_change?: LastChange;
  readonly [attribute: string]: unknown;
}

/** True for a positive safe integer: the only values a `version` may take. */
export function isValidVersion(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1;
}
