import { bundle, functionNodeFlags } from './bundled';
import { PASS } from './contenders';
import { VARIANTS } from './engine-throughput';
import { table } from './format';
import type { ScaleRow, ScaleShape } from './scale';
import { measureScalePair, scaleNodeFlags } from './scale-pair';
import { round } from './workloads';

/*
 * Bench (d): per-record CPU of a small and a ten times larger stream, per shape and default mode, with the growth
 * verdict, as `npm run bench` prints it and as `results.json` keeps it. The paired runs are `scale-pair.ts` and
 * `scale-child.ts`.
 */

/** Records of the large scale run; the small one is a tenth. */
export const SCALE_RECORDS = Number(process.env.BENCH_SCALE_RECORDS ?? 1_000_000);
const SCALE_GOAL = 1.2;

export async function scaleSection(log: (line: string) => void) {
  const shapes: [ScaleShape, number][] = [['cold', 100_000], ['hot', 100]];
  const small = Math.round(SCALE_RECORDS / 10);
  log(`\n(d) Scale: ${small.toLocaleString('en-US')} and ${SCALE_RECORDS.toLocaleString('en-US')} records (+1% duplicates), generated batch by batch after two untimed rounds of history per account; cold: 100,000 accounts, one version each per batch; hot: 100 accounts, 10 versions each per batch`);
  const rows: (ScaleRow & { readonly growth: number | null })[] = [];
  const variants = [PASS, ...VARIANTS.filter((variant) => variant.isDefault).map((variant) => variant.key)];
  const child = await bundle('bench/scale-child.ts');
  try {
    for (const [shape, accounts] of shapes) {
      for (const variant of variants) {
        const [smaller, larger] = await measureScalePair(child, scaleNodeFlags(functionNodeFlags()), { shape, accounts, variant }, small, SCALE_RECORDS);
        rows.push({ ...smaller, growth: null }, { ...larger, growth: round(larger.cpuMicrosPerRecord / smaller.cpuMicrosPerRecord, 2) });
        log(`  ${shape} ${larger.variant}: ${smaller.cpuMicrosPerRecord} → ${larger.cpuMicrosPerRecord} CPU µs a record`);
      }
    }
  } finally {
    child.dispose();
  }
  log(
    table(
      ['shape', 'mode', 'stream records', 'passes', 'records/s', 'CPU µs/record', '× the smaller stream', 'ledger w/rec (mem)', 'peak heap MiB'],
      rows.map((r) => [r.shape, r.variant, r.streamRecords, r.passes, r.recordsPerSecond, r.cpuMicrosPerRecord, r.growth, r.ledgerWritesPerRecord, r.peakHeapMiB]),
    ),
  );
  const missed = rows.filter((r) => (r.growth ?? 0) > SCALE_GOAL).map((r) => `${r.shape} ${r.variant}`);
  log(`per-record CPU at ${SCALE_RECORDS.toLocaleString('en-US')} within ${SCALE_GOAL}× of ${small.toLocaleString('en-US')}: ${missed.length === 0 ? 'met' : `missed by ${missed.join(', ')}`}`);
  return {
    method:
      'In-memory ledger, no-op destination, batches of 100 generated on the fly (never the whole stream in memory); every account gets two rounds of history through the same engine first, untimed (a running pipeline), so both sizes carry the same mix of records; decode and engine timed, generation not. The two sizes of a row run in processes of their own (bundled as the functions are, a 512 MB function\'s young generation, a 4 GiB old one for the in-memory ledger) taking strict turns of a few batches, the smaller stream starting over (fresh engine and ledger, history given again) until the larger one has ended, so the machine\'s other load meets both alike. Peak heap includes the ledger and the generator, which hold per-account state.',
    goal: `CPU per record at the large run within ${SCALE_GOAL}× of the small run`,
    met: missed.length === 0,
    rows,
  };
}
