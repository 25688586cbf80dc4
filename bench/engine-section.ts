import { measureThroughput, type ThroughputReport } from './engine-throughput';
import { table } from './format';
import { throughputWorkload, type ThroughputWorkload } from './workloads';

/*
 * Bench (a): engine throughput against decode-only pass-through, with the goal's verdict, as `npm run bench` prints it
 * and as `results.json` keeps it. The measurement itself (processes, rounds, interleaved chunks) is
 * `engine-throughput.ts`.
 */

const GOAL_OVERHEAD = 1.2;
// Nine: each round has fresh processes, and a round's ratio moves by ±0.1 on this shared machine.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 1);

export async function engineSection(log: (line: string) => void) {
  const workload = throughputWorkload();
  const s = workload.stats;
  log(`\n(a) Engine throughput: ${s.records.toLocaleString('en-US')} records (${s.uniqueChanges.toLocaleString('en-US')} changes of ${workload.options.accounts} accounts, ${s.duplicates} duplicates, ${s.swaps} adjacent-version swaps) in ${s.batches} batches of ${workload.options.batchSize}, ~${s.meanAccountsPerBatch} accounts per batch`);
  log(`    each contender in a process of its own, bundled as the functions are; ${ROUNDS} rounds, each in fresh processes warmed up with ${WARMUP} round(s) over all the batches; in each, pass-through and every mode take turns on chunks of 10 batches`);
  // Warmed up over the whole workload, as a function that has run a while is: with 30% of it, the in-order modes read
  // about 0.05 higher (their larger code was still being optimized when the clock started; every-version 0.01).
  const report = await measureThroughput(workload, { rounds: ROUNDS, warmupRounds: WARMUP, warmupFraction: 1, log });
  const variants = Object.entries(report.variants);
  const defaults = variants.filter(([, v]) => v.isDefault);
  const [worstKey, worst] = defaults.reduce((a, b) => (b[1].recordsPerSecond < a[1].recordsPerSecond ? b : a));
  // The goal is the modes' (as bench (b)'s is): every-version, latest-state, destination-enforced and in-order, each
  // at its default settings. The opt-in in-order settings are reported beside it, measured the same way: what they
  // add is what they are for (a second write per account where no lane is given, a call and a commit per version),
  // and the README says where it goes.
  const judged = variants.filter(([, v]) => isJudged(v));
  const missed = judged.filter(([, v]) => v.overheadRatio > GOAL_OVERHEAD).map(([, v]) => v.label);
  const optInOver = variants.filter(([, v]) => !isJudged(v) && v.overheadRatio > GOAL_OVERHEAD).map(([, v]) => v.label);
  log('');
  log(
    table(
      ['mode', 'records/s', 'overhead ×', 'of medians ×', 'CPU ×', 'median ms', 'dest calls/batch', 'ledger w/rec (mem)', 'delivered', 'healed', 'duplicates', 'stale', 'parked'],
      [
        ['pass-through (decode only)', report.passThrough.recordsPerSecond, 1, 1, 1, report.passThrough.medianMs, 1, null, null, null, null, null, null],
        ...variants.map(([, v]) => [
          `${v.label}${v.isDefault ? '' : ' [opt-in]'}`,
          v.recordsPerSecond,
          v.overheadRatio,
          v.overheadRatioOfMedians,
          v.cpuOverheadRatio,
          v.medianMs,
          v.destinationCallsPerBatch,
          v.inMemoryLedgerWritesPerRecord,
          v.counts.delivered,
          v.counts.healed,
          v.counts.duplicates,
          v.counts.stale,
          v.counts.parked,
        ]),
      ],
    ),
  );
  log('overhead × = median over rounds of mode wall time ÷ pass-through wall time in the same round (same interleaved chunks); of medians × = ratio of median wall times; CPU × = the per-round ratio on process CPU time');
  log(`worst default mode: ${worst.label}, ${worst.overheadRatio}× pass-through (goal ≤ ${GOAL_OVERHEAD}× for every mode, destination-enforced included, at its default settings: ${missed.length === 0 ? 'met' : `missed by ${missed.join(', ')}`}); opt-in settings over ${GOAL_OVERHEAD}×: ${optInOver.length === 0 ? 'none' : optInOver.join(', ')}`);
  return engineJson(workload, report, worstKey, missed, optInOver);
}

/** Whether the goal covers a variant: a mode at its default settings (destination-enforced is a mode of its own). */
export function isJudged(variant: { readonly isDefault: boolean; readonly destinationEnforced?: boolean; readonly label: string }): boolean {
  // Recordings before `destinationEnforced` was kept name the mode in the label.
  return variant.isDefault || variant.destinationEnforced === true || variant.label.includes('destination-enforced');
}

function engineJson(workload: ThroughputWorkload, report: ThroughputReport, worstKey: string, missed: string[], optInOver: string[]) {
  const worst = report.variants[worstKey];
  if (!worst) throw new Error('no engine result');
  return {
    recordsPerSecond: worst.recordsPerSecond,
    passThroughRecordsPerSecond: report.passThrough.recordsPerSecond,
    overheadRatio: worst.overheadRatio,
    worstMode: worst.label,
    worstModeNote: 'recordsPerSecond and overheadRatio are those of the slowest mode at default settings',
    goal: { maxOverheadRatio: GOAL_OVERHEAD, of: 'every mode (every-version, latest-state, destination-enforced, in-order) at its default settings', met: missed.length === 0, missedBy: missed },
    optInOverGoal: optInOver,
    method:
      'Per batch: decodeChangeRecord on every base64 Kinesis record, then (pass-through) one no-op Destination.deliver call, or (engine) OrderingEngine.process with a fresh InMemoryLedger per run, a no-op destination and dead-letter queue; the no-op destination answers on a later turn of the event loop, as a call over the network does. Batches sequential per contender, like one Lambda per shard. Each contender runs in a process of its own (bundled as the functions are, with the heap of a 512 MB function), fresh every round and warmed up on one pass over all the batches (steady state, as in a function that has run a while); each round runs pass-through and every mode over the same batches, taking turns on chunks of 10 batches (order rotating per chunk), so load from elsewhere on the machine lands on all of them alike; overheadRatio = median over rounds of (mode wall time / pass-through wall time of that round); recordsPerSecond from the median wall time.',
    workload: { ...workload.options, ...workload.stats },
    rounds: report.rounds,
    warmupRounds: report.warmupRounds,
    warmupBatches: report.warmupBatches,
    passThrough: report.passThrough,
    modes: report.variants,
    profileCommand: 'npx tsx bench/profile.ts [everyVersion|latestState|inOrder|inOrderPerBatch]: where the time goes, and the same runs without the in-memory ledger copies',
  };
}
