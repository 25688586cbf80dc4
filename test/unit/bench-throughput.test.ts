import { describe, expect, it } from 'vitest';
import { lambdaHeapFlags } from '../../bench/bundled';
import { measureThroughput, VARIANTS } from '../../bench/engine-throughput';
import { THROUGHPUT_WORKLOAD, throughputWorkload } from '../../bench/workloads';

describe('bench (a) method', () => {
  it('gives the bench child the heap Lambda gives a function: a tenth of memory young (two semi-spaces), the rest old', () => {
    expect(lambdaHeapFlags(512)).toEqual(['--max-semi-space-size=25', '--max-old-space-size=461']);
    expect(lambdaHeapFlags(128)).toEqual(['--max-semi-space-size=6', '--max-old-space-size=116']);
  });

  it('measures every mode against pass-through over the same interleaved chunks, and checks what each engine did', async () => {
    const workload = throughputWorkload({ ...THROUGHPUT_WORKLOAD, accounts: 20, versionsPerAccount: 30 });
    const lines: string[] = [];
    const report = await measureThroughput(workload, { rounds: 2, warmupRounds: 1, warmupFraction: 0.3, chunkBatches: 2, log: (line) => lines.push(line) });
    expect(Object.keys(report.variants)).toEqual(VARIANTS.map((variant) => variant.key));
    expect(report.chunkBatches).toBe(2);
    for (const variant of Object.values(report.variants)) {
      expect(variant.roundRatios).toHaveLength(2);
      expect(variant.overheadRatio).toBeGreaterThan(0);
      // Every unique change was delivered once by the modes that deliver every version (checkRun throws otherwise).
      if (variant.mode !== 'latest-state') expect(variant.counts.delivered).toBe(workload.stats.uniqueChanges);
    }
    expect(report.passThrough.runsMs).toHaveLength(2);
    expect(lines.filter((line) => line.includes('warm-up'))).toHaveLength(1);
    expect(lines.filter((line) => line.includes('round '))).toHaveLength(2);
  });
});
