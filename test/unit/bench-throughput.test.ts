import { describe, expect, it } from 'vitest';
import { bundle, functionNodeFlags, lambdaHeapFlags } from '../../bench/bundled';
import { ContenderProcess, saveBatches } from '../../bench/contender-process';
import { PASS } from '../../bench/contenders';
import { measureThroughput, VARIANTS } from '../../bench/engine-throughput';
import { THROUGHPUT_WORKLOAD, throughputWorkload } from '../../bench/workloads';

describe('bench (a) method', () => {
  it('gives the bench child the heap Lambda gives a function: a tenth of memory young (two semi-spaces), the rest old', () => {
    expect(lambdaHeapFlags(512)).toEqual(['--max-semi-space-size=25', '--max-old-space-size=461']);
    expect(lambdaHeapFlags(128)).toEqual(['--max-semi-space-size=6', '--max-old-space-size=116']);
  });

  it('runs a contender in a process of its own that builds the same workload and times only the batches it is given', async () => {
    const options = { ...THROUGHPUT_WORKLOAD, accounts: 10, versionsPerAccount: 20 };
    const workload = throughputWorkload(options);
    const child = await bundle('bench/engine-child.ts');
    const batches = saveBatches(workload.batches);
    const host = await ContenderProcess.start(child.file, functionNodeFlags(), VARIANTS[0]!.key, batches.file);
    try {
      const first = await host.chunk(0, 2);
      const second = await host.chunk(2, workload.batches.length);
      const result = await host.result();
      expect(result.ms).toBeCloseTo(first.ms + second.ms, 6);
      // Every unique change went through that process's engine once (its own ledger, fresh at the start).
      expect(result.counts.delivered).toBe(workload.stats.uniqueChanges);
      await host.reset();
      expect((await host.result()).counts.delivered).toBe(0);
    } finally {
      host.close();
      batches.dispose();
      child.dispose();
    }
  });

  it('refuses an unknown contender, and a contender already closed', async () => {
    const child = await bundle('bench/engine-child.ts');
    const batches = saveBatches(throughputWorkload({ ...THROUGHPUT_WORKLOAD, accounts: 5, versionsPerAccount: 5 }).batches);
    try {
      await expect(ContenderProcess.start(child.file, functionNodeFlags(), 'no-such-mode', batches.file)).rejects.toThrow(/no-such-mode/);
      const host = await ContenderProcess.start(child.file, functionNodeFlags(), PASS, batches.file);
      host.close();
      await expect(host.chunk(0, 1)).rejects.toThrow(/pass-through/);
    } finally {
      batches.dispose();
      child.dispose();
    }
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
    // Every round in fresh processes, each warmed up first.
    expect(report.processes).toBe(2 * (VARIANTS.length + 1));
    expect(lines.filter((line) => line.includes(`fresh processes, warmed up on ${report.warmupBatches} batches`))).toHaveLength(2);
  });
});
