import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  type AttributeValue,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChangeRecord } from '../change-record/change-record';
import { LedgerUnavailableError } from '../ordering/errors';
import type { Ledger, LedgerWrite, LedgerWriteResult } from '../ordering/ports';
import type { Watermark } from '../ordering/watermark';
import { itemToParked, itemToWatermark, parkedToItem, watermarkToItem } from './ledger-codec';
import {
  GAPS_INDEX,
  GAPS_INDEX_PARTITION_KEY,
  LEDGER_PARTITION_KEY,
  LEDGER_SORT_KEY,
  PARKED_SORT_KEY_PREFIX,
  WATERMARK_SORT_KEY,
  assertLedgerName,
  gapScope,
  ledgerPartitionKey,
  parkedSortKey,
} from './ledger-table';

export interface DynamoDBLedgerOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly destination: string;
  readonly epoch: string;
  /** Rounds of retrying unprocessed keys or items before giving up. @default 8 */
  readonly maxUnprocessedRetries?: number;
  /** @default Date.now */
  readonly clock?: () => number;
}

const BATCH_GET_LIMIT = 100;
const BATCH_WRITE_LIMIT = 25;

/**
 * The ledger in DynamoDB (key design in `ledger-table.ts`).
 *
 * Reads are consistent and batched (BatchGetItem, 100 keys a call). A watermark write is one PutItem conditional
 * on the revision read. Records to park are written first (BatchWriteItem, idempotent): the watermark that lists
 * them is written only after they exist, so a listed parked record is always in the table. An item written without
 * its watermark (a crash in between) belongs to a record that was not acknowledged, and is rewritten on the retry.
 */
export class DynamoDBLedger implements Ledger {
  readonly destination: string;
  readonly epoch: string;
  private readonly client: DynamoDBClient;
  private readonly tableName: string;
  private readonly maxUnprocessedRetries: number;
  private readonly clock: () => number;

  constructor(options: DynamoDBLedgerOptions) {
    assertLedgerName('destination', options.destination);
    assertLedgerName('epoch', options.epoch);
    this.destination = options.destination;
    this.epoch = options.epoch;
    this.client = options.client;
    this.tableName = options.tableName;
    this.maxUnprocessedRetries = options.maxUnprocessedRetries ?? 8;
    this.clock = options.clock ?? Date.now;
  }

  async load(accountIds: readonly string[]): Promise<Map<string, Watermark>> {
    const found = new Map<string, Watermark>();
    const unique = [...new Set(accountIds)];
    for (let start = 0; start < unique.length; start += BATCH_GET_LIMIT) {
      let keys: Record<string, AttributeValue>[] = unique
        .slice(start, start + BATCH_GET_LIMIT)
        .map((accountId) => this.watermarkKey(accountId));
      for (let round = 0; keys.length > 0; round += 1) {
        if (round > this.maxUnprocessedRetries) {
          throw new LedgerUnavailableError(`${keys.length} watermark reads stayed unprocessed`);
        }
        if (round > 0) await backoff(round);
        const output = await this.call('BatchGetItem', () =>
          this.client.send(
            new BatchGetItemCommand({ RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } } }),
          ),
        );
        for (const item of output.Responses?.[this.tableName] ?? []) {
          const watermark = itemToWatermark(item);
          found.set(watermark.accountId, watermark);
        }
        keys = output.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      }
    }
    return found;
  }

  async parked(accountId: string): Promise<ChangeRecord[]> {
    const records: ChangeRecord[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const output = await this.call(
        'Query',
        () =>
          this.client.send(
            new QueryCommand({
              TableName: this.tableName,
              KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :parked)',
              ExpressionAttributeNames: { '#pk': LEDGER_PARTITION_KEY, '#sk': LEDGER_SORT_KEY },
              ExpressionAttributeValues: {
                ':pk': { S: this.partitionKey(accountId) },
                ':parked': { S: PARKED_SORT_KEY_PREFIX },
              },
              ConsistentRead: true,
              ExclusiveStartKey: startKey,
            }),
          ),
        accountId,
      );
      for (const item of output.Items ?? []) records.push(itemToParked(item));
      startKey = output.LastEvaluatedKey;
    } while (startKey);
    return records;
  }

  async write(write: LedgerWrite): Promise<LedgerWriteResult> {
    const accountId = write.next.accountId;
    if (write.park.length > 0) {
      const parkedAt = this.clock();
      await this.batchWrite(
        write.park.map((record) => ({ PutRequest: { Item: parkedToItem(this.destination, this.epoch, record, parkedAt) } })),
        accountId,
      );
    }
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: watermarkToItem(this.destination, this.epoch, write.next),
          ...(write.expectedRevision === 0
            ? { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': LEDGER_PARTITION_KEY } }
            : {
                ConditionExpression: '#revision = :expected',
                ExpressionAttributeNames: { '#revision': 'revision' },
                ExpressionAttributeValues: { ':expected': { N: String(write.expectedRevision) } },
              }),
        }),
      );
      return 'committed';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException || (error as Error).name === 'ConditionalCheckFailedException') {
        return 'conflict';
      }
      throw unavailable('PutItem', error, accountId);
    }
  }

  async unpark(accountId: string, versions: readonly number[]): Promise<void> {
    await this.batchWrite(
      versions.map((version) => ({
        DeleteRequest: {
          Key: {
            [LEDGER_PARTITION_KEY]: { S: this.partitionKey(accountId) },
            [LEDGER_SORT_KEY]: { S: parkedSortKey(version) },
          },
        },
      })),
      accountId,
    );
  }

  async *waiting(): AsyncIterable<string> {
    const prefix = this.partitionKey('');
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const output = await this.call('Query', () =>
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: GAPS_INDEX,
            KeyConditionExpression: '#scope = :scope',
            ExpressionAttributeNames: { '#scope': GAPS_INDEX_PARTITION_KEY },
            ExpressionAttributeValues: { ':scope': { S: gapScope(this.destination, this.epoch) } },
            ScanIndexForward: true,
            ExclusiveStartKey: startKey,
          }),
        ),
      );
      for (const item of output.Items ?? []) {
        const key = item[LEDGER_PARTITION_KEY]?.S;
        if (key?.startsWith(prefix)) yield key.slice(prefix.length);
      }
      startKey = output.LastEvaluatedKey;
    } while (startKey);
  }

  private async batchWrite(requests: WriteRequest[], accountId: string): Promise<void> {
    for (let start = 0; start < requests.length; start += BATCH_WRITE_LIMIT) {
      let pending = requests.slice(start, start + BATCH_WRITE_LIMIT);
      for (let round = 0; pending.length > 0; round += 1) {
        if (round > this.maxUnprocessedRetries) {
          throw new LedgerUnavailableError(`${pending.length} parked-record writes stayed unprocessed`, { accountId });
        }
        if (round > 0) await backoff(round);
        const output = await this.call(
          'BatchWriteItem',
          () => this.client.send(new BatchWriteItemCommand({ RequestItems: { [this.tableName]: pending } })),
          accountId,
        );
        pending = output.UnprocessedItems?.[this.tableName] ?? [];
      }
    }
  }

  private async call<T>(operation: string, send: () => Promise<T>, accountId?: string): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw unavailable(operation, error, accountId);
    }
  }

  private partitionKey(accountId: string): string {
    return ledgerPartitionKey(this.destination, this.epoch, accountId);
  }

  private watermarkKey(accountId: string): Record<string, AttributeValue> {
    return {
      [LEDGER_PARTITION_KEY]: { S: this.partitionKey(accountId) },
      [LEDGER_SORT_KEY]: { S: WATERMARK_SORT_KEY },
    };
  }
}

function unavailable(operation: string, error: unknown, accountId?: string): LedgerUnavailableError {
  const name = (error as Error)?.name ?? 'Error';
  const message = (error as Error)?.message ?? String(error);
  return new LedgerUnavailableError(`ledger ${operation} failed: ${name}: ${message}`, accountId ? { accountId } : {}, {
    cause: error,
  });
}

/** Full-jitter exponential backoff for unprocessed batch entries: up to 50 ms × 2^round, capped at 2 s. */
function backoff(round: number): Promise<void> {
  return sleep(Math.random() * Math.min(2_000, 50 * 2 ** round));
}
