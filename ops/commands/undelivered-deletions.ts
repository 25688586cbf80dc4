import { BatchGetItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { batchGetAll, batchGetBackoffMs } from '../../shared/dynamodb/batch-get';
import { setTimeout as sleep } from 'node:timers/promises';
import { ACCOUNTS_KEY } from '../../shared/accounts/account';
import { LEDGER_PARTITION_KEY, LEDGER_SORT_KEY, WATERMARK_SORT_KEY, ledgerPartitionKey } from '../../shared/ledger/ledger-table';
import { parallelScan } from '../parallel-scan';
import type { PipelineTarget } from '../target';

/*
 * Deletions a destination has not received. A deleted account is gone from the Accounts table, so a walk of the table
 * never meets it; only the ledger still knows it: its watermark in the destination's epoch, whose last change is not
 * the REMOVE. The ledger has no index by destination and epoch (a Query needs a whole partition key), so this is a
 * Scan of the ledger table, filtered by DynamoDB to the watermark items of the asked destinations' epochs whose
 * `last_kind` is not REMOVE, each page's accounts then looked up in the Accounts table.
 *
 * Memory: a page at a time per segment (at most `pageItems` items and DynamoDB's 1 MB), never the epoch's watermarks
 * at once; what is found goes to `onFound` at once. Cost: the Scan reads the whole ledger table, every destination,
 * epoch and parked record, billed by what it reads before the filter (eventually consistent: half a unit per 4 KB);
 * the lookups are a consistent key read per candidate watermark (one per account and destination, fewer when one
 * page holds an account twice), 100 keys a BatchGetItem.
 */

/** Items one page of the ledger Scan reads at most. */
export const DELETION_SCAN_PAGE_ITEMS = 1000;
const MAX_UNPROCESSED_ROUNDS = 8;

/** A watermark of a destination's current epoch whose account is not in the table and whose last change is not a REMOVE. */
export interface UndeliveredDeletion {
  readonly destination: string;
  readonly accountId: string;
  /** The watermark's version: the destination has nothing of the account past it (`every-version`: in order). */
  readonly watermark: number;
  /**
   * What the change at the watermark did; null when the watermark does not say (an `every-version` watermark moved over
   * versions delivered in an earlier batch, an operator's skip): then the REMOVE may have been delivered ahead of a gap.
   */
  readonly lastKind: string | null;
}

export interface DeletionScanOptions {
  /** @default 4 */
  readonly segments?: number;
  /** @default DELETION_SCAN_PAGE_ITEMS */
  readonly pageItems?: number;
  onFound(deletions: readonly UndeliveredDeletion[]): void;
  /** Called when a segment is done, and once at the start with 0. */
  onProgress?(segmentsDone: number, segments: number): void;
}

/** One Scan of the ledger for every destination asked (its name and the epoch the target runs it under). */
export async function scanUndeliveredDeletions(
  target: PipelineTarget,
  scopes: readonly { readonly destination: string; readonly epoch: string }[],
  options: DeletionScanOptions,
): Promise<void> {
  if (scopes.length === 0) return;
  const prefixes = scopes.map(({ destination, epoch }) => ({ destination, prefix: ledgerPartitionKey(destination, epoch, '') }));
  const values: Record<string, AttributeValue> = { ':watermark': { S: WATERMARK_SORT_KEY }, ':remove': { S: 'REMOVE' } };
  prefixes.forEach(({ prefix }, i) => (values[`:p${i}`] = { S: prefix }));
  const anyPrefix = prefixes.map((_, i) => `begins_with(#pk, :p${i})`).join(' OR ');
  const input = {
    TableName: target.ledgerTable,
    Limit: options.pageItems ?? DELETION_SCAN_PAGE_ITEMS,
    FilterExpression: `(${anyPrefix}) AND #sk = :watermark AND (attribute_not_exists(#kind) OR #kind <> :remove)`,
    ProjectionExpression: '#pk, #account, #watermark, #kind',
    ExpressionAttributeNames: { '#pk': LEDGER_PARTITION_KEY, '#sk': LEDGER_SORT_KEY, '#account': 'account_id', '#watermark': 'watermark', '#kind': 'last_kind' },
    ExpressionAttributeValues: values,
  };
  await parallelScan(target.dynamodb, input, {
    segments: options.segments ?? 4,
    onPage: async (output) => {
      const candidates: UndeliveredDeletion[] = [];
      for (const item of output.Items ?? []) {
        const key = item[LEDGER_PARTITION_KEY]?.S ?? '';
        // Destination names hold no `#`, so at most one prefix matches.
        const destination = prefixes.find(({ prefix }) => key.startsWith(prefix))?.destination;
        const accountId = item.account_id?.S;
        const watermark = Number(item.watermark?.N);
        if (destination === undefined || accountId === undefined || !Number.isFinite(watermark)) continue;
        candidates.push({ destination, accountId, watermark, lastKind: item.last_kind?.S ?? null });
      }
      if (candidates.length === 0) return;
      const present = await accountsPresent(target, [...new Set(candidates.map((c) => c.accountId))]);
      const gone = candidates.filter((c) => !present.has(c.accountId));
      if (gone.length > 0) options.onFound(gone);
    },
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
}

/** Which of `accountIds` the Accounts table holds: consistent key reads, so an account created just now is not taken for deleted. */
async function accountsPresent(target: PipelineTarget, accountIds: readonly string[]): Promise<Set<string>> {
  const present = new Set<string>();
  await batchGetAll(
    accountIds.map((id) => ({ [ACCOUNTS_KEY]: { S: id } })),
    async (keys) => {
      const output = await target.dynamodb.send(
        new BatchGetItemCommand({
          RequestItems: { [target.accountsTable]: { Keys: [...keys], ConsistentRead: true, ProjectionExpression: '#id', ExpressionAttributeNames: { '#id': ACCOUNTS_KEY } } },
        }),
      );
      return { items: output.Responses?.[target.accountsTable] ?? [], unprocessed: output.UnprocessedKeys?.[target.accountsTable]?.Keys ?? [] };
    },
    (item) => {
      const id = item[ACCOUNTS_KEY]?.S;
      if (id !== undefined) present.add(id);
    },
    {
      maxRetries: MAX_UNPROCESSED_ROUNDS,
      backoff: (round) => sleep(batchGetBackoffMs(round)),
      giveUp: (left) => new Error(`${left} Accounts reads stayed unprocessed`),
    },
  );
  return present;
}
