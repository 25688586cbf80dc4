import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeChangeRecord, type KinesisRecordInput } from '../shared/change-record/decode';
import type { ChangeRecord } from '../shared/change-record/change-record';
import { DynamoDBLedger } from '../shared/ledger/dynamodb-ledger';
import { LIVE_EPOCH, type DeliveryMode } from '../shared/ordering/delivery-mode';
import { OrderingEngine } from '../shared/ordering/engine';
import { addCounts, zeroCounts } from '../shared/ordering/outcome';
import type { DeadLetter, Ledger } from '../shared/ordering/ports';
import type { DestinationReport, RunReport } from './report';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startDynamoDBLocal } from './emulators/dynamodb-local';
import type { RunningDynamoDBLocal } from './emulators/dynamodb-local';
import { createAccountsTable, createLedgerTable } from './tables';
import { checkDestination, destinationOk } from './verify';
import { produceChangeFeed } from './change-feed';
import { badRecordLetter } from '../shared/dead-letter/dead-letter-message';
import { RecordingDeadLetterQueue, RecordingDestination } from './recording-destination';
import type { Truth } from './verify';

export interface RunOptions {
  readonly accounts: number;
  readonly changes: number;
  readonly seed: number;
  readonly duplicateRate: number;
  readonly reorderRate: number;
  readonly reorderWindow: number;
  /** Records per batch, per shard: what a Lambda event source mapping would hand one invocation. */
  readonly batchSize: number;
  readonly shards?: number;
  /** Workload operations in flight. */
  readonly concurrency?: number;
  readonly ratePerSecond?: number;
  /** An already running DynamoDB Local (the tests' one); without it, one is started and always stopped. */
  readonly endpoint?: string;
  readonly accountsTable?: string;
  readonly ledgerTable?: string;
  readonly captureTimeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Progress lines, for a human; main sends them to stderr so `--json` keeps stdout clean. */
  readonly log?: (message: string) => void;
}

export const RUN_DEFAULTS = {
  accounts: 20,
  changes: 500,
  seed: 1,
  duplicateRate: 0.05,
  reorderRate: 0.1,
  reorderWindow: 8,
  batchSize: 100,
  shards: 2,
  concurrency: 8,
} as const;

/** The three destinations of this version; the consumers issue replaces the recording stand-ins with real ones. */
export const DESTINATIONS: readonly { readonly name: string; readonly mode: DeliveryMode }[] = [
  { name: 'audit', mode: 'every-version' },
  { name: 'search', mode: 'latest-state' },
  { name: 'fraud', mode: 'in-order' },
];

/**
 * Where one consumer's batches come from. Today: the simulated stream, replayed to every destination. Later: a
 * Kinesis shard read through kinesis-local, with nothing else in the pipeline changing.
 */
export interface BatchSource {
  readonly shardId: string;
  batches(): AsyncIterable<readonly KinesisRecordInput[]>;
}

/** Runs the whole local pipeline once and verifies it. Throws only when the pipeline itself could not run. */
export async function runLocal(options: RunOptions): Promise<RunReport> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const log = options.log ?? (() => undefined);
  // A shared emulator may hold tables of earlier runs, whose ledgers would swallow this run's versions: fresh names.
  const suffix = options.endpoint ? `-${Date.now().toString(36)}` : '';
  const accountsTable = options.accountsTable ?? `Accounts${suffix}`;
  const ledgerTable = options.ledgerTable ?? `OrderingLedger${suffix}`;
  const lap = lapTimer();
  let emulator: RunningDynamoDBLocal | undefined;
  // Ctrl-C: killing our own emulator makes every call in flight fail fast, so the run unwinds to `finally`.
  const onAbort = (): void => void emulator?.stop();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const clients: { destroy(): void }[] = [];
  try {
    let endpoint = options.endpoint;
    if (!endpoint) {
      log('starting DynamoDB Local');
      emulator = await startDynamoDBLocal();
      endpoint = emulator.endpoint;
    }
    options.signal?.throwIfAborted();
    const config = { endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
    const dynamodb = new DynamoDBClient(config);
    const streams = new DynamoDBStreamsClient(config);
    clients.push(dynamodb, streams);
    await createAccountsTable(dynamodb, accountsTable, { stream: true });
    await createLedgerTable(dynamodb, ledgerTable);
    const setup = lap();

    const shardCount = options.shards ?? RUN_DEFAULTS.shards;
    const feed = await produceChangeFeed({
      dynamodb,
      streams,
      accountsTable,
      accounts: options.accounts,
      changes: options.changes,
      seed: options.seed,
      duplicateRate: options.duplicateRate,
      reorderRate: options.reorderRate,
      reorderWindow: options.reorderWindow,
      shards: shardCount,
      batchSize: options.batchSize,
      concurrency: options.concurrency ?? RUN_DEFAULTS.concurrency,
      ...(options.ratePerSecond ? { ratePerSecond: options.ratePerSecond } : {}),
      ...(options.captureTimeoutMs ? { captureTimeoutMs: options.captureTimeoutMs } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      log,
    });
    const { workload, capture, truth, chaos, feeds } = feed;
    lap();
    const workloadMs = feed.timingsMs.workload;
    const captureMs = feed.timingsMs.capture;
    const sources: BatchSource[] = feeds.map((feed) => ({
      shardId: feed.shardId,
      batches: async function* () {
        yield* feed.batches;
      },
    }));
    log(`consuming ${feeds.reduce((sum, feed) => sum + feed.batches.length, 0)} batches on ${shardCount} shards`);
    const consumers = DESTINATIONS.map(({ name, mode }) =>
      createConsumer({ name, mode, client: dynamodb, ledgerTable, accountsTable, sources }),
    );
    // Every destination reads every shard on its own, and the shards of one destination run side by side, as
    // separate Lambda invocations would: that is what makes two engines meet on one account.
    await Promise.all(
      consumers.flatMap((consumer) => sources.map((source, shard) => consumer.consume(source, shard))),
    );
    const consumeMs = lap();

    const sweeps = await Promise.all(consumers.map((consumer) => consumer.sweepUntilSettled()));
    const sweepMs = lap();

    const destinations = await Promise.all(consumers.map((consumer, i) => consumer.report(truth, sweeps[i] ?? 0)));
    const ok = capture.complete && destinations.every((destination) => destination.ok);
    const { signal: _signal, log: _log, ...shown } = options;
    return {
      ok,
      options: { ...shown, shards: shardCount, accountsTable, ledgerTable },
      endpoint,
      workload,
      capture,
      stream: {
        shards: feeds.map(({ shardId, batches }, shard) => ({
          shardId,
          records: chaos.shards[shard]?.length ?? 0,
          batches: batches.length,
        })),
        chaos: chaos.stats,
      },
      destinations,
      timingsMs: {
        setup,
        workload: workloadMs,
        capture: captureMs,
        consume: consumeMs,
        sweep: sweepMs,
        total: lap.total(),
      },
    };
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    for (const client of clients) client.destroy();
    await emulator?.stop();
  }
}

/** Lambda retries a batch from its lowest reported failure; a few tries are enough for a local emulator. */
const MAX_BATCH_ATTEMPTS = 4;
/** Sweeps stop as soon as one changes nothing; this only bounds a sweep that keeps changing things. */
const MAX_SWEEPS = 20;

interface ConsumerOptions {
  readonly name: string;
  readonly mode: DeliveryMode;
  readonly client: DynamoDBClient;
  readonly ledgerTable: string;
  readonly accountsTable: string;
  readonly sources: readonly BatchSource[];
}

/** One destination's consumer: what the consumers issue turns into a Lambda function per destination. */
function createConsumer({ name, mode, client, ledgerTable, accountsTable, sources }: ConsumerOptions) {
  const destination = new RecordingDestination(name, mode);
  const deadLetters = new RecordingDeadLetterQueue();
  const epoch = LIVE_EPOCH.id;
  const ledger = countingLedger(new DynamoDBLedger({ client, tableName: ledgerTable, destination: name, epoch }));
  // One engine per shard, like one Lambda invocation per shard; owners must differ because claims name them.
  const engines = sources.map(
    (source) => new OrderingEngine({ destination, ledger, deadLetters, owner: `${name}@${source.shardId}` }),
  );
  const counts = zeroCounts();
  let badRecords = 0;
  let failedRecords = 0;

  const processBatch = async (engine: OrderingEngine, batch: readonly KinesisRecordInput[]): Promise<void> => {
    let records: ChangeRecord[] = [];
    const letters: DeadLetter[] = [];
    for (const input of batch) {
      const decoded = decodeChangeRecord(input, { tableName: accountsTable });
      if (decoded.ok) records.push(decoded.record);
      else {
        letters.push(badRecordLetter(decoded.bad, name, epoch, Date.now()));
      }
    }
    badRecords += letters.length;
    if (letters.length > 0) await deadLetters.send(letters);
    for (let attempt = 1; records.length > 0; attempt += 1) {
      const outcome = await engine.process(records);
      addCounts(counts, outcome.counts);
      if (outcome.failed.length === 0) return;
      if (attempt >= MAX_BATCH_ATTEMPTS) {
        failedRecords += outcome.failed.length;
        return;
      }
      // As Lambda does with ReportBatchItemFailures: retry from the lowest failed sequence number on.
      const lowest = outcome.failed.map((failed) => BigInt(failed.sequenceNumber)).reduce((a, b) => (a < b ? a : b));
      records = records.filter((record) => BigInt(record.sequenceNumber) >= lowest);
      await sleep(50 * attempt);
    }
  };

  return {
    async consume(source: BatchSource, shard: number): Promise<void> {
      const engine = engines[shard] as OrderingEngine;
      for await (const batch of source.batches()) await processBatch(engine, batch);
    },

    /** Revisits waiting accounts until a sweep changes nothing; returns how many sweeps ran. */
    async sweepUntilSettled(): Promise<number> {
      const engine = engines[0] as OrderingEngine;
      for (let sweep = 1; ; sweep += 1) {
        const { counts: swept } = await engine.sweep();
        addCounts(counts, swept);
        const changed = swept.delivered + swept.unparked + swept.deadLettered + swept.baselined + swept.ledgerConflicts;
        if (changed === 0 || sweep >= MAX_SWEEPS) return sweep;
      }
    },

    async report(truth: Truth, sweeps: number): Promise<DestinationReport> {
      let waitingAccounts = 0;
      let parkedRemaining = 0;
      for await (const { accountId } of ledger.waiting()) {
        waitingAccounts += 1;
        parkedRemaining += (await ledger.parked(accountId)).length;
      }
      const check = checkDestination(name, mode, destination.received, truth);
      const leftOver = parkedRemaining + waitingAccounts + failedRecords + badRecords;
      const ok = destinationOk(check) && leftOver === 0;
      return {
        ...check,
        kind: 'in-memory recording destination',
        duplicatesSkipped: counts.duplicates,
        stale: counts.stale,
        refusedByDestination: destination.refusedStale,
        parkedRemaining,
        waitingAccounts,
        deadLettered: deadLetters.letters.length,
        badRecords,
        failedRecords,
        ledgerWrites: ledger.writes,
        sweeps,
        engine: counts,
        ok,
      };
    },
  };
}

function lapTimer(): (() => number) & { total(): number } {
  const started = Date.now();
  let last = started;
  const lap = (): number => {
    const elapsed = Date.now() - last;
    last += elapsed;
    return elapsed;
  };
  return Object.assign(lap, { total: () => Date.now() - started });
}

/**
 * Counts the conditional watermark writes, the cost that matters most for the ledger table. A proxy rather than a
 * class, so the count survives changes to the rest of the ledger port.
 */
function countingLedger(inner: Ledger): Ledger & { readonly writes: number } {
  let writes = 0;
  return new Proxy(inner, {
    get(target, property) {
      if (property === 'writes') return writes;
      if (property === 'write') {
        return (write: Parameters<Ledger['write']>[0]) => {
          writes += 1;
          return target.write(write);
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  }) as Ledger & { readonly writes: number };
}
