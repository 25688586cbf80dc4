import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { ACCOUNTS_KEY } from '../../shared/accounts/account';
import { DynamoDBLedger } from '../../shared/ledger/dynamodb-ledger';
import type { PipelineTarget } from '../target';

/** Accounts read to tell whether an epoch has been used: a used epoch holds the watermarks of the accounts it delivered. */
export const EPOCH_SAMPLE_ACCOUNTS = 100;

/**
 * The replay epoch's name when `--epoch` is not given: the replay's start and the time it was planned, so a second
 * replay from the same start gets a fresh epoch rather than one whose watermarks already say "delivered".
 * `replay-20261101T000000Z-20261205T072347Z`.
 */
export function defaultEpoch(fromMs: number, nowMs: number): string {
  const compact = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '');
  return `replay-${compact(fromMs)}-${compact(nowMs)}`;
}

/**
 * How many of the first accounts of the table already have a watermark of `destination` under `epoch`: more than none
 * means the epoch was used before (a replay under it would skip everything it delivered then). Only the ledger knows
 * which epochs were used, and it is keyed by account, so a sample of accounts is read (one Scan page of the accounts
 * table, one BatchGetItem of the ledger); an epoch that delivered none of them goes unnoticed.
 */
export async function usedByAccounts(target: PipelineTarget, destination: string, epoch: string): Promise<{ sampled: number; used: number }> {
  const page = await target.dynamodb.send(
    new ScanCommand({ TableName: target.accountsTable, Limit: EPOCH_SAMPLE_ACCOUNTS, ProjectionExpression: '#id', ExpressionAttributeNames: { '#id': ACCOUNTS_KEY } }),
  );
  const accounts = (page.Items ?? []).flatMap((item) => (item[ACCOUNTS_KEY]?.S ? [item[ACCOUNTS_KEY].S] : []));
  if (accounts.length === 0) return { sampled: 0, used: 0 };
  const ledger = new DynamoDBLedger({ client: target.dynamodb, tableName: target.ledgerTable, destination, epoch });
  const found = await ledger.load(accounts);
  return { sampled: accounts.length, used: found.size };
}
