import { table } from './format';
import { measurePermanentGap } from './permanent-gap';

/*
 * Bench (c): the cost per batch behind a gap that never fills, per mode, as `npm run bench` prints it and as
 * `results.json` keeps it. The runs themselves are `permanent-gap.ts`.
 */

export async function permanentGapSection(log: (line: string) => void) {
  log('\n(c) A gap that never fills: 100,000 versions of one account behind missing versions 2-3, batches of 100 (+20 other accounts each)');
  const rows = [await measurePermanentGap('in-order', 'in-order (per-batch)', 10_000), await measurePermanentGap('every-version', 'every-version')];
  log(
    table(
      ['mode', 'batches', 'first batches ms', 'last batches ms', 'growth ×', 'failed', 'item bytes', 'ranges', 'drain invocations (10 s)'],
      rows.map((r) => [r.mode, r.batches, r.firstBatchesMedianMs, r.lastBatchesMedianMs, r.growth, r.failedRecords, r.watermarkItemBytes, r.rangesInItem, r.drainInvocations ?? null]),
    ),
  );
  log('first/last batches ms: median per-batch time of 20 batches after warm-up and of the last 20; growth × = last ÷ first (flat ≈ 1)');
  return {
    method: 'In-memory ledger, no-op destination. One account: version 1, then versions 4..100,003 (2 and 3 never arrive) in batches of 100, each with one version of 20 other accounts. Then (in-order) skipGap through 3 and resume until nothing is parked, each call with a 10 s deadline.',
    rows: Object.fromEntries(rows.map((r) => [r.mode, r])),
  };
}
