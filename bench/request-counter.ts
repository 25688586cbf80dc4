import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** Commands that accept `ReturnConsumedCapacity`. */
const CAPACITY_COMMANDS = new Set([
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'GetItemCommand',
  'BatchGetItemCommand',
  'BatchWriteItemCommand',
  'QueryCommand',
  'ScanCommand',
  'TransactWriteItemsCommand',
  'TransactGetItemsCommand',
]);
const WRITE_COMMANDS = new Set(['PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand', 'BatchWriteItemCommand', 'TransactWriteItemsCommand']);

interface Capacity {
  readonly CapacityUnits?: number;
  readonly ReadCapacityUnits?: number;
  readonly WriteCapacityUnits?: number;
}

export interface RequestCounts {
  /** One per command sent (a retried command counts once here, see `attempts`). */
  apiCalls: number;
  /** HTTP attempts, retries included. */
  attempts: number;
  /** Item-level writes: a BatchWriteItem of 25 puts counts 25, a TransactWriteItems counts its items. */
  itemWrites: number;
  /** Item-level reads: a BatchGetItem counts its keys, a GetItem 1, a Query or Scan 1 per call. */
  itemReads: number;
  writeCalls: number;
  readCalls: number;
  /** Calls that failed (a ConditionalCheckFailedException included). */
  errors: number;
  conditionalCheckFailures: number;
  byCommand: Record<string, number>;
  /** ConsumedCapacity summed from the responses (CapacityUnits of write commands / of read commands). */
  writeUnits: number;
  readUnits: number;
  /** Responses of capacity-aware commands with / without a ConsumedCapacity. */
  capacityReported: number;
  capacityMissing: number;
}

/** What a counter counted between a snapshot of it (`before`, a copy) and `after`. */
export function countsSince(before: RequestCounts, after: RequestCounts): RequestCounts {
  const byCommand: Record<string, number> = {};
  for (const [command, n] of Object.entries(after.byCommand)) {
    const delta = n - (before.byCommand[command] ?? 0);
    if (delta > 0) byCommand[command] = delta;
  }
  return {
    apiCalls: after.apiCalls - before.apiCalls,
    attempts: after.attempts - before.attempts,
    itemWrites: after.itemWrites - before.itemWrites,
    itemReads: after.itemReads - before.itemReads,
    writeCalls: after.writeCalls - before.writeCalls,
    readCalls: after.readCalls - before.readCalls,
    errors: after.errors - before.errors,
    conditionalCheckFailures: after.conditionalCheckFailures - before.conditionalCheckFailures,
    byCommand,
    writeUnits: after.writeUnits - before.writeUnits,
    readUnits: after.readUnits - before.readUnits,
    capacityReported: after.capacityReported - before.capacityReported,
    capacityMissing: after.capacityMissing - before.capacityMissing,
  };
}

export function emptyCounts(): RequestCounts {
  return {
    apiCalls: 0,
    attempts: 0,
    itemWrites: 0,
    itemReads: 0,
    writeCalls: 0,
    readCalls: 0,
    errors: 0,
    conditionalCheckFailures: 0,
    byCommand: {},
    writeUnits: 0,
    readUnits: 0,
    capacityReported: 0,
    capacityMissing: 0,
  };
}

type Input = Record<string, unknown>;

function itemWrites(command: string, input: Input): number {
  switch (command) {
    case 'PutItemCommand':
    case 'UpdateItemCommand':
    case 'DeleteItemCommand':
      return 1;
    case 'BatchWriteItemCommand':
      return Object.values((input.RequestItems ?? {}) as Record<string, unknown[]>).reduce((sum, list) => sum + list.length, 0);
    case 'TransactWriteItemsCommand':
      return ((input.TransactItems ?? []) as unknown[]).length;
    default:
      return 0;
  }
}

function itemReads(command: string, input: Input): number {
  switch (command) {
    case 'GetItemCommand':
    case 'QueryCommand':
    case 'ScanCommand':
      return 1;
    case 'BatchGetItemCommand':
      return Object.values((input.RequestItems ?? {}) as Record<string, { Keys?: unknown[] }>).reduce(
        (sum, entry) => sum + (entry.Keys?.length ?? 0),
        0,
      );
    case 'TransactGetItemsCommand':
      return ((input.TransactItems ?? []) as unknown[]).length;
    default:
      return 0;
  }
}

function capacityUnits(consumed: Capacity | Capacity[] | undefined, write: boolean): number | undefined {
  if (consumed === undefined) return undefined;
  const list = Array.isArray(consumed) ? consumed : [consumed];
  if (list.length === 0) return undefined;
  return list.reduce((sum, c) => sum + (c.CapacityUnits ?? (write ? c.WriteCapacityUnits : c.ReadCapacityUnits) ?? 0), 0);
}

/**
 * Counts what a DynamoDB client sends, with two middlewares: one at `initialize` (once per command: names, item
 * counts, and `ReturnConsumedCapacity: 'TOTAL'` added to the input) and one at `deserialize` (once per HTTP attempt).
 */
export class RequestCounter {
  counts: RequestCounts = emptyCounts();

  attach(client: DynamoDBClient): this {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const command = context.commandName ?? 'unknown';
        const input = args.input as Input;
        const c = this.counts;
        c.apiCalls += 1;
        c.byCommand[command] = (c.byCommand[command] ?? 0) + 1;
        const write = WRITE_COMMANDS.has(command);
        c.itemWrites += itemWrites(command, input);
        c.itemReads += itemReads(command, input);
        if (write) c.writeCalls += 1;
        else if (CAPACITY_COMMANDS.has(command)) c.readCalls += 1;
        const capacityAware = CAPACITY_COMMANDS.has(command);
        const sent = capacityAware && input.ReturnConsumedCapacity === undefined
          ? { ...args, input: { ...input, ReturnConsumedCapacity: 'TOTAL' } }
          : args;
        try {
          const result = await next(sent);
          if (capacityAware) {
            const units = capacityUnits((result.output as { ConsumedCapacity?: Capacity | Capacity[] }).ConsumedCapacity, write);
            if (units === undefined) c.capacityMissing += 1;
            else {
              c.capacityReported += 1;
              if (write) c.writeUnits += units;
              else c.readUnits += units;
            }
          }
          return result;
        } catch (error) {
          c.errors += 1;
          if ((error as Error)?.name === 'ConditionalCheckFailedException') c.conditionalCheckFailures += 1;
          throw error;
        }
      },
      { step: 'initialize', name: 'benchRequestCounter', override: true },
    );
    client.middlewareStack.add(
      (next) => async (args) => {
        this.counts.attempts += 1;
        return next(args);
      },
      { step: 'deserialize', name: 'benchAttemptCounter', override: true },
    );
    return this;
  }

  reset(): void {
    this.counts = emptyCounts();
  }
}
