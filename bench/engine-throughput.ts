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

/** Decode only, and one no-op destination call per batch: one whole run (`bench/profile.ts`). */
export async function runPassThrough(batches: Batches): Promise<RunResult> {
  return runWhole(passThroughContender(), batches);
}

/** Decode and `OrderingEngine.process` per batch, with a fresh in-memory ledger: one whole run. */
export async function runEngine(batches: Batches, variant: Variant): Promise<RunResult> {
  return runWhole(engineContender(variant), batches);
}

async function runWhole(contender: Contender, batches: Batches): Promise<RunResult> {
  return contender.result(
    await timed(async () => {
      for (const batch of batches) await contender.step(batch);
    }),
  );
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
  /**
   * Median over rounds of (this mode's wall time / pass-through's wall time in the same round), both summed over the
   * same interleaved chunks: the headline ratio.
   */
  readonly overheadRatio: number;
  /** pass-through's median wall time / this mode's median wall time, over whole rounds. */
  readonly overheadRatioOfMedians: number;
  /** The per-round ratio on process CPU time (median over rounds). */
  readonly cpuOverheadRatio: number;
  /** Every round's wall-time ratio: how much the machine moved it. */
  readonly roundRatios: number[];
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
  readonly chunkBatches: number;
}

/** Pass-through or one engine variant, run a chunk of batches at a time, its time summed over the chunks. */
interface Contender {
  readonly key: string;
  step(batch: Batches[number]): Promise<void>;
  result(time: { ms: number; cpuMs: number }): RunResult;
}

function passThroughContender(): Contender {
  const destination = noopDestination('pass-through', 'every-version');
  return {
    key: PASS,
    step: async (batch) => {
      await destination.deliver(decodeBatch(batch).map(asDelivery));
    },
    result: (time) => ({ ...time, counts: zeroCounts(), ledgerWrites: 0, ledgerReads: 0, deliveries: destination.deliveries, destinationCalls: destination.calls }),
  };
}

function engineContender(variant: Variant): Contender {
  const ledger = new InMemoryLedger({ destination: 'bench', epoch: 'live' });
  const { engine, destination } = makeEngine(variant, { ledger, deadLetters: noopDeadLetters }, 'bench');
  const counts = zeroCounts();
  return {
    key: variant.key,
    step: async (batch) => {
      const records = decodeBatch(batch);
      const lane = variant.homeLanes ? records[0]?.shardId : undefined;
      addCounts(counts, (await engine.process(records, lane === undefined ? {} : { lane })).counts);
    },
    result: (time) => ({ ...time, counts, ledgerWrites: ledger.store.requests.writes, ledgerReads: ledger.store.requests.reads, deliveries: destination.deliveries, destinationCalls: destination.calls }),
  };
}

const PASS = 'pass-through';

/**
 * One round: pass-through and every variant over the same batches, `chunkBatches` at a time, taking turns per chunk
 * (the order rotating, so none always follows another). A chunk lasts tens of milliseconds, so whatever else the
 * machine is doing lands on every contender alike; whole runs one after another would each meet different load.
 */
async function interleavedRound(batches: Batches, variants: readonly Variant[], chunkBatches: number): Promise<Map<string, RunResult>> {
  const contenders = [passThroughContender(), ...variants.map(engineContender)];
  const spent = contenders.map(() => ({ ms: 0, cpuMs: 0 }));
  for (let start = 0, chunk = 0; start < batches.length; start += chunkBatches, chunk += 1) {
    const slice = batches.slice(start, start + chunkBatches);
    for (let turn = 0; turn < contenders.length; turn += 1) {
      const index = (chunk + turn) % contenders.length;
      const contender = contenders[index] as Contender;
      const time = await timed(async () => {
        for (const batch of slice) await contender.step(batch);
      });
      const total = spent[index] as { ms: number; cpuMs: number };
      total.ms += time.ms;
      total.cpuMs += time.cpuMs;
    }
  }
  return new Map(contenders.map((contender, index) => [contender.key, contender.result(spent[index] as { ms: number; cpuMs: number })]));
}

/**
 * Warm-up rounds over the first `warmupFraction` of the batches, then `rounds` interleaved rounds (see
 * `interleavedRound`) over all of them; each mode's overhead is the median of its per-round ratios to pass-through.
 */
export async function measureThroughput(
  workload: ThroughputWorkload,
  options: {
    rounds: number;
    warmupRounds: number;
    warmupFraction?: number;
    /** Batches per interleaved chunk. @default 10 */
    chunkBatches?: number;
    variants?: readonly Variant[];
    log?: (line: string) => void;
  },
): Promise<ThroughputReport> {
  const variants = options.variants ?? VARIANTS;
  const chunkBatches = options.chunkBatches ?? 10;
  const records = workload.stats.records;
  const warmupBatches = Math.ceil(workload.batches.length * (options.warmupFraction ?? 1));
  for (let round = 0; round < options.warmupRounds; round += 1) {
    await interleavedRound(workload.batches.slice(0, warmupBatches), variants, chunkBatches);
    options.log?.(`  warm-up ${round + 1} done (${warmupBatches} batches)`);
  }
  const passRuns: RunResult[] = [];
  const runs = new Map<string, RunResult[]>(variants.map((variant) => [variant.key, []]));
  for (let round = 0; round < options.rounds; round += 1) {
    const results = await interleavedRound(workload.batches, variants, chunkBatches);
    const pass = results.get(PASS) as RunResult;
    passRuns.push(pass);
    const line: string[] = [`pass-through ${pass.ms.toFixed(0)} ms`];
    for (const variant of variants) {
      const result = results.get(variant.key) as RunResult;
      checkRun(variant, result, workload);
      runs.get(variant.key)?.push(result);
      line.push(`${variant.label} ${result.ms.toFixed(0)} ms (${(result.ms / pass.ms).toFixed(2)}×)`);
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
    const roundRatios = results.map((result, i) => result.ms / (passRuns[i] as RunResult).ms);
    report[variant.key] = {
      label: variant.label,
      mode: variant.mode,
      inOrderCommit: variant.inOrderCommit ?? 'per-version',
      isDefault: variant.isDefault,
      recordsPerSecond: Math.round(rps),
      overheadRatio: round(median(roundRatios), 3),
      overheadRatioOfMedians: round(passRps / rps, 3),
      cpuOverheadRatio: round(median(results.map((result, i) => result.cpuMs / (passRuns[i] as RunResult).cpuMs)), 3),
      roundRatios: roundRatios.map((ratio) => round(ratio, 3)),
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
    chunkBatches,
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
