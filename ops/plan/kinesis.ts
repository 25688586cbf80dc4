import { LIMITS, PRICES, type PriceKey } from './prices';

export const HOURS_PER_MONTH = 730;
export const SECONDS_PER_MONTH = HOURS_PER_MONTH * 3_600;
export const GIB = 1_073_741_824;
/** A Kinesis Data Streams for DynamoDB record: old and new image plus about this much metadata (keys, event id, times). */
export const RECORD_METADATA_BYTES = 300;
/** The PUT payload unit of a provisioned stream. */
const PUT_PAYLOAD_UNIT_BYTES = 25 * 1024;

export interface CostLine {
  readonly item: string;
  readonly quantity: number;
  readonly unit: string;
  readonly price: PriceKey;
  readonly usd: number;
}

export const line = (item: string, quantity: number, price: PriceKey, per = 1): CostLine => ({
  item,
  quantity,
  unit: PRICES[price].unit,
  price,
  usd: (quantity / per) * PRICES[price].usd,
});
export const sum = (lines: readonly CostLine[]): number => lines.reduce((total, entry) => total + entry.usd, 0);

export interface StreamPlan {
  /** 2 × item bytes + `RECORD_METADATA_BYTES`. */
  readonly recordBytes: number;
  /** What on-demand ingest and EFO retrieval bill per record: record bytes rounded up to 1 KB. */
  readonly billedKbPerRecord: number;
  readonly writeBytesPerSecond: number;
  readonly shardsForBytes: number;
  readonly shardsForRecords: number;
  readonly shards: number;
  readonly shardsLimitedBy: 'bytes' | 'records';
  readonly efoConsumers: number;
  readonly retentionHours: number;
  readonly recordsPerMonth: number;
  /** Billed (1 KB-rounded) GB ingested per month; also what each EFO consumer retrieves. */
  readonly ingestGbPerMonth: number;
  /** Stored bytes (unrounded) per day, GB. */
  readonly storedGbPerDay: number;
  /** GB-months held between 24 h and 7 days, and beyond 7 days, in steady state. */
  readonly extendedGbMonths: number;
  readonly longTermGbMonths: number;
  readonly onDemand: { readonly lines: CostLine[]; readonly total: number };
  readonly provisioned: { readonly lines: CostLine[]; readonly total: number };
}

export function planStream(writesPerSecond: number, itemBytes: number, efoConsumers: number, retentionHours: number): StreamPlan {
  const recordBytes = 2 * itemBytes + RECORD_METADATA_BYTES;
  const billedKbPerRecord = Math.ceil(recordBytes / 1024);
  const writeBytesPerSecond = writesPerSecond * recordBytes;
  const shardsForBytes = Math.ceil(writeBytesPerSecond / LIMITS.shardWriteBytesPerSecond.value);
  const shardsForRecords = Math.ceil(writesPerSecond / LIMITS.shardWriteRecordsPerSecond.value);
  const shards = Math.max(1, shardsForBytes, shardsForRecords);
  const recordsPerMonth = writesPerSecond * SECONDS_PER_MONTH;
  const ingestGbPerMonth = (recordsPerMonth * billedKbPerRecord * 1024) / GIB;
  const storedGbPerDay = (writesPerSecond * 86_400 * recordBytes) / GIB;
  const retentionDays = retentionHours / 24;
  const extendedGbMonths = storedGbPerDay * Math.min(6, Math.max(0, retentionDays - 1));
  const longTermGbMonths = storedGbPerDay * Math.max(0, retentionDays - 7);
  const retention = (lines: CostLine[]): CostLine[] =>
    longTermGbMonths > 0 ? [...lines, line('long-term retention (beyond 7 days)', longTermGbMonths, 'kdsLongTermRetentionGbMonth')] : lines;

  const onDemandLines = retention([
    line('stream-hours', HOURS_PER_MONTH, 'kdsOnDemandStreamHour'),
    line('data ingested', ingestGbPerMonth, 'kdsOnDemandIngestGb'),
    line(`EFO retrieval × ${efoConsumers} consumers`, ingestGbPerMonth * efoConsumers, 'kdsOnDemandEfoRetrievalGb'),
    ...(extendedGbMonths > 0 ? [line('extended retention (24 h–7 days)', extendedGbMonths, 'kdsOnDemandExtendedRetentionGbMonth')] : []),
  ]);
  const putUnits = recordsPerMonth * Math.ceil(recordBytes / PUT_PAYLOAD_UNIT_BYTES);
  const provisionedLines = retention([
    line(`shard-hours (${shards} shards)`, shards * HOURS_PER_MONTH, 'kdsShardHour'),
    line('PUT payload units', putUnits, 'kdsPutPayloadUnitMillion', 1e6),
    line(`EFO consumer-shard-hours (${efoConsumers} × ${shards})`, efoConsumers * shards * HOURS_PER_MONTH, 'kdsEfoConsumerShardHour'),
    line(`EFO retrieval × ${efoConsumers} consumers`, ingestGbPerMonth * efoConsumers, 'kdsEfoRetrievalGb'),
    ...(retentionHours > 24 ? [line('extended retention shard-hours', shards * HOURS_PER_MONTH, 'kdsExtendedRetentionShardHour')] : []),
  ]);
  return {
    recordBytes,
    billedKbPerRecord,
    writeBytesPerSecond,
    shardsForBytes,
    shardsForRecords,
    shards,
    shardsLimitedBy: shardsForRecords > shardsForBytes ? 'records' : 'bytes',
    efoConsumers,
    retentionHours,
    recordsPerMonth,
    ingestGbPerMonth,
    storedGbPerDay,
    extendedGbMonths,
    longTermGbMonths,
    onDemand: { lines: onDemandLines, total: sum(onDemandLines) },
    provisioned: { lines: provisionedLines, total: sum(provisionedLines) },
  };
}
