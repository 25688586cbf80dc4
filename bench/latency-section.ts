import { cpus } from 'node:os';
import { DESTINATION_NAMES } from '../infra/config/pipeline-config';
import { WARM_UP_MS } from '../local/pipeline/delivery-latency';
import { table } from './format';
import { LATENCY_TARGETS, measureLatency, type LatencyReport } from './latency';
import type { StageBreakdown } from '../local/pipeline/stage-clock';

/*
 * Bench (e): commit → delivery latency of short local pipeline runs, one per batching window, with the stage
 * breakdown, the targets' verdict and each window's trade-off (latency against ledger writes), as `npm run bench`
 * prints it. The runs themselves are `latency.ts`.
 */

/** Operations per run of (e), after the accounts are opened (`npm start -- --changes`). */
const LATENCY_CHANGES = Number(process.env.BENCH_LATENCY_CHANGES ?? 300);
const LATENCY_RATE = 10;
const LATENCY_WINDOWS = [0, 1] as const;

/** The stages in the order the work happens, as `stage-clock.ts` times them. */
const STAGES = ['streamRead', 'kinesisPut', 'efoPush', 'batchWait', 'ledgerRead', 'destinationWrite', 'total', 'withoutEfoPush', 'samples'] as const;
const STAGE_COLUMNS = ['destination', 'window s', 'stream read', 'Kinesis put', 'EFO push', 'batch wait', 'ledger read', 'destination write', 'total', 'w/o EFO push', 'samples'];

function stageRow(name: string, window: string, stages: Omit<StageBreakdown, 'slowest'> | null | undefined): (string | number | null)[] {
  return [name, Number(window), ...STAGES.map((stage) => stages?.[stage] ?? null)];
}

export async function latencySection(log: (line: string) => void): Promise<LatencyReport | { skipped: string } | { error: string }> {
  if (process.env.BENCH_LATENCY === '0') {
    log('\n(e) Latency: skipped (BENCH_LATENCY=0)');
    return { skipped: 'BENCH_LATENCY=0' };
  }
  log(
    `\n(e) Latency: short local pipeline runs (npm start -- --rate ${LATENCY_RATE} --changes ${LATENCY_CHANGES}, its other defaults), ` +
      `one per batching window (${LATENCY_WINDOWS.join(' s and ')} s for every destination), fresh emulators each`,
  );
  let report: LatencyReport;
  try {
    report = await measureLatency({ changes: LATENCY_CHANGES, rate: LATENCY_RATE, windowsSeconds: LATENCY_WINDOWS, log });
  } catch (error) {
    // The other sections' results are still written.
    const message = error instanceof Error ? error.message : String(error);
    log(`    FAILED: ${message}`);
    return { error: message };
  }
  const windows = Object.entries(report.windows);
  const rows = windows.flatMap(([window, destinations]) => Object.entries(destinations).map(([name, d]) => ({ window, name, d })));
  const order = (name: string) => (DESTINATION_NAMES as readonly string[]).indexOf(name);
  rows.sort((a, b) => order(a.name) - order(b.name) || Number(a.window) - Number(b.window));
  log('');
  log(
    table(
      ['destination', 'window s', 'p50 ms', 'p95 ms', 'p99 ms', 'p50 w/o EFO push', 'warm samples', 'ledger w/rec', 'ledger w/change'],
      rows.map(({ window, name, d }) => [name, Number(window), d.p50, d.p95, d.p99, d.withoutEfoPushP50, d.samples, d.ledger?.writesPerRecord ?? null, d.ledger?.writesPerChange ?? null]),
    ),
  );
  log(`\nstages (median ms of the warm changes; EFO push: kinesis-mock pushes once a second, AWS about every 70 ms; ledger read: invocation → the batch's watermarks)`);
  log(table(STAGE_COLUMNS, rows.map(({ window, name, d }) => stageRow(name, window, d.stages))));
  log(`\nstages of the slowest 5% (median ms of those changes): where the p95/p99 tail spends its time`);
  log(table(STAGE_COLUMNS, rows.map(({ window, name, d }) => stageRow(name, window, d.stages?.slowest))));
  const runs = Object.entries(report.runs);
  log(
    `\nruns: ${runs
      .map(([window, r]) => `window ${window} s ${r.changes} changes, ${r.streamRecords} stream records, ${r.ok ? 'verified OK' : 'NOT VERIFIED'}, load average ${r.loadAverage.before} → ${r.loadAverage.after}`)
      .join('; ')}`,
  );
  log(`p50/p95/p99: commit → delivery of the changes made after the first ${WARM_UP_MS / 1000} s (search: freshness); ledger w/rec: ledger item writes ÷ stream records, counted on the wire`);
  const busiest = Math.max(...runs.map(([, r]) => Math.max(r.loadAverage.before, r.loadAverage.after)));
  // The pipeline alone (DynamoDB Local, kinesis-local, three functions) keeps about the core count busy.
  if (busiest > 2 * cpus().length) {
    log(`load average reached ${busiest} on ${cpus().length} cores: other work shared the machine, and these latencies include waiting for it`);
  }
  const base = report.windows['0'];
  if (base) {
    const [t50, t99, tOwn] = [LATENCY_TARGETS.p50Ms, LATENCY_TARGETS.p99Ms, LATENCY_TARGETS.projectShareP50Ms];
    const verdict = (pick: (d: (typeof rows)[number]['d']) => number | null, target: number) => {
      const missed = Object.entries(base).filter(([, d]) => (pick(d) ?? Infinity) > target).map(([name, d]) => `${name} ${pick(d) ?? 'n/a'}`);
      return missed.length === 0 ? 'met' : `MISSED (${missed.join(', ')})`;
    };
    log(
      `targets at the default window (0 s), every destination: p50 ≤ ${t50} ms ${verdict((d) => d.p50, t50)}; p99 ≤ ${t99} ms ${verdict((d) => d.p99, t99)}; ` +
        `p50 without the EFO push ≤ ${tOwn} ms ${verdict((d) => d.withoutEfoPushP50, tOwn)}${report.runs['0']?.ok === false ? '; the run did not verify' : ''}`,
    );
  }
  for (const [window, destinations] of windows) {
    if (window === '0' || !base) continue;
    const tradeOff = Object.entries(destinations).map(([name, d]) => {
      const b = base[name as keyof typeof base];
      const writes = b.ledger && d.ledger ? `, ledger writes/record ${b.ledger.writesPerRecord} → ${d.ledger.writesPerRecord}` : '';
      return `${name} p50 ${b.p50} → ${d.p50} ms${writes}`;
    });
    log(`trade-off of a ${window} s window: ${tradeOff.join('; ')}`);
  }
  log(`latency targets ${report.met ? 'met' : `missed by: ${report.missedBy.join('; ')}`} (timing is reported, never a failure)`);
  return report;
}

