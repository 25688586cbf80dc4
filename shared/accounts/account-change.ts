import type { AccountImage, AccountStatus, LastChange } from './account';
import { InsufficientFundsError, InvalidAmountError } from './writer-errors';

/*
 * The money rules of a write: what a deposit, withdrawal or either side of a transfer does to an account, decided in
 * code from the image read. Pure, and apart from `AccountsWriter`, whose concern is the read-write-retry cycle that
 * applies them under the version contract.
 */

export const OPEN: AccountStatus = 'OPEN';
export const CLOSED: AccountStatus = 'CLOSED';

/** What one write does to one account, decided in code from the image it read. */
export interface Change {
  /** Signed change of the balance in minor units. */
  readonly delta: number;
  readonly lastChange: LastChange;
  readonly close?: boolean;
}

export function assertAmount(accountId: string, amount: number): void {
  if (!Number.isSafeInteger(amount) || amount <= 0) {
    throw new InvalidAmountError(accountId, amount, 'an amount must be a positive safe integer of minor units');
  }
}

export function debit(current: AccountImage, amount: number, lastChange: LastChange): Change {
  const { account_id: accountId, balance, version } = current;
  if (balance < amount) throw new InsufficientFundsError(accountId, balance, amount, version);
  return { delta: -amount, lastChange };
}

export function credit(current: AccountImage, amount: number, lastChange: LastChange): Change {
  if (current.balance > Number.MAX_SAFE_INTEGER - amount) {
    const reason = `it would raise the balance ${current.balance} past Number.MAX_SAFE_INTEGER`;
    throw new InvalidAmountError(current.account_id, amount, reason, current.version);
  }
  return { delta: amount, lastChange };
}

export function withReference(change: LastChange, reference: string | undefined): LastChange {
  return reference === undefined ? change : { ...change, reference };
}
