import { Session } from 'node:inspector/promises';
import { runEngine, VARIANTS } from './engine-throughput';
import { throughputWorkload } from './workloads';

async function main() {
  const variant = VARIANTS.find((v) => v.key === (process.argv[2] ?? 'inOrder'))!;
  const workload = throughputWorkload();
  await runEngine(workload.batches.slice(0, 100), variant);
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  await runEngine(workload.batches, variant);
  const { profile } = (await session.post('Profiler.stop')) as any;
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const byId = new Map<number, any>(profile.nodes.map((n: any) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const name = (n: any) => `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber + 1}`;
  profile.samples.forEach((id: number, i: number) => {
    const us = profile.timeDeltas[i] ?? 0;
    const n = byId.get(id);
    self.set(name(n), (self.get(name(n)) ?? 0) + us);
    const seen = new Set<string>();
    for (let c: number | undefined = id; c !== undefined; c = parent.get(c)) {
      const k = name(byId.get(c));
      if (seen.has(k)) continue;
      seen.add(k);
      total.set(k, (total.get(k) ?? 0) + us);
    }
  });
  const records = workload.stats.records;
  const top = (m: Map<string, number>) => [...m].filter(([k]) => k.includes('ordering') || k.includes('ledger') || k.includes('garbage') || k.includes('consumer')).sort((a, b) => b[1] - a[1]).slice(0, 25).map(([k, v]) => `${(v / records).toFixed(2).padStart(7)} ${k}`).join('\n');
  console.log('SELF µs/record\n' + top(self));
  console.log('\nTOTAL µs/record\n' + top(total));
}
main();
