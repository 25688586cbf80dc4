/**
 * The errors `AccountsWriter` throws. Each is a refusal that left the account untouched: no error is thrown after a
 * write has been applied, so a caller never has to wonder whether a failed call moved money.
 */

/** Base of every refusal; `version` is the account's version as last read, when the writer read it. */
export class AccountWriteError extends Error {
  constructor(
    message: string,
    readonly accountId: string,
    readonly version?: number,
  ) {
    super(message);
    this.name = 'AccountWriteError';
  }
}

export class AccountNotFoundError extends AccountWriteError {
  constructor(accountId: string) {
    super(`account ${accountId} does not exist`, accountId);
    this.name = 'AccountNotFoundError';
  }
}

export class AccountAlreadyExistsError extends AccountWriteError {
  constructor(accountId: string) {
    super(`account ${accountId} already exists (ids are never reused, not even after a close)`, accountId);
    this.name = 'AccountAlreadyExistsError';
  }
}

export class AccountClosedError extends AccountWriteError {
  constructor(accountId: string, version: number) {
    super(`account ${accountId} is closed (v${version})`, accountId, version);
    this.name = 'AccountClosedError';
  }
}

export class InsufficientFundsError extends AccountWriteError {
  constructor(
    accountId: string,
    readonly balance: number,
    readonly amount: number,
    version: number,
  ) {
    super(`account ${accountId} (v${version}) holds ${balance}, cannot debit ${amount}`, accountId, version);
    this.name = 'InsufficientFundsError';
  }
}

/** Raised for a non-positive, fractional or unsafe amount, and for a credit that would leave the safe-integer range. */
export class InvalidAmountError extends AccountWriteError {
  constructor(
    accountId: string,
    readonly amount: unknown,
    reason: string,
    version?: number,
  ) {
    super(`invalid amount ${String(amount)} for account ${accountId}: ${reason}`, accountId, version);
    this.name = 'InvalidAmountError';
  }
}

export class AccountNotEmptyError extends AccountWriteError {
  constructor(
    accountId: string,
    readonly balance: number,
    version: number,
  ) {
    super(`account ${accountId} (v${version}) holds ${balance}: only an empty one can be closed`, accountId, version);
    this.name = 'AccountNotEmptyError';
  }
}

export type InvalidTransferReason = 'SAME_ACCOUNT' | 'CURRENCY_MISMATCH';

export class InvalidTransferError extends AccountWriteError {
  constructor(
    accountId: string,
    readonly counterparty: string,
    readonly reason: InvalidTransferReason,
    detail: string,
  ) {
    super(`invalid transfer from ${accountId} to ${counterparty}: ${detail}`, accountId);
    this.name = 'InvalidTransferError';
  }
}

/**
 * The account changed under the writer. Either the caller's `expectedVersion` was stale (thrown at once, `version`
 * is the version found), or every one of `attempts` conditional writes lost a race (`expectedVersion` is the version
 * the last attempt was conditioned on). Nothing was written.
 */
export class ConcurrentModificationError extends AccountWriteError {
  constructor(
    accountId: string,
    readonly attempts: number,
    readonly expectedVersion: number | undefined,
    version?: number,
  ) {
    const found = version === undefined ? '' : `, found v${version}`;
    const expected = `expected v${expectedVersion ?? '?'}${found}`;
    super(`account ${accountId} was modified concurrently (${expected}, ${attempts} attempt(s))`, accountId, version);
    this.name = 'ConcurrentModificationError';
  }
}
