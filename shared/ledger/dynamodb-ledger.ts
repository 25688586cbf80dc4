import {
  BatchGetItemCommand,
  GetItemCommand,
  type DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  TransactWriteItemsCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { setTimeout as sleep } from 'node:timers/promises';
import { SHORTENED_KEY_PART } from '../accounts/account-key';
import type { RequestDeadline } from '../async/request-deadline';
import type { ChangeRecord } from '../change-record/change-record';
import { batchGetAll, batchGetBackoffMs } from '../dynamodb/batch-get';
import { lostRaceAt } from '../dynamodb/lost-race';
import { LedgerUnavailableError } from '../ordering/errors';
import type { Ledger, LedgerWrite, LedgerWriteResult, WaitingAccount } from '../ordering/ports';
import type { Watermark } from '../ordering/watermark';
import { itemToParked, itemToWatermark, parkedToItem, watermarkToItem } from './ledger-codec';
import { assertWithinLimit } from './write-limit';
import {
  GAPS_INDEX,
  GAPS_INDEX_PARTITION_KEY,
  LEDGER_PARTITION_KEY,
  LEDGER_SORT_KEY,
  WATERMARK_SORT_KEY,
  assertLedgerName,
  gapScope,
  ledgerPartitionKey,
  parkedSortKey,
  GAPS_INDEX_SORT_KEY,
  SWEEP_POSITION_SORT_KEY,
} from './ledger-table';

export interface DynamoDBLedgerOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly destination: string;
  readonly epoch: string;
  /** Rounds of retrying unprocessed keys before giving up. @default 8 */
  readonly maxUnprocessedRetries?: number;
  /** @default Date.now */
  readonly clock?: () => number;
  /** When requests must have ended (the invocation's deadline less a reserve); a request running then is aborted. */
  readonly requestDeadline?: RequestDeadline;
}

/**
 * The ledger in DynamoDB (key design in `ledger-table.ts`).
 *
 * Reads are consistent and batched (BatchGetItem, 100 keys a call, unprocessed keys retried). A watermark write is
 * one PutItem conditional on the revision read. A write that also parks or unparks records is one TransactWriteItems,
 * so a parked record is in the table exactly while its watermark lists it. Only accounts behind a gap pay for it.
 */
export class DynamoDBLedger implements Ledger {
  readonly destination: string;
  readonly epoch: string;
  private readonly client: DynamoDBClient;
  private readonly tableName: string;
  private readonly maxUnprocessedRetries: number;
  private readonly clock: () => number;
  private readonly requestDeadline: RequestDeadline | undefined;

  constructor(options: DynamoDBLedgerOptions) {
    assertLedgerName('destination', options.destination);
    assertLedgerName('epoch', options.epoch);
    this.destination = options.destination;
    this.epoch = options.epoch;
    this.client = options.client;
    this.tableName = options.tableName;
    this.maxUnprocessedRetries = options.maxUnprocessedRetries ?? 8;
    this.clock = options.clock ?? Date.now;
    this.requestDeadline = options.requestDeadline;
  }

  async load(accountIds: readonly string[]): Promise<Map<string, Watermark>> {
    const found = new Map<string, Watermark>();
    const keys = [...new Set(accountIds)].map((accountId) => this.watermarkKey(accountId));
    await batchGetAll(
      keys,
      async (batch) => {
        const output = await this.call('BatchGetItem', () =>
          this.client.send(new BatchGetItemCommand({ RequestItems: { [this.tableName]: { Keys: [...batch], ConsistentRead: true } } }), this.sendOptions()),
        );
        return { items: output.Responses?.[this.tableName] ?? [], unprocessed: output.UnprocessedKeys?.[this.tableName]?.Keys ?? [] };
      },
      (item) => {
        const watermark = itemToWatermark(item);
        found.set(watermark.accountId, watermark);
      },
      {
        maxRetries: this.maxUnprocessedRetries,
        backoff: (round, left) => this.backoff(round, left),
        giveUp: (left) => new LedgerUnavailableError(`${left} watermark reads stayed unprocessed`),
      },
    );
    return found;
  }

  async parked(accountId: string, from: number, to: number, limit: number): Promise<ChangeRecord[]> {
    const records: ChangeRecord[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    // The sort keys are zero-padded versions, so one key range reads exactly versions from..to, in order.
    do {
      const output = await this.call(
        'Query',
        () =>
          this.client.send(
            new QueryCommand({
              TableName: this.tableName,
              KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
              ExpressionAttributeNames: { '#pk': LEDGER_PARTITION_KEY, '#sk': LEDGER_SORT_KEY },
              ExpressionAttributeValues: {
                ':pk': { S: this.partitionKey(accountId) },
                ':from': { S: parkedSortKey(Math.max(1, from)) },
                ':to': { S: parkedSortKey(Math.max(1, to)) },
              },
              ConsistentRead: true,
              Limit: limit - records.length,
              ExclusiveStartKey: startKey,
            }),
            this.sendOptions(),
          ),
        accountId,
      );
      for (const item of output.Items ?? []) records.push(itemToParked(item));
      startKey = output.LastEvaluatedKey;
    } while (startKey && records.length < limit);
    return records;
  }

  async write(write: LedgerWrite): Promise<LedgerWriteResult> {
    assertWithinLimit(write);
    const accountId = write.next.accountId;
    const watermark = {
      TableName: this.tableName,
      Item: watermarkToItem(this.destination, this.epoch, write.next),
      ...revisionCondition(write.expectedRevision, write.fence),
    };
    try {
      if (write.park.length === 0 && write.unpark.length === 0) {
        await this.client.send(new PutItemCommand(watermark), this.sendOptions());
        return 'committed';
      }
      // Parked records move only together with the watermark that lists them: no orphan, no dangling entry.
      const parkedAt = this.clock();
      await this.client.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            { Put: watermark },
            ...write.park.map((record) => ({
              Put: { TableName: this.tableName, Item: parkedToItem(this.destination, this.epoch, record, parkedAt) },
            })),
            ...write.unpark.map((version) => ({
              Delete: { TableName: this.tableName, Key: this.parkedKey(accountId, version) },
            })),
          ],
        }),
        this.sendOptions(),
      );
      return 'committed';
    } catch (error) {
      // Another engine got there first; the caller re-reads and re-plans.
      if (lostRaceAt(error) !== undefined) return 'conflict';
      throw unavailable(write.park.length + write.unpark.length > 0 ? 'TransactWriteItems' : 'PutItem', error, accountId);
    }
  }

  async *waiting(after?: WaitingAccount): AsyncIterable<WaitingAccount> {
    const prefix = this.partitionKey('');
    // An index position: the index's keys and the table's (DynamoDB orders equal index keys by them). The account's
    // entry need not still be there.
    let startKey: Record<string, AttributeValue> | undefined =
      after === undefined
        ? undefined
        : {
            [GAPS_INDEX_PARTITION_KEY]: { S: gapScope(this.destination, this.epoch) },
            [GAPS_INDEX_SORT_KEY]: { N: String(after.since) },
            ...this.watermarkKey(after.accountId),
          };
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
          this.sendOptions(),
        ),
      );
      for (const item of output.Items ?? []) {
        const key = item[LEDGER_PARTITION_KEY]?.S;
        const since = Number(item[GAPS_INDEX_SORT_KEY]?.N);
        if (key?.startsWith(prefix)) yield { accountId: await this.accountOfKey(key, key.slice(prefix.length)), since };
      }
      startKey = output.LastEvaluatedKey;
    } while (startKey);
  }

  async sweepPosition(): Promise<WaitingAccount | undefined> {
    const output = await this.call('GetItem', () =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: this.sweepPositionKey(), ConsistentRead: true }), this.sendOptions()),
    );
    const accountId = output.Item?.account_id?.S;
    const since = Number(output.Item?.since?.N);
    return accountId === undefined || !Number.isFinite(since) ? undefined : { accountId, since };
  }

  async saveSweepPosition(position: WaitingAccount | undefined): Promise<void> {
    // Overwritten, never deleted: "no position" is the item without one (one action fewer to grant).
    const item: Record<string, AttributeValue> = { ...this.sweepPositionKey(), saved_at: { N: String(this.clock()) } };
    if (position !== undefined) Object.assign(item, { account_id: { S: position.accountId }, since: { N: String(position.since) } });
    await this.call('PutItem', () => this.client.send(new PutItemCommand({ TableName: this.tableName, Item: item }), this.sendOptions()));
  }

  private sweepPositionKey(): Record<string, AttributeValue> {
    return {
      [LEDGER_PARTITION_KEY]: { S: gapScope(this.destination, this.epoch) },
      [LEDGER_SORT_KEY]: { S: SWEEP_POSITION_SORT_KEY },
    };
  }

  /**
   * The account of a partition key the gaps index listed (it projects keys only): the key's own account part, unless
   * that part may be a shortened id (`boundedKeyPart`: it ends in `~` and a digest), whose whole id only the item holds.
   */
  private async accountOfKey(key: string, part: string): Promise<string> {
    if (!SHORTENED_KEY_PART.test(part)) return part;
    const output = await this.call('GetItem', () =>
      this.client.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: { [LEDGER_PARTITION_KEY]: { S: key }, [LEDGER_SORT_KEY]: { S: WATERMARK_SORT_KEY } },
          ProjectionExpression: 'account_id',
          ConsistentRead: true,
        }),
        this.sendOptions(),
      ),
    );
    return output.Item?.account_id?.S ?? part;
  }

  private sendOptions(): { abortSignal?: AbortSignal } {
    return this.requestDeadline?.sendOptions() ?? {};
  }

  /**
   * Full-jitter exponential backoff before re-reading unprocessed keys (up to 50 ms × 2^round, capped at 2 s), unless
   * the wait would end past the request deadline.
   */
  private async backoff(round: number, keys: number): Promise<void> {
    const ms = batchGetBackoffMs(round);
    if (this.requestDeadline?.leavesLessThan(ms)) throw new LedgerUnavailableError(`${keys} watermark reads stayed unprocessed when the invocation's time ran out`);
    await sleep(ms);
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

  private parkedKey(accountId: string, version: number): Record<string, AttributeValue> {
    return {
      [LEDGER_PARTITION_KEY]: { S: this.partitionKey(accountId) },
      [LEDGER_SORT_KEY]: { S: parkedSortKey(version) },
    };
  }

  private watermarkKey(accountId: string): Record<string, AttributeValue> {
    return {
      [LEDGER_PARTITION_KEY]: { S: this.partitionKey(accountId) },
      [LEDGER_SORT_KEY]: { S: WATERMARK_SORT_KEY },
    };
  }
}

/** On the revision read, and for a fenced write also on the claim's token still being the one we delivered under. */
function revisionCondition(
  expectedRevision: number,
  fence: string | undefined,
): {
  ConditionExpression: string;
  ExpressionAttributeNames: Record<string, string>;
  ExpressionAttributeValues?: Record<string, AttributeValue>;
} {
  if (expectedRevision === 0) {
    return { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': LEDGER_PARTITION_KEY } };
  }
  if (fence === undefined) {
    return {
      ConditionExpression: '#revision = :expected',
      ExpressionAttributeNames: { '#revision': 'revision' },
      ExpressionAttributeValues: { ':expected': { N: String(expectedRevision) } },
    };
  }
  return {
    ConditionExpression: '#revision = :expected AND #claim.#token = :fence',
    ExpressionAttributeNames: { '#revision': 'revision', '#claim': 'claim', '#token': 'token' },
    ExpressionAttributeValues: { ':expected': { N: String(expectedRevision) }, ':fence': { S: fence } },
  };
}

function unavailable(operation: string, error: unknown, accountId?: string): LedgerUnavailableError {
  const name = (error as Error)?.name ?? 'Error';
  const message = (error as Error)?.message ?? String(error);
  return new LedgerUnavailableError(`ledger ${operation} failed: ${name}: ${message}`, accountId ? { accountId } : {}, {
    cause: error,
  });
}

