import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DynamoDBClient,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../local/emulators/dynamodb-local';
import { createLedgerTable } from '../local/tables';
import type { ChangeRecord } from '../shared/change-record/change-record';
import { DynamoDBLedger } from '../shared/ledger/dynamodb-ledger';
import { makeEngine, noopDeadLetters, noopDestination, VARIANTS, type Variant } from './engine-throughput';
import { countsSince, RequestCounter, type RequestCounts } from './request-counter';
import { round, type LedgerWorkload } from './workloads';

type BatchHandler = (batch: readonly ChangeRecord[]) => Promise<void>;

interface Contender {
  readonly key: string;
  readonly label: string;
  createTable(admin: DynamoDBClient, tableName: string): Promise<void>;
  /** Returns the per-batch handler and a check run after the last batch. */
  make(client: DynamoDBClient, tableName: string, workload: LedgerWorkload): { handle: BatchHandler; check: () => void };
}

const ENGINE_KEYS: Record<string, string> = {
  everyVersion: 'engineEveryVersion',
  latestState: 'engineLatestState',
  inOrder: 'engineInOrder',
  inOrderPerBatch: 'engineInOrderPerBatch',
  inOrderHomeLanes: 'engineInOrderHomeLanes',
  inOrderPerVersionHomeLanes: 'engineInOrderPerVersionHomeLanes',
  latestStateEnforced: 'engineLatestStateEnforced',
};

function engineContender(variant: Variant): Contender {
  return {
    key: ENGINE_KEYS[variant.key] ?? variant.key,
    label: `engine ${variant.label}`,
    createTable: createLedgerTable,
    make(client, tableName, workload) {
      const ledger = new DynamoDBLedger({ client, tableName, destination: 'bench', epoch: 'live' });
      const { engine, destination } = makeEngine(variant, { ledger, deadLetters: noopDeadLetters }, 'bench');
      let delivered = 0;
      let failed = 0;
      return {
        handle: async (batch) => {
          // One shard, one batch at a time, as a Lambda mapping runs it: the shard is the batch's lane.
          const lane = variant.homeLanes ? batch[0]?.shardId : undefined;
          const outcome = await engine.process(batch, lane === undefined ? {} : { lane });
          delivered += outcome.counts.delivered;
          failed += outcome.counts.failed;
        },
        check: () => {
          // latest-state delivers the newest version of each account in each batch; the others deliver everything.
          const perBatch = Math.min(workload.accounts, workload.batches[0]?.length ?? 0);
          const expected = variant.mode === 'latest-state' ? perBatch * workload.batches.length : totalRecords(workload);
          if (failed > 0 || delivered !== expected || destination.deliveries !== expected) {
            throw new Error(`${this.label}: delivered ${delivered} (destination ${destination.deliveries}) of ${expected}, ${failed} failed`);
          }
        },
      };
    },
  };
}

function windowCost(c: RequestCounts, n: number): WindowCost {
  const capacityKnown = c.capacityReported > 0 && c.capacityMissing === 0;
  return {
    writeRequestsPerRecord: round(c.itemWrites / n, 3),
    readRequestsPerRecord: round(c.itemReads / n, 3),
    requestsPerRecord: round(c.apiCalls / n, 3),
    writeUnitsPerRecord: capacityKnown ? round(c.writeUnits / n, 3) : null,
    readUnitsPerRecord: capacityKnown ? round(c.readUnits / n, 3) : null,
    records: n,
    counts: c,
  };
}

/** Runs each account's records in order, accounts concurrently: how a per-record idempotency check is usually used. */
async function perAccount(batch: readonly ChangeRecord[], each: (record: ChangeRecord) => Promise<void>): Promise<void> {
  const byAccount = new Map<string, ChangeRecord[]>();
  for (const record of batch) {
    const list = byAccount.get(record.accountId);
    if (list) list.push(record);
    else byAccount.set(record.accountId, [record]);
  }
  await Promise.all(
    [...byAccount.values()].map(async (records) => {
      for (const record of records) await each(record);
    }),
  );
}

async function createKeyTable(admin: DynamoDBClient, tableName: string, key: string): Promise<void> {
  await admin.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: key, AttributeType: 'S' }],
      KeySchema: [{ AttributeName: key, KeyType: 'HASH' }],
    }),
  );
}

/** Deduplicate-and-advance per record: one conditional UpdateItem on the account's watermark item. */
const naive: Contender = {
  key: 'naive',
  label: 'naive conditional UpdateItem',
  createTable: (admin, tableName) => createKeyTable(admin, tableName, 'pk'),
  make(client, tableName, workload) {
    const destination = noopDestination('naive', 'in-order');
    let duplicates = 0;
    return {
      handle: (batch) =>
        perAccount(batch, async (record) => {
          try {
            await client.send(
              new UpdateItemCommand({
                TableName: tableName,
                Key: { pk: { S: record.accountId } },
                UpdateExpression: 'SET #version = :v',
                ConditionExpression: 'attribute_not_exists(#version) OR #version < :v',
                ExpressionAttributeNames: { '#version': 'version' },
                ExpressionAttributeValues: { ':v': { N: String(record.version) } },
              }),
            );
          } catch (error) {
            if (!(error instanceof ConditionalCheckFailedException)) throw error;
            duplicates += 1;
            return;
          }
          await destination.deliver([{ record, healed: false, replay: false, epoch: 'live' }]);
        }),
      check: () => {
        if (destination.deliveries !== totalRecords(workload) || duplicates > 0) {
          throw new Error(`naive: delivered ${destination.deliveries} of ${totalRecords(workload)}, ${duplicates} duplicates`);
        }
      },
    };
  },
};

/** Powertools idempotency around a per-record handler, keyed on account id and version. */
const powertools: Contender = {
  key: 'powertools',
  label: 'powertools idempotency',
  createTable: (admin, tableName) => createKeyTable(admin, tableName, 'id'),
  make(client, tableName, workload) {
    const destination = noopDestination('powertools', 'in-order');
    const deliverOne = async (record: ChangeRecord): Promise<{ delivered: number }> => {
      await destination.deliver([{ record, healed: false, replay: false, epoch: 'live' }]);
      return { delivered: record.version };
    };
    const config = new IdempotencyConfig({ eventKeyJmesPath: '[accountId, version]' });
    // As in a Lambda function: the context gives the in-progress expiry (and silences a warning per record).
    const deadline = Date.now() + 15 * 60_000;
    config.registerLambdaContext({
      functionName: 'bench',
      getRemainingTimeInMillis: () => deadline - Date.now(),
    } as unknown as Parameters<IdempotencyConfig['registerLambdaContext']>[0]);
    const idempotent = makeIdempotent(deliverOne, {
      persistenceStore: new DynamoDBPersistenceLayer({ tableName, awsSdkV3Client: client }),
      config,
    });
    return {
      handle: (batch) => perAccount(batch, async (record) => void (await idempotent(record))),
      check: () => {
        if (destination.deliveries !== totalRecords(workload)) {
          throw new Error(`powertools: delivered ${destination.deliveries} of ${totalRecords(workload)}`);
        }
      },
    };
  },
};

function totalRecords(workload: LedgerWorkload): number {
  return workload.batches.reduce((sum, batch) => sum + batch.length, 0);
}

export const CONTENDERS: readonly Contender[] = [...VARIANTS.map(engineContender), naive, powertools];

/** What one window of the workload cost. */
export interface WindowCost {
  readonly writeRequestsPerRecord: number;
  readonly readRequestsPerRecord: number;
  readonly requestsPerRecord: number;
  /** null when DynamoDB Local returned no ConsumedCapacity. */
  readonly writeUnitsPerRecord: number | null;
  readonly readUnitsPerRecord: number | null;
  readonly records: number;
  readonly counts: RequestCounts;
}

/**
 * The same contender over the accounts' first `window` batches (new accounts: an `in-order` account's first claimed
 * batches also claim it, its home) and over the `window` batches after them (established accounts).
 */
export interface ContenderCost extends WindowCost {
  readonly label: string;
  readonly newAccounts: WindowCost;
}

export interface LedgerCostOptions {
  readonly endpoint: string;
  readonly workloads: readonly LedgerWorkload[];
  readonly log?: (line: string) => void;
}

/**
 * Runs every contender over every workload, each pair on its own fresh table and its own counted client. The pairs
 * run concurrently: their counts are independent, and DynamoDB Local's latency (not its throughput) bounds a
 * contender that works through few accounts at a time.
 */
export async function measureLedgerCost(options: LedgerCostOptions): Promise<Record<string, Record<string, ContenderCost>>> {
  const clientConfig = { endpoint: options.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
  const admin = new DynamoDBClient(clientConfig);
  const suffix = Date.now().toString(36);
  const run = async (workload: LedgerWorkload, contender: Contender): Promise<ContenderCost> => {
    const tableName = `bench-${workload.name}-${contender.key}-${suffix}`;
    await contender.createTable(admin, tableName);
    const client = new DynamoDBClient(clientConfig);
    const counter = new RequestCounter().attach(client);
    let newAccounts: RequestCounts | undefined;
    try {
      const { handle, check } = contender.make(client, tableName, workload);
      for (const [index, batch] of workload.batches.entries()) {
        if (index === workload.window) newAccounts = structuredClone(counter.counts);
        await handle(batch);
      }
      check();
    } finally {
      client.destroy();
    }
    if (newAccounts === undefined) throw new Error(`${workload.name}: a workload of ${workload.batches.length} batches has no second window`);
    const established = countsSince(newAccounts, counter.counts);
    options.log?.(`  ${workload.name.padEnd(4)} ${contender.label.padEnd(30)} ${String(newAccounts.itemWrites).padStart(5)} item writes new, ${String(established.itemWrites).padStart(5)} established`);
    return { label: contender.label, ...windowCost(established, workload.records), newAccounts: windowCost(newAccounts, workload.records) };
  };
  try {
    const pairs = options.workloads.flatMap((workload) => CONTENDERS.map((contender) => ({ workload, contender })));
    const settled = await Promise.allSettled(pairs.map(({ workload, contender }) => run(workload, contender)));
    const results: Record<string, Record<string, ContenderCost>> = {};
    pairs.forEach(({ workload, contender }, index) => {
      const outcome = settled[index] as PromiseSettledResult<ContenderCost>;
      if (outcome.status === 'rejected') throw outcome.reason;
      (results[workload.name] ??= {})[contender.key] = outcome.value;
    });
    return results;
  } finally {
    admin.destroy();
  }
}
