import type { AccountImage } from '../shared/accounts/account';

/**
 * Version `version` of an account's item after `previous`, as the writer library writes it: a deterministic deposit or
 * withdrawal, the change's time and what it did, so a heal can be proven from the images.
 */
export function nextAccountImage(accountId: string, version: number, previous: AccountImage | undefined, createdAtMicros: number): AccountImage {
  const delta = previous === undefined ? 0 : ((version * 37) % 11) - 5;
  return {
    account_id: accountId,
    balance: previous === undefined ? 1000 : previous.balance + delta,
    currency: 'AUD',
    status: 'OPEN',
    version,
    updated_at: new Date(Math.floor(createdAtMicros / 1000)).toISOString(),
    last_change:
      previous === undefined
        ? { type: 'OPENED', amount: 0 }
        : delta >= 0
          ? { type: 'DEPOSIT', amount: delta }
          : { type: 'WITHDRAWAL', amount: -delta },
  };
}
