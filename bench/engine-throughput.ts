import type { EngineCounts } from '../shared/ordering/outcome';
import type { DeliveryMode } from '../shared/ordering/delivery-mode';
import { VARIANTS, type InOrderCommit, type Variant } from '../local/engine-variants';
import { round, type ThroughputWorkload } from './workloads';
import { bundle, functionNodeFlags } from './bundled';
import { ContenderProcess, saveBatches } from './contender-process';
import { PASS, type RunResult } from './contenders';

export { makeEngine, noopDeadLetters, noopDestination, VARIANTS, type InOrderCommit, type Variant } from '../local/engine-variants';
export { decodeBatch, runEngine, runPassThrough, type RunResult } from './contenders';

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
  /** The destination-enforced mode (opt-in, but a mode of its own: the goal covers it). */
  readonly destinationEnforced: boolean;
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
  /** Contender processes started: one per contender per round. */
  readonly processes: number;
}

/**
 * One round: pass-through and every variant over the same batches, `chunkBatches` at a time, taking turns per chunk
 * (the order rotating, so none always follows another). A chunk lasts tens of milliseconds, so whatever else the
 * machine is doing lands on every contender alike; whole runs one after another would each meet different load. Each
 * contender is a process of its own (`ContenderProcess`), and starts the round with a fresh engine and ledger.
 */
async function interleavedRound(hosts: readonly ContenderProcess[], batches: number, chunkBatches: number): Promise<Map<string, RunResult>> {
  await Promise.all(hosts.map((host) => host.reset()));
  for (let start = 0, chunk = 0; start < batches; start += chunkBatches, chunk += 1) {
    const end = Math.min(batches, start + chunkBatches);
    for (let turn = 0; turn < hosts.length; turn += 1) await (hosts[(chunk + turn) % hosts.length] as ContenderProcess).chunk(start, end);
  }
  const results = await Promise.all(hosts.map((host) => host.result()));
  return new Map(hosts.map((host, index) => [host.key, results[index] as RunResult]));
}

/**
 * `rounds` rounds, each with fresh contender processes (see `ContenderProcess`): `warmupRounds` interleaved rounds over
 * the first `warmupFraction` of the batches, then one over all of them (see `interleavedRound`), which is measured.
 * Each mode's overhead is the median of its per-round ratios to pass-through. Fresh processes every round, because a
 * process keeps what it settled into (where its heap and code landed, what V8 decided early): one process for all
 * rounds gave a contender the same few per cent of luck in every round, which the median cannot see.
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
  const child = await bundle('bench/engine-child.ts');
  const batches = saveBatches(workload.batches);
  try {
    return await measureWith(workload, options, async (keys) => {
      const hosts: ContenderProcess[] = [];
      try {
        // One after another: two cores are better spent loading one at a time.
        for (const key of keys) hosts.push(await ContenderProcess.start(child.file, functionNodeFlags(), key, batches.file));
      } catch (error) {
        for (const host of hosts) host.close();
        throw error;
      }
      return hosts;
    });
  } finally {
    batches.dispose();
    child.dispose();
  }
}

async function measureWith(
  workload: ThroughputWorkload,
  options: Parameters<typeof measureThroughput>[1],
  start: (keys: readonly string[]) => Promise<ContenderProcess[]>,
): Promise<ThroughputReport> {
  const variants = options.variants ?? VARIANTS;
  const keys = [PASS, ...variants.map((variant) => variant.key)];
  const chunkBatches = options.chunkBatches ?? 10;
  const records = workload.stats.records;
  const warmupBatches = Math.ceil(workload.batches.length * (options.warmupFraction ?? 1));
  let processes = 0;
  const measured = async (): Promise<Map<string, RunResult>> => {
    const hosts = await start(keys);
    processes += hosts.length;
    try {
      for (let round = 0; round < options.warmupRounds; round += 1) await interleavedRound(hosts, warmupBatches, chunkBatches);
      return await interleavedRound(hosts, workload.batches.length, chunkBatches);
    } finally {
      for (const host of hosts) host.close();
    }
  };
  const passRuns: RunResult[] = [];
  const runs = new Map<string, RunResult[]>(variants.map((variant) => [variant.key, []]));
  for (let round = 0; round < options.rounds; round += 1) {
    const results = await measured();
    const pass = results.get(PASS) as RunResult;
    passRuns.push(pass);
    const line: string[] = [`pass-through ${pass.ms.toFixed(0)} ms`];
    for (const variant of variants) {
      const result = results.get(variant.key) as RunResult;
      checkRun(variant, result, workload);
      runs.get(variant.key)?.push(result);
      line.push(`${variant.label} ${result.ms.toFixed(0)} ms (${(result.ms / pass.ms).toFixed(2)}×)`);
    }
    options.log?.(`  round ${round + 1}/${options.rounds} (fresh processes, warmed up on ${warmupBatches} batches): ${line.join(', ')}`);
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
      destinationEnforced: variant.destinationEnforced === true,
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
    processes,
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
