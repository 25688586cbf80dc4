import { loadRuntime } from '../../destinations/runtime-registry';
import type { RuntimePlugin } from '../../shared/destination-plugin/runtime-plugin';
import { DEFAULT_PIPELINE_CONFIG, destinationDefaults } from '../../infra/config/defaults';
import { DESTINATION_NAMES, type DestinationSettings, type PipelineConfig } from '../../infra/config/pipeline-config';
import type { DeliveryMode } from '../../shared/ordering/delivery-mode';
import { planStream, line, sum, GIB, RECORD_METADATA_BYTES, type CostLine, type StreamPlan } from './kinesis';
import { DEFAULT_VARIANT, INTERPOLATION_FORMULA, LEDGER_FIGURES, LEDGER_SOURCE, ledgerWritesPerRecord, type LedgerVariant } from './ledger-figures';
import { CHECKED, LIMITS, PRICE_REGION, PRICES, unconfirmedPrices } from './prices';
import { destinationRequests, type DestinationRequests } from './requests';

/** Assumed Lambda duration of one batch (ledger read + destination call + ledger write), seconds. */
export const DEFAULT_BATCH_SECONDS = 0.2;

export interface PlanInputs {
  readonly writesPerSecond: number;
  readonly accounts: number;
  readonly itemBytes: number;
  /**
   * Any destination that ships with the package (`destinations/runtime-registry.ts`) or is in `runtimes`, planned by
   * the mode of its runtime half. @default the configuration's: the built-ins and its `plugins`, what the bundled stack
   * deploys
   */
  readonly destinations?: readonly string[];
  /** Runtime halves of plug-ins of your own app (`fanout plan --runtime <module>`), by name. @default none */
  readonly runtimes?: Readonly<Record<string, Pick<RuntimePlugin, 'mode'>>>;
  /** How far back one replay reads. @default 0 (no replay) */
  readonly replayDays?: number;
  /** @default DEFAULT_BATCH_SECONDS */
  readonly batchSeconds?: number;
  /** @default DEFAULT_PIPELINE_CONFIG */
  readonly config?: PipelineConfig;
}

export interface DestinationPlan {
  readonly name: string;
  readonly mode: DeliveryMode;
  readonly variant: LedgerVariant;
  readonly batchSize: number;
  readonly parallelizationFactor: number;
  readonly memoryMb: number;
  /** shards × parallelization factor: batches in flight at once. */
  readonly concurrency: number;
  readonly recordsPerSecondPerLane: number;
  /** What a lane's batch holds: min(batchSize, records arriving while the previous batch runs). */
  readonly effectiveBatch: number;
  readonly distinctAccountsPerBatch: number;
  /** v: versions per account per batch. */
  readonly versionsPerAccountPerBatch: number;
  readonly ledger: { readonly writesPerRecord: number; readonly readsPerRecord: number; readonly lines: CostLine[] };
  readonly lambda: { readonly invocationsPerMonth: number; readonly gbSeconds: number; readonly lines: CostLine[] };
  readonly requests: DestinationRequests;
  readonly total: number;
}

export interface Limit {
  readonly name: string;
  readonly used: number;
  readonly capacity: number;
  readonly utilization: number;
  /** Writes/s at which this limit is reached, with this deployment (linear). */
  readonly writesPerSecondAtLimit: number;
  /** Grows with the shard count (an on-demand stream adds shards by itself). */
  readonly scalesWithShards: boolean;
  readonly source: string;
}

export interface Ceiling {
  readonly name: string;
  /** Writes/s at which it is reached when the stream has as many shards as it needs. */
  readonly writesPerSecond: number;
  readonly source: string;
}

export interface Plan {
  readonly inputs: Required<Omit<PlanInputs, 'config' | 'runtimes'>>;
  readonly prices: { readonly region: string; readonly checked: string; readonly unconfirmed: string[] };
  readonly assumptions: string[];
  readonly streamMode: 'ON_DEMAND' | 'PROVISIONED';
  readonly stream: StreamPlan;
  readonly cdc: { readonly unitsPerWrite: number; readonly lines: CostLine[] };
  readonly ledgerFormula: string;
  readonly ledgerSource: string;
  readonly destinations: DestinationPlan[];
  readonly replay: null | { readonly days: number; readonly records: number; readonly gb: number; readonly lines: CostLine[]; readonly perDestinationUsd: Record<string, number>; readonly total: number; readonly warning?: string };
  readonly limits: Limit[];
  readonly bottleneck: Limit;
  /** Ceilings more shards do not lift (what an on-demand stream runs into as writes grow), lowest first. */
  readonly ceilings: Ceiling[];
  readonly notModelled: string[];
  readonly monthly: { readonly kinesis: number; readonly cdc: number; readonly destinations: Record<string, number>; readonly total: number };
}

/** Expected distinct accounts among `batch` records drawn uniformly from `accounts`. */
export function expectedDistinct(accounts: number, batch: number): number {
  if (accounts <= 1) return Math.min(accounts, batch);
  return -accounts * Math.expm1(batch * Math.log1p(-1 / accounts));
}

/** Versions per account per batch: the batch over its expected distinct accounts, at least 1. */
export function versionsPerAccountPerBatch(accounts: number, batch: number): number {
  return Math.max(1, batch / expectedDistinct(accounts, batch));
}

/** `growsWithWrites`: whether `used` grows with writes at this shard count (account concurrency does not). */
function limit(name: string, used: number, capacity: number, writesPerSecond: number, scalesWithShards: boolean, source: string, growsWithWrites = true): Limit {
  const utilization = used / capacity;
  const atLimit = growsWithWrites ? (utilization > 0 ? writesPerSecond / utilization : Infinity) : utilization >= 1 ? writesPerSecond : Infinity;
  return { name, used, capacity, utilization, writesPerSecondAtLimit: atLimit, scalesWithShards, source };
}

/** A destination's settings in `config`: a built-in's section, a configured plug-in's, or the defaults. */
function settingsOf(config: PipelineConfig, name: string): DestinationSettings {
  if (Object.hasOwn(config.destinations, name)) return config.destinations[name as keyof PipelineConfig['destinations']];
  return config.plugins?.[name]?.settings ?? destinationDefaults();
}

/** DynamoDB's largest item, 400 KB: a bigger account item cannot be written, so there is nothing to plan for it. */
export const MAX_ACCOUNT_ITEM_BYTES = 400 * 1024;

/**
 * What to deploy for a load, what it costs per month and the first limit it hits, each destination planned by the mode
 * of its runtime half. A name that neither ships with the package nor is in `runtimes` is refused (`UnknownRuntimeError`,
 * naming those that ship).
 */
export async function plan(inputs: PlanInputs): Promise<Plan> {
  const config = inputs.config ?? DEFAULT_PIPELINE_CONFIG;
  const { writesPerSecond: w, accounts, itemBytes } = inputs;
  const names = inputs.destinations ?? [...DESTINATION_NAMES, ...Object.keys(config.plugins ?? {})];
  // A destination's mode is its runtime half's, as in its function: the same path for a built-in and a plug-in.
  const runtimes = inputs.runtimes ?? {};
  const modes = await Promise.all(names.map(async (name) => (Object.hasOwn(runtimes, name) ? (runtimes[name] as Pick<RuntimePlugin, 'mode'>) : await loadRuntime(name)).mode));
  const replayDays = inputs.replayDays ?? 0;
  const batchSeconds = inputs.batchSeconds ?? DEFAULT_BATCH_SECONDS;
  if (!(w > 0 && accounts >= 1 && itemBytes >= 1 && batchSeconds > 0 && replayDays >= 0)) throw new Error('plan: writes/s, accounts, item bytes and batch seconds must be positive');
  if (itemBytes > MAX_ACCOUNT_ITEM_BYTES) throw new RangeError(`plan: an item of ${itemBytes} bytes: DynamoDB stores items of at most ${MAX_ACCOUNT_ITEM_BYTES} (400 KB)`);
  const stream = planStream(w, itemBytes, names.length, config.stream.retentionHours);
  const records = stream.recordsPerMonth;
  const cdcUnitsPerWrite = Math.ceil(itemBytes / 1024);
  // Upper bound: every account new each month, so its first two batches are claimed (home lanes).
  const firstTouch = Math.min(2 * accounts, records) / records;

  const destinations = names.map((name, index): DestinationPlan => {
    const settings = settingsOf(config, name);
    const mode = modes[index] as DeliveryMode;
    const variant = DEFAULT_VARIANT[mode];
    const figure = LEDGER_FIGURES[variant];
    const concurrency = stream.shards * settings.parallelizationFactor;
    const perLane = w / concurrency;
    const effectiveBatch = Math.min(settings.batchSize, Math.max(1, perLane * Math.max(settings.maxBatchingWindowSeconds, batchSeconds)));
    const distinct = expectedDistinct(accounts, effectiveBatch);
    const v = Math.max(1, effectiveBatch / distinct);
    const writesPerRecord = ledgerWritesPerRecord(figure, v, firstTouch);
    const readsPerRecord = variant === 'latestStateEnforced' ? 0 : 1 / v;
    const ledgerLines = [
      line(`${name}: ledger writes (WRU)`, records * writesPerRecord, 'ddbWriteRequestMillion', 1e6),
      line(`${name}: ledger reads (RRU)`, records * readsPerRecord, 'ddbReadRequestMillion', 1e6),
    ];
    const invocationsPerMonth = records / effectiveBatch;
    const gbSeconds = invocationsPerMonth * batchSeconds * (settings.memorySize / 1024);
    const lambdaLines = [
      line(`${name}: Lambda requests`, invocationsPerMonth, 'lambdaRequestMillion', 1e6),
      line(`${name}: Lambda GB-seconds (arm64)`, gbSeconds, 'lambdaArmGbSecond'),
    ];
    const requests = destinationRequests({ name, writesPerSecond: w, versionsPerAccountPerBatch: v, distinctAccountsPerBatch: distinct, itemBytes });
    return {
      name, mode, variant, batchSize: settings.batchSize, parallelizationFactor: settings.parallelizationFactor, memoryMb: settings.memorySize,
      concurrency, recordsPerSecondPerLane: perLane, effectiveBatch, distinctAccountsPerBatch: distinct, versionsPerAccountPerBatch: v,
      ledger: { writesPerRecord, readsPerRecord, lines: ledgerLines },
      lambda: { invocationsPerMonth, gbSeconds, lines: lambdaLines },
      requests,
      total: sum(ledgerLines) + sum(lambdaLines) + sum(requests.lines),
    };
  });

  const kdsDocs = 'https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html';
  const serviceQuotas = destinations.flatMap(({ requests: { perSecond, quota } }) =>
    quota === undefined ? [] : [limit(quota.name, perSecond, quota.capacity, w, false, quota.source)],
  );
  const limits: Limit[] = [
    limit(`Kinesis shard writes, bytes (${stream.shards} × 1 MiB/s)`, stream.writeBytesPerSecond, stream.shards * LIMITS.shardWriteBytesPerSecond.value, w, true, kdsDocs),
    limit(`Kinesis shard writes, records (${stream.shards} × 1,000/s)`, w, stream.shards * LIMITS.shardWriteRecordsPerSecond.value, w, true, kdsDocs),
    limit('EFO read per consumer per shard (2 MiB/s)', stream.writeBytesPerSecond / stream.shards, LIMITS.efoReadBytesPerSecondPerShard.value, w, true, LIMITS.efoReadBytesPerSecondPerShard.source),
    ...destinations.map((d) =>
      limit(`${d.name}: Lambda lane (one batch at a time per shard × factor; ${d.batchSize} records per ${batchSeconds}s)`, d.recordsPerSecondPerLane, d.batchSize / batchSeconds, w, true, 'assumed batch duration'),
    ),
    limit('Lambda concurrency, account (default 1,000)', destinations.reduce((n, d) => n + d.concurrency, 0), LIMITS.lambdaAccountConcurrency.value, w, false, LIMITS.lambdaAccountConcurrency.source, false),
    ...serviceQuotas,
  ];
  const sorted = [...limits].sort((a, b) => a.writesPerSecondAtLimit - b.writesPerSecondAtLimit || b.utilization - a.utilization);
  const bottleneck = sorted[0] as Limit;
  const perShardWrites = Math.min(LIMITS.shardWriteBytesPerSecond.value / stream.recordBytes, LIMITS.shardWriteRecordsPerSecond.value);
  const lanesPerShard = destinations.reduce((n, d) => n + d.parallelizationFactor, 0);
  const ceilings: Ceiling[] = [
    {
      name: `Lambda concurrency, account: 1,000 ÷ ${lanesPerShard} lanes per shard = ${Math.floor(LIMITS.lambdaAccountConcurrency.value / lanesPerShard)} shards`,
      writesPerSecond: Math.floor(LIMITS.lambdaAccountConcurrency.value / lanesPerShard) * perShardWrites,
      source: LIMITS.lambdaAccountConcurrency.source,
    },
    {
      name: 'on-demand stream write capacity (default 200 MiB/s, 200,000 records/s)',
      writesPerSecond: Math.min(LIMITS.onDemandStreamWriteBytesPerSecond.value / stream.recordBytes, LIMITS.onDemandStreamWriteRecordsPerSecond.value),
      source: LIMITS.onDemandStreamWriteBytesPerSecond.source,
    },
    ...serviceQuotas.map((entry) => ({ name: entry.name, writesPerSecond: entry.writesPerSecondAtLimit, source: entry.source })),
  ].sort((a, b) => a.writesPerSecond - b.writesPerSecond);

  const kinesis = config.stream.mode === 'ON_DEMAND' ? stream.onDemand.total : stream.provisioned.total;
  const cdcLines = [line('change data capture units', records * cdcUnitsPerWrite, 'ddbKdsCdcUnitMillion', 1e6)];
  const perDestination = Object.fromEntries(destinations.map((d) => [d.name, d.total]));
  const replay = replayDays > 0 ? planReplay(stream, config, w, replayDays, destinations) : null;
  return {
    inputs: { writesPerSecond: w, accounts, itemBytes, destinations: names, replayDays, batchSeconds },
    prices: { region: PRICE_REGION, checked: CHECKED, unconfirmed: unconfirmedPrices().map(({ key, line: entry }) => `${key} (${entry.status})`) },
    assumptions: [
      `record bytes ≈ 2 × item bytes + ${RECORD_METADATA_BYTES} (old and new image plus metadata) = ${stream.recordBytes} B; on-demand ingest and EFO retrieval bill it rounded up to ${stream.billedKbPerRecord} KB`,
      `a batch takes ${batchSeconds * 1000} ms of Lambda time whatever its size (ledger read + destination call + ledger write; --batch-ms)`,
      `with a ${(names[0] === undefined ? destinationDefaults() : settingsOf(config, names[0])).maxBatchingWindowSeconds} s batching window a lane's next batch holds what arrived while the previous one ran, up to batchSize`,
      'writes are spread uniformly over the accounts (no hot accounts) and arrive evenly over the month (730 h)',
      'claimed first batches (home lanes only): as if every account were new each month, its first two batches claimed: f = min(2A, records)/records (an upper bound)',
      'ledger items are under 1 KB: one item write = 1 WRU, one consistent read = 1 RRU; reads ≈ one per account per batch (1/v)',
      `stored stream data ≈ record bytes, retention ${config.stream.retentionHours} h (first 24 h included, extended to 7 days, long-term beyond)`,
      'list prices, first pricing tier, no free tier; Lambda arm64',
    ],
    streamMode: config.stream.mode,
    stream,
    cdc: { unitsPerWrite: cdcUnitsPerWrite, lines: cdcLines },
    ledgerFormula: `${INTERPOLATION_FORMULA}; v = effective batch / E[distinct accounts in it], E = A·(1 − (1 − 1/A)^batch)`,
    ledgerSource: LEDGER_SOURCE,
    destinations,
    replay,
    limits: sorted,
    bottleneck,
    ceilings,
    notModelled: [
      `OpenSearch indexing rate of ${config.destinations.search.dataNodes} × ${config.destinations.search.instanceType}: not modelled (load-test it)`,
      'OpenSearch domain, S3 storage, KMS, CloudWatch, data transfer: not modelled',
      'dead-letter SQS: ≈ $0 (only failed records; $' + `${PRICES.sqsRequestMillion.usd}/million requests)`,
      'hot accounts: one account is capped by its shard (1,000 records/s, 1 MiB/s)',
    ],
    monthly: { kinesis, cdc: sum(cdcLines), destinations: perDestination, total: kinesis + sum(cdcLines) + destinations.reduce((total, d) => total + d.total, 0) },
  };
}

function planReplay(stream: StreamPlan, config: PipelineConfig, w: number, days: number, destinations: readonly DestinationPlan[]): NonNullable<Plan['replay']> {
  const dailyGb = (w * 86_400 * stream.billedKbPerRecord * 1024) / GIB;
  const gb = dailyGb * days;
  const efo = config.stream.mode === 'ON_DEMAND' ? 'kdsOnDemandEfoRetrievalGb' : 'kdsEfoRetrievalGb';
  const lines = [line('EFO retrieval', gb, efo)];
  if (days > 7) lines.push(line('long-term retrieval (older than 7 days)', dailyGb * (days - 7), 'kdsLongTermRetrievalGb'));
  const records = w * 86_400 * days;
  const perDestinationUsd = Object.fromEntries(destinations.map((d) => [d.name, (d.total / stream.recordsPerMonth) * records]));
  const retentionDays = config.stream.retentionHours / 24;
  return {
    days, records, gb, lines, perDestinationUsd, total: sum(lines),
    ...(days > retentionDays ? { warning: `the stream keeps only ${retentionDays} days` } : {}),
  };
}
