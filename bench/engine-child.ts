import { writeFileSync } from 'node:fs';
import { measureThroughput, type ThroughputReport } from './engine-throughput';
import { throughputWorkload, type ThroughputWorkload } from './workloads';

/**
 * Section (a) of `npm run bench`, in a process of its own and bundled as the functions are (see `runBundled`).
 * BENCH_ROUNDS, BENCH_WARMUP: measured and warm-up rounds.
 */
export interface EngineChildResult {
  readonly workload: Pick<ThroughputWorkload, 'options' | 'stats'>;
  readonly report: ThroughputReport;
}

async function main(): Promise<void> {
  const workload = throughputWorkload();
  const s = workload.stats;
  const log = (line: string) => console.error(line);
  log(`\n(a) Engine throughput: ${s.records.toLocaleString('en-US')} records (${s.uniqueChanges.toLocaleString('en-US')} changes of ${workload.options.accounts} accounts, ${s.duplicates} duplicates, ${s.swaps} adjacent-version swaps) in ${s.batches} batches of ${workload.options.batchSize}, ~${s.meanAccountsPerBatch} accounts per batch`);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
  const warmupRounds = Number(process.env.BENCH_WARMUP ?? 1);
  log(`    bundled as the functions are; ${warmupRounds} warm-up round(s) on 30% of the batches, then ${rounds} rounds; in each, pass-through and every mode take turns on chunks of 10 batches`);
  const report = await measureThroughput(workload, { rounds, warmupRounds, warmupFraction: 0.3, log });
  const result: EngineChildResult = { workload: { options: workload.options, stats: workload.stats }, report };
  writeFileSync(process.env.BENCH_RESULT_FILE as string, JSON.stringify(result));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
