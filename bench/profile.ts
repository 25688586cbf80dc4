/**
 * Where an engine mode spends its time: `npx tsx bench/profile.ts [variant...]` (keys of VARIANTS, e.g. inOrder;
 * default all). Not part of `npm run bench`.
 *
 * 1. Times each mode with `InMemoryLedger`, CPU time and wall time, median of 3 rounds, against decode-only
 *    pass-through.
 * 2. Profiles one run of each with the V8 CPU profiler and attributes each sample to the nearest project frame on
 *    its stack: decoding (and the bench loop around it), the in-memory ledger, the engine, GC, or the rest.
 */
import { Session } from 'node:inspector/promises';
import { runEngine, runPassThrough, VARIANTS, type RunResult } from './engine-throughput';
import { table } from './format';
import { round, throughputWorkload } from './workloads';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const CATEGORIES: [string, (url: string) => boolean][] = [
  ['decode + bench loop', (url) => url.includes('/shared/change-record/') || url.includes('/util-dynamodb/') || url.includes('/bench/')],
  ['in-memory ledger', (url) => url.includes('/shared/ledger/')],
  ['engine (shared/ordering)', (url) => url.includes('/shared/ordering/')],

];

function categorise(profile: Profile): Map<string, number> {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const totals = new Map<string, number>();
  const add = (key: string, us: number) => totals.set(key, (totals.get(key) ?? 0) + us);
  profile.samples.forEach((id, index) => {
    const us = profile.timeDeltas[index] ?? 0;
    const self = byId.get(id);
    const name = self?.callFrame.functionName ?? '';
    if (name === '(garbage collector)') return add('garbage collector', us);
    if (name === '(idle)' || name === '(program)') return add(name, us);
    for (let cursor: number | undefined = id; cursor !== undefined; cursor = parent.get(cursor)) {
      const url = byId.get(cursor)?.callFrame.url ?? '';
      const category = CATEGORIES.find(([, test]) => test(url));
      if (category) return add(category[0], us);
    }
    add('other (event loop, promises, timers)', us);
  });
  return totals;
}

async function profiled<T>(session: Session, work: () => Promise<T>): Promise<{ result: T; totals: Map<string, number> }> {
  await session.post('Profiler.start');
  const result = await work();
  const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: Profile };
  return { result, totals: categorise(profile) };
}

const median = (values: number[]): number => values.sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

async function main(): Promise<void> {
  const keys = process.argv.slice(2);
  const variants = VARIANTS.filter((variant) => keys.length === 0 || keys.includes(variant.key));
  const workload = throughputWorkload();
  const records = workload.stats.records;
  const warmup = workload.batches.slice(0, Math.ceil(workload.batches.length * 0.3));
  await runPassThrough(warmup);
  for (const variant of variants) await runEngine(warmup, variant);

  const times = new Map<string, RunResult[]>();
  const push = (key: string, result: RunResult) => times.set(key, [...(times.get(key) ?? []), result]);
  for (let round = 0; round < 3; round += 1) {
    push('pass-through', await runPassThrough(workload.batches));
    for (const variant of variants) {
      push(variant.label, await runEngine(workload.batches, variant));
    }
  }
  const pass = times.get('pass-through') ?? [];
  const passMs = median(pass.map((r) => r.ms));
  const passCpu = median(pass.map((r) => r.cpuMs));
  console.log(
    table(
      ['run', 'median ms', 'wall ×', 'median CPU ms', 'CPU ×', 'µs/record over pass-through (CPU)'],
      [...times].map(([key, results]) => {
        const ms = median(results.map((r) => r.ms));
        const cpu = median(results.map((r) => r.cpuMs));
        return [key, round(ms, 0), round(ms / passMs, 2), round(cpu, 0), round(cpu / passCpu, 2), round(((cpu - passCpu) * 1000) / records, 1)];
      }),
    ),
  );

  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  const passProfile = await profiled(session, () => runPassThrough(workload.batches));
  for (const variant of variants) {
    const engine = await profiled(session, () => runEngine(workload.batches, variant));
    const categories = [...new Set([...engine.totals.keys(), ...passProfile.totals.keys()])];
    const perRecord = (totals: Map<string, number>, key: string) => (totals.get(key) ?? 0) / records;
    const sum = (totals: Map<string, number>) => [...totals.values()].reduce((a, b) => a + b, 0) / records;
    const totalExtra = sum(engine.totals) - sum(passProfile.totals);
    console.log(`\n${variant.label} (InMemoryLedger), profiled: sampled µs per record, engine run vs pass-through run`);
    console.log(
      table(
        ['where (nearest project frame on the stack)', 'pass-through', 'engine', 'extra', 'share of extra'],
        categories
          .map((key): [string, number, number, number, string] => {
            const extra = perRecord(engine.totals, key) - perRecord(passProfile.totals, key);
            return [key, round(perRecord(passProfile.totals, key), 2), round(perRecord(engine.totals, key), 2), round(extra, 2), `${((100 * extra) / totalExtra).toFixed(0)}%`];
          })
          .sort((a, b) => b[3] - a[3]),
      ),
    );
  }
  session.disconnect();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
