import { performance } from 'node:perf_hooks';
import type { ChangeRecord } from '../shared/change-record/change-record';
import { decodeChangeRecord, type KinesisRecordInput } from '../shared/change-record/decode';
import { InMemoryLedger } from '../shared/ledger/in-memory-ledger';
import { addCounts, zeroCounts, type EngineCounts } from '../shared/ordering/outcome';
import type { Delivery } from '../shared/ordering/ports';
import type { DeliveryMode } from '../shared/ordering/delivery-mode';
import { makeEngine, noopDeadLetters, noopDestination, VARIANTS, type InOrderCommit, type Variant } from '../local/engine-variants';
import { ACCOUNTS_TABLE, round, type ThroughputWorkload } from './workloads';

export { makeEngine, noopDeadLetters, noopDestination, VARIANTS, type InOrderCommit, type Variant } from '../local/engine-variants';

export function decodeBatch(batch: readonly KinesisRecordInput[]): ChangeRecord[] {
  const records: ChangeRecord[] = [];
  for (const input of batch) {
    const result = decodeChangeRecord(input, { tableName: ACCOUNTS_TABLE });
    if (!result.ok) throw new Error(`bench input did not decode: ${result.bad.reason}: ${result.bad.detail}`);
    records.push(result.record);
  }
  return records;
}

const asDelivery = (record: ChangeRecord): Delivery => ({ record, healed: false, replay: false, epoch: 'live' });

export interface RunResult {
  /** Wall time. */
  readonly ms: number;
  /** CPU time of this process (user + system, all threads, GC helpers included). */
  readonly cpuMs: number;
  readonly counts: EngineCounts;
  readonly ledgerWrites: number;
  readonly ledgerReads: number;
  readonly deliveries: number;
  readonly destinationCalls: number;
}

type Batches = ThroughputWorkload['batches'];

async function timed(work: () => Promise<void>): Promise<{ ms: number; cpuMs: number }> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  await work();
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return { ms, cpuMs: (used.user + used.system) / 1000 };
}

/** Decode only, and one no-op destination call per batch. */
export async function runPassThrough(batches: Batches): Promise<RunResult> {
  const destination = noopDestination('pass-through', 'every-version');
  const time = await timed(async () => {
    for (const batch of batches) await destination.deliver(decodeBatch(batch).map(asDelivery));
  });
  return { ...time, counts: zeroCounts(), ledgerWrites: 0, ledgerReads: 0, deliveries: destination.deliveries, destinationCalls: destination.calls };
}

/** Decode and `OrderingEngine.process` per batch, with a fresh in-memory ledger. */
export async function runEngine(batches: Batches, variant: Variant): Promise<RunResult> {
  const ledger = new InMemoryLedger({ destination: 'bench', epoch: 'live' });
  const { engine, destination } = makeEngine(variant, { ledger, deadLetters: noopDeadLetters }, 'bench');
  const counts = zeroCounts();
  const time = await timed(async () => {
    for (const batch of batches) {
      const records = decodeBatch(batch);
      const lane = variant.homeLanes ? records[0]?.shardId : undefined;
      const outcome = await engine.process(records, lane === undefined ? {} : { lane });
      addCounts(counts, outcome.counts);
    }
  });
  const { reads, writes } = ledger instanceof InMemoryLedger ? ledger.store.requests : { reads: 0, writes: 0 };
  return { ...time, counts, ledgerWrites: writes, ledgerReads: reads, deliveries: destination.deliveries, destinationCalls: destination.calls };
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

export interface VariantThroughput {
  readonly label: string;
  readonly mode: DeliveryMode;
  readonly inOrderCommit: InOrderCommit;
  readonly isDefault: boolean;
  /** From the median wall time. */
  readonly recordsPerSecond: number;
  /** passThroughRecordsPerSecond / recordsPerSecond (medians of wall time). */
  readonly overheadRatio: number;
  /** Median over rounds of (engine wall time / pass-through wall time of the same round): less sensitive to load drift. */
  readonly overheadRatioPairedMedian: number;
  /** The same ratio on process CPU time (medians): less sensitive to other processes on the machine. */
  readonly cpuOverheadRatio: number;
  readonly medianMs: number;
  readonly medianCpuMs: number;
  readonly runsMs: number[];
  readonly destinationCallsPerBatch: number;
  /** Per input record, as counted by the in-memory ledger (a watermark write, a parked item or an unpark each count 1). */
  readonly inMemoryLedgerWritesPerRecord: number;
  readonly inMemoryLedgerReadsPerRecord: number;
  /** What the engine reported over one run. */
  readonly counts: EngineCounts;
}

export interface ThroughputReport {
  readonly passThrough: { recordsPerSecond: number; medianMs: number; medianCpuMs: number; runsMs: number[] };
  readonly variants: Record<string, VariantThroughput>;
  readonly rounds: number;
  readonly warmupRounds: number;
  readonly warmupBatches: number;
}

/**
 * Runs pass-through and every variant round-robin (so drift, GC pauses and other load spread evenly) after warm-up
 * rounds over the first `warmupFraction` of the batches, and takes the median of each.
 */
export async function measureThroughput(
  workload: ThroughputWorkload,
  options: {
    rounds: number;
    warmupRounds: number;
    warmupFraction?: number;
    variants?: readonly Variant[];
    log?: (line: string) => void;
  },
): Promise<ThroughputReport> {
  const variants = options.variants ?? VARIANTS;
  const records = workload.stats.records;
  const warmupBatches = Math.ceil(workload.batches.length * (options.warmupFraction ?? 1));
  for (let round = 0; round < options.warmupRounds; round += 1) {
    const batches = workload.batches.slice(0, warmupBatches);
    await runPassThrough(batches);
    for (const variant of variants) await runEngine(batches, variant);
    options.log?.(`  warm-up ${round + 1} done (${warmupBatches} batches)`);
  }
  const passRuns: RunResult[] = [];
  const runs = new Map<string, RunResult[]>(variants.map((variant) => [variant.key, []]));
  for (let round = 0; round < options.rounds; round += 1) {
    const pass = await runPassThrough(workload.batches);
    passRuns.push(pass);
    const line: string[] = [`pass-through ${pass.ms.toFixed(0)} ms`];
    for (const variant of variants) {
      const result = await runEngine(workload.batches, variant);
      checkRun(variant, result, workload);
      runs.get(variant.key)?.push(result);
      line.push(`${variant.label} ${result.ms.toFixed(0)} ms`);
    }
    options.log?.(`  round ${round + 1}/${options.rounds}: ${line.join(', ')}`);
  }
  const passMs = median(passRuns.map((run) => run.ms));
  const passCpuMs = median(passRuns.map((run) => run.cpuMs));
  const passRps = (records / passMs) * 1000;
  const report: Record<string, VariantThroughput> = {};
  for (const variant of variants) {
    const results = runs.get(variant.key) ?? [];
    const ms = median(results.map((result) => result.ms));
    const cpuMs = median(results.map((result) => result.cpuMs));
    const last = results.at(-1) as RunResult;
    const rps = (records / ms) * 1000;
    report[variant.key] = {
      label: variant.label,
      mode: variant.mode,
      inOrderCommit: variant.inOrderCommit ?? 'per-version',
      isDefault: variant.isDefault,
      recordsPerSecond: Math.round(rps),
      overheadRatio: round(passRps / rps, 3),
      overheadRatioPairedMedian: round(median(results.map((result, i) => result.ms / (passRuns[i] as RunResult).ms)), 3),
      cpuOverheadRatio: round(cpuMs / passCpuMs, 3),
      medianMs: round(ms, 1),
      medianCpuMs: round(cpuMs, 1),
      runsMs: results.map((result) => round(result.ms, 1)),
      destinationCallsPerBatch: round(last.destinationCalls / workload.stats.batches, 2),
      inMemoryLedgerWritesPerRecord: round(last.ledgerWrites / records, 3),
      inMemoryLedgerReadsPerRecord: round(last.ledgerReads / records, 3),
      counts: last.counts,
    };
  }
  return {
    passThrough: {
      recordsPerSecond: Math.round(passRps),
      medianMs: round(passMs, 1),
      medianCpuMs: round(passCpuMs, 1),
      runsMs: passRuns.map((run) => round(run.ms, 1)),
    },
    variants: report,
    rounds: options.rounds,
    warmupRounds: options.warmupRounds,
    warmupBatches,
  };
}

/** Guards against measuring an engine that silently did nothing: every unique change must be accounted for. */
function checkRun(variant: Variant, result: RunResult, workload: ThroughputWorkload): void {
  const { counts } = result;
  if (counts.failed > 0) throw new Error(`${variant.label}: ${counts.failed} records failed`);
  const settled = counts.delivered + counts.duplicates + counts.stale + counts.parked - counts.unparked;
  if (variant.mode !== 'latest-state' && counts.delivered !== workload.stats.uniqueChanges) {
    throw new Error(`${variant.label}: delivered ${counts.delivered} of ${workload.stats.uniqueChanges} changes (settled ${settled})`);
  }
  if (variant.mode === 'latest-state' && counts.delivered === 0) throw new Error(`${variant.label}: delivered nothing`);
}
