import { produceChangeFeed, type ChangeFeed } from '../../local/change-feed';
import type { ConsumerWorld } from './consumer-world';

/**
 * A captured change feed in the world's Accounts table: a real workload through the writer library, the table's
 * stream turned into Kinesis-for-DynamoDB JSON, then duplicated and reordered as AWS documents.
 */
export function chaoticFeed(world: ConsumerWorld, overrides: Partial<Parameters<typeof produceChangeFeed>[0]> = {}): Promise<ChangeFeed> {
  return produceChangeFeed({
    dynamodb: world.dynamodb,
    streams: world.streams,
    accountsTable: world.accountsTable,
    accounts: 8,
    changes: 120,
    seed: 7,
    duplicateRate: 0.2,
    reorderRate: 0.3,
    reorderWindow: 6,
    shards: 2,
    batchSize: 25,
    concurrency: 4,
    ...overrides,
  });
}

/** Every (account, version) the table's stream carried. */
export function versionsOf(feed: ChangeFeed): { accountId: string; version: number; balance: number | undefined }[] {
  const all: { accountId: string; version: number; balance: number | undefined }[] = [];
  for (const [accountId, versions] of feed.truth.history) {
    for (const [version, balance] of versions) all.push({ accountId, version, balance });
  }
  return all;
}
