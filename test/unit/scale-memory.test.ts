import { describe, expect, it } from 'vitest';
import { bundle, functionNodeFlags } from '../../bench/bundled';
import { PASS } from '../../bench/contenders';
import { ScaleRun, type ScaleTotals } from '../../bench/scale';
import { RETAINED_SLACK_MIB, retainedVerdict, scaleRetained, type ScaleRetained } from '../../bench/scale-memory';
import { measureScalePair, scaleNodeFlags } from '../../bench/scale-pair';

const MIB = 1024 * 1024;
const pass = (all: number, ledgerTwin: number, generator: number): ScaleTotals => ({
  inputs: 1_000,
  cpuMicros: 20_000,
  wallMs: 25,
  writes: 100,
  peakHeapBytes: 0,
  retained: { all: all * MIB, ledgerTwin: ledgerTwin * MIB, generator: generator * MIB, other: (all - ledgerTwin - generator) * MIB },
});
const beyond = (mib: number | null): ScaleRetained => ({
  retainedAfterGcMiB: mib === null ? null : mib + 100,
  retainedLedgerTwinMiB: mib === null ? null : 100,
  retainedBeyondLedgerTwinMiB: mib,
  retainedGeneratorMiB: null,
  retainedOtherMiB: null,
});

describe('bench (d) retained heap', () => {
  it('reports the pass that kept the most, split into the ledger twin and what is beyond it', () => {
    expect(scaleRetained([pass(100, 80, 15), pass(120, 95, 20), pass(110, 90, 15)])).toEqual({
      retainedAfterGcMiB: 120,
      retainedLedgerTwinMiB: 95,
      retainedBeyondLedgerTwinMiB: 25,
      retainedGeneratorMiB: 20,
      retainedOtherMiB: 5,
    });
  });

  it('is not measured when no pass has ended with a measurement', () => {
    const { retained: _, ...unmeasured } = pass(1, 1, 0);
    expect(scaleRetained([unmeasured])).toEqual({
      retainedAfterGcMiB: null,
      retainedLedgerTwinMiB: null,
      retainedBeyondLedgerTwinMiB: null,
      retainedGeneratorMiB: null,
      retainedOtherMiB: null,
    });
  });

  it('judges the heap beyond the ledger twin: within the goal, or within the slack', () => {
    expect(retainedVerdict(beyond(20), beyond(23), 1.2)).toEqual({ growth: 1.15, met: true });
    // Grown with the stream: 1.5 times as much and 10 MiB more.
    expect(retainedVerdict(beyond(20), beyond(30), 1.2)).toEqual({ growth: 1.5, met: false });
    expect(retainedVerdict(beyond(20), beyond(24.5), 1.2)).toEqual({ growth: 1.23, met: false });
    // A few hundred KiB of code on a small heap is not growth with the stream; a whole slack more is.
    expect(retainedVerdict(beyond(1), beyond(1.6), 1.2)).toEqual({ growth: 1.6, met: true });
    expect(retainedVerdict(beyond(1), beyond(1 + RETAINED_SLACK_MIB), 1.2).met).toBe(false);
    // The ledger twin is not judged (it grows with each account's versions until its lists are capped).
    expect(retainedVerdict({ ...beyond(20), retainedLedgerTwinMiB: 50 }, { ...beyond(20), retainedLedgerTwinMiB: 200 }, 1.2).met).toBe(true);
    expect(retainedVerdict(beyond(null), beyond(20), 1.2)).toEqual({ growth: null, met: null });
  });

  it('measures nothing in a process without --expose-gc, and still runs to the end of the stream', async () => {
    const run = new ScaleRun('cold', 50, 500, 'everyVersion');
    await run.warm();
    while (!(await run.step(3)));
    const totals = run.totals();
    expect(totals.retained).toBeUndefined();
    expect(totals.inputs).toBe(505);
    expect(totals.writes).toBeGreaterThan(0);
    expect(await run.step(1)).toBe(true);
    expect(run.totals().writes).toBe(totals.writes);
  });

  it('measures the retained heap in the bench children, the ledger twin apart', async () => {
    const child = await bundle('bench/scale-child.ts');
    try {
      const flags = scaleNodeFlags(functionNodeFlags());
      expect(flags).toContain('--expose-gc');
      const [small, large] = await measureScalePair(child, flags, { shape: 'cold', accounts: 5_000, variant: 'everyVersion' }, 5_000, 20_000, 20);
      for (const row of [small, large]) {
        expect(row.retainedAfterGcMiB).toBeGreaterThan(0);
        // 5,000 watermarks of about a KiB each, and the generator's 5,000 images.
        expect(row.retainedLedgerTwinMiB).toBeGreaterThan(1);
        expect(row.retainedGeneratorMiB).toBeGreaterThan(0.3);
        expect(row.retainedAfterGcMiB).toBeCloseTo((row.retainedLedgerTwinMiB ?? 0) + (row.retainedBeyondLedgerTwinMiB ?? 0), 0);
      }
      expect(retainedVerdict(small, large, 1.2).met).toBe(true);
      const [pass] = await measureScalePair(child, flags, { shape: 'cold', accounts: 100, variant: PASS }, 300, 600);
      // Decoding alone keeps no ledger.
      expect(pass.retainedLedgerTwinMiB).toBeLessThan(0.5);
    } finally {
      child.dispose();
    }
  });
});
