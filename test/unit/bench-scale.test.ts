import { describe, expect, it } from 'vitest';
import { bundle, functionNodeFlags } from '../../bench/bundled';
import { PASS } from '../../bench/contenders';
import { ScaleRun, scaleRow, warmRecords } from '../../bench/scale';
import { measureScalePair, scaleNodeFlags } from '../../bench/scale-pair';
import { VARIANTS } from '../../local/engine-variants';

const inOrder = VARIANTS.find((variant) => variant.key === 'inOrderHomeLanes')!;

describe('bench (d) method', () => {
  it('times only the measured batches: the history goes through the engine first, untimed and uncounted', async () => {
    const run = new ScaleRun('cold', 50, 500, inOrder.key);
    await run.warm();
    expect(run.totals()).toMatchObject({ inputs: 0, writes: 0, cpuMicros: 0 });
    expect(await run.step(2)).toBe(false);
    expect(run.totals().inputs).toBe(200);
    while (!(await run.step(3)));
    const totals = run.totals();
    // 1% arrive twice; at most one conditional write per account per batch, every account homed by its history.
    expect(totals.inputs).toBe(505);
    expect(totals.writes).toBeGreaterThan(0);
    expect(totals.writes).toBeLessThanOrEqual(500);
    expect(await run.step(1)).toBe(true);
    expect(run.totals().inputs).toBe(505);
    expect(totals.cpuMicros).toBeGreaterThan(0);
    expect(warmRecords('cold', 50)).toBe(100);
    expect(warmRecords('hot', 50)).toBe(1_000);
  });

  it('sums a row over its passes', () => {
    const pass = { inputs: 1_000, cpuMicros: 20_000, wallMs: 25, writes: 100, peakHeapBytes: 2 * 1024 * 1024 };
    const row = scaleRow('hot', 10, 1_000, 'every-version', [pass, { ...pass, inputs: 500, cpuMicros: 16_000, wallMs: 15, peakHeapBytes: 3 * 1024 * 1024 }]);
    expect(row).toEqual({
      shape: 'hot',
      accounts: 10,
      streamRecords: 1_000,
      records: 1_500,
      variant: 'every-version',
      passes: 2,
      recordsPerSecond: 37_500,
      cpuMicrosPerRecord: 24,
      ledgerWritesPerRecord: 0.133,
      peakHeapMiB: 3,
    });
  });

  it('runs the two sizes of a row in processes of their own, each to the end of its stream', async () => {
    const child = await bundle('bench/scale-child.ts');
    try {
      const flags = scaleNodeFlags(functionNodeFlags());
      expect(flags).toContain('--max-old-space-size=4096');
      expect(flags.filter((flag) => flag.startsWith('--max-old-space-size='))).toHaveLength(1);
      const [small, large] = await measureScalePair(child, flags, { shape: 'hot', accounts: 20, variant: inOrder.key }, 1_000, 10_000, 2);
      // Strict turns of 2 batches: the small run went over its stream (11 batches, the last one short) again and again
      // while the large one (101 batches) ran once: 51 turns each.
      expect(large).toMatchObject({ streamRecords: 10_000, records: 10_100, passes: 1 });
      expect(small.passes).toBe(9);
      expect(small.records).toBe(8 * 1_010 + 6 * 100);
      expect([small.variant, large.variant]).toEqual([inOrder.label, inOrder.label]);
      // About one write per account per batch of 10 accounts × 10 versions (the copies move some batches' edges).
      expect(large.ledgerWritesPerRecord).toBeGreaterThanOrEqual(1_000 / 10_100);
      expect(large.ledgerWritesPerRecord).toBeLessThanOrEqual(0.11);
      const [pass] = await measureScalePair(child, flags, { shape: 'cold', accounts: 100, variant: PASS }, 300, 600);
      expect(pass).toMatchObject({ variant: 'pass-through (decode only)', ledgerWritesPerRecord: 0 });
      await expect(measureScalePair(child, flags, { shape: 'cold', accounts: 10, variant: 'no-such-mode' }, 10, 100)).rejects.toThrow(/no-such-mode/);
    } finally {
      child.dispose();
    }
  });
});
