import { bundle, functionNodeFlags } from './bundled';
import { PASS } from './contenders';
import { VARIANTS } from './engine-throughput';
import { table } from './format';
import type { ScaleShape } from './scale';
import { RETAINED_SLACK_MIB, retainedVerdict } from './scale-memory';
import { measureScalePair, scaleNodeFlags, type ScalePairRow } from './scale-pair';
import { round } from './workloads';

/*
 * Bench (d): per-record CPU of a small and a ten times larger stream, per shape and default mode, with the growth
 * verdict, and the heap each keeps after a full collection with the memory verdict, as `npm run bench` prints them and
 * as `results.json` keeps them. The paired runs are `scale-pair.ts` and `scale-child.ts`.
 */

/** Records of the large scale run; the small one is a tenth. */
export const SCALE_RECORDS = Number(process.env.BENCH_SCALE_RECORDS ?? 1_000_000);
const SCALE_GOAL = 1.2;
/** The larger stream's heap retained beyond the ledger twin, over the smaller's (`retainedVerdict`). */
const RETAINED_GOAL = 1.2;

type SectionRow = ScalePairRow & {
  /** CPU per record over the smaller stream's (null on the smaller stream's row). */
  readonly growth: number | null;
  /** `retainedBeyondLedgerTwinMiB` over the smaller stream's (null on its row, and when not measured). */
  readonly retainedGrowth: number | null;
  /** The memory verdict of the pair (null on the smaller stream's row, and when not measured). */
  readonly retainedMet: boolean | null;
};

export async function scaleSection(log: (line: string) => void) {
  const shapes: [ScaleShape, number][] = [['cold', 100_000], ['hot', 100]];
  const small = Math.round(SCALE_RECORDS / 10);
  log(`\n(d) Scale: ${small.toLocaleString('en-US')} and ${SCALE_RECORDS.toLocaleString('en-US')} records (+1% duplicates), generated batch by batch after two untimed rounds of history per account; cold: 100,000 accounts, one version each per batch; hot: 100 accounts, 10 versions each per batch`);
  const rows: SectionRow[] = [];
  const variants = [PASS, ...VARIANTS.filter((variant) => variant.isDefault).map((variant) => variant.key)];
  const child = await bundle('bench/scale-child.ts');
  try {
    for (const [shape, accounts] of shapes) {
      for (const variant of variants) {
        const [smaller, larger] = await measureScalePair(child, scaleNodeFlags(functionNodeFlags()), { shape, accounts, variant }, small, SCALE_RECORDS);
        const retained = retainedVerdict(smaller, larger, RETAINED_GOAL);
        rows.push(
          { ...smaller, growth: null, retainedGrowth: null, retainedMet: null },
          { ...larger, growth: round(larger.cpuMicrosPerRecord / smaller.cpuMicrosPerRecord, 2), retainedGrowth: retained.growth, retainedMet: retained.met },
        );
        log(
          `  ${shape} ${larger.variant}: ${smaller.cpuMicrosPerRecord} → ${larger.cpuMicrosPerRecord} CPU µs a record; ` +
            `${smaller.retainedAfterGcMiB ?? 'n/a'} → ${larger.retainedAfterGcMiB ?? 'n/a'} MiB retained after a full GC, of which beyond the ledger twin ${smaller.retainedBeyondLedgerTwinMiB ?? 'n/a'} → ${larger.retainedBeyondLedgerTwinMiB ?? 'n/a'}`,
        );
      }
    }
  } finally {
    child.dispose();
  }
  log(
    table(
      ['shape', 'mode', 'stream records', 'passes', 'records/s', 'CPU µs/record', '× the smaller stream', 'ledger w/rec (mem)'],
      rows.map((r) => [r.shape, r.variant, r.streamRecords, r.passes, r.recordsPerSecond, r.cpuMicrosPerRecord, r.growth, r.ledgerWritesPerRecord]),
    ),
  );
  const missed = rows.filter((r) => (r.growth ?? 0) > SCALE_GOAL).map((r) => `${r.shape} ${r.variant}`);
  log(`per-record CPU at ${SCALE_RECORDS.toLocaleString('en-US')} within ${SCALE_GOAL}× of ${small.toLocaleString('en-US')}: ${missed.length === 0 ? 'met' : `missed by ${missed.join(', ')}`}`);
  log('\nheap, MiB: retained after a full GC at the end of the stream (in all; freed by dropping the engine and its in-memory ledger twin; the rest: the generator, and what is left), and the peak sampled during the run (garbage included)');
  log(
    table(
      ['shape', 'mode', 'stream records', 'retained', 'ledger twin', 'beyond it', '× the smaller stream', 'generator', 'left', 'peak incl. garbage'],
      rows.map((r) => [r.shape, r.variant, r.streamRecords, r.retainedAfterGcMiB, r.retainedLedgerTwinMiB, r.retainedBeyondLedgerTwinMiB, r.retainedGrowth, r.retainedGeneratorMiB, r.retainedOtherMiB, r.peakHeapMiB]),
    ),
  );
  const pairs = rows.filter((r) => r.growth !== null);
  const memoryMet = pairs.every((r) => r.retainedMet === true) ? true : pairs.some((r) => r.retainedMet === false) ? false : null;
  const memoryMissed = pairs.filter((r) => r.retainedMet === false).map((r) => `${r.shape} ${r.variant}`);
  log(
    `heap retained beyond the ledger twin at ${SCALE_RECORDS.toLocaleString('en-US')} within ${RETAINED_GOAL}× (or ${RETAINED_SLACK_MIB} MiB) of ${small.toLocaleString('en-US')}: ` +
      (memoryMet === true ? 'met' : memoryMet === false ? `missed by ${memoryMissed.join(', ')}` : 'not measured (no --expose-gc)'),
  );
  return {
    method:
      'In-memory ledger, no-op destination, batches of 100 generated on the fly (never the whole stream in memory); every account gets two rounds of history through the same engine first, untimed (a running pipeline), so both sizes carry the same mix of records; decode and engine timed, generation not. The two sizes of a row run in processes of their own (bundled as the functions are, a 512 MB function\'s young generation, a 4 GiB old one for the in-memory ledger) taking strict turns of a few batches, the smaller stream starting over (fresh engine and ledger, history given again) until the larger one has ended, so the machine\'s other load meets both alike. Memory: retainedAfterGcMiB is heapUsed after a full collection at the end of each stream (after its last timed batch, so untimed; not during it, where forced collections made the large run\'s batches dearer), above the child\'s heap before any history, from the pass that kept the most; the run then drops its engine with its in-memory ledger twin (retainedLedgerTwinMiB: the watermark of every account, which grows with the accounts and with each account\'s versions until its capped lists are full; a function\'s ledger is in DynamoDB) and then its generator (retainedGeneratorMiB: the last image of every account), collecting after each; retainedOtherMiB is what is left. The memory verdict judges retainedBeyondLedgerTwinMiB (generator + left). peakHeapMiB is heapUsed sampled every 200 batches, garbage included, above the heap after the history: with a 4 GiB old generation it follows V8\'s collection schedule, not what is kept.',
    goal: `CPU per record at the large run within ${SCALE_GOAL}× of the small run`,
    met: missed.length === 0,
    memoryGoal: `heap retained after a full collection beyond the in-memory ledger twin at the end of the large run within ${RETAINED_GOAL}× (or ${RETAINED_SLACK_MIB} MiB) of the small run's, over the same accounts`,
    memoryMet,
    rows,
  };
}
