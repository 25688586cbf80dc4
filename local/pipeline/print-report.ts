import { DESTINATION_NAMES } from '../../infra/config/pipeline-config';
import type { PipelineReport } from './run-pipeline';
import { MODES } from './verify-pipeline';

const COLUMNS = [
  ['destination', 11],
  ['mode', 13],
  ['delivered', 9],
  ['dup-skipped', 11],
  ['stale', 5],
  ['healed', 6],
  ['parked', 6],
  ['dead-letter', 11],
  ['order-viol', 10],
  ['missing', 7],
  ['rec/s', 5],
  ['p50 ms', 7],
  ['p99 ms', 7],
  ['result', 6],
] as const;

/** The report as a person reads it: one line per destination, then what to look at when something is wrong. */
export function formatPipelineReport(report: PipelineReport): string {
  const { details } = report;
  const bridge = details.bridge;
  const work = details.workload;
  const lines = [
    `workload  ${report.accounts} accounts, ${work.attempted.deposit + work.attempted.withdrawal + work.attempted.transfer} operations → ` +
      `${report.changes} changes in ${(work.durationMs / 1000).toFixed(1)} s: ` +
      `${work.succeeded.deposit} deposits, ${work.succeeded.withdrawal} withdrawals, ${work.succeeded.transfer} transfers; ` +
      `${work.insufficientFunds} refused for insufficient funds`,
    `stream    ${details.capture.complete ? 'complete' : 'INCOMPLETE'}: ${bridge.captured} changes captured from the DynamoDB stream, ` +
      `${bridge.put} records put on ${details.shards} Kinesis shards (kinesis-local)`,
    `chaos     seed ${details.seed}: +${bridge.duplicates} duplicates (${bridge.crossShardDuplicates} on another shard), ` +
      `${bridge.displaced} held back, ${bridge.delayed} delayed`,
    '',
    COLUMNS.map(([name, width], i) => (i < 2 ? name.padEnd(width) : name.padStart(width))).join('  '),
  ];
  for (const name of DESTINATION_NAMES) {
    const d = report.destinations[name];
    const ok = details.destinations[name].ok;
    const cells = [
      name,
      MODES[name],
      d.delivered,
      d.duplicatesSkipped,
      d.stale,
      d.healed,
      d.parked,
      d.deadLettered,
      d.orderViolations,
      d.missing,
      d.recordsPerSecond,
      d.latencyMs.p50,
      d.latencyMs.p99,
      ok ? 'OK' : 'FAIL',
    ];
    lines.push(cells.map((cell, i) => (i < 2 ? String(cell).padEnd(COLUMNS[i]![1]) : String(cell).padStart(COLUMNS[i]![1]))).join('  '));
  }
  lines.push('');
  for (const name of DESTINATION_NAMES) {
    const found = details.destinations[name];
    for (const sample of found.samples) lines.push(`${name}: ${sample}`);
    if (found.waitingAccounts > 0) lines.push(`${name}: ${found.waitingAccounts} accounts still wait for a missing version`);
  }
  const t = details.timingsMs;
  lines.push(
    `timings   setup ${seconds(t.setup)}, workload ${seconds(t.workload)}, converge ${seconds(t.converge)}, ` +
      `verify ${seconds(t.verify)}, total ${seconds(t.total)}`,
    report.ok
      ? 'RESULT: OK (read back from every destination: nothing missing, misordered or left parked)'
      : 'RESULT: FAIL (see the destinations marked FAIL above)',
  );
  return lines.join('\n');
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
