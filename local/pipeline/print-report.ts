import type { CrashPoint } from '../functions/protocol';
import type { FaultsReport } from './fault-report';
import type { OperatorReport } from './operator';
import type { PipelineReport } from './run-pipeline';
import type { DestinationDetails, DestinationSummary } from './verify-pipeline';
import { WARM_UP_MS } from './delivery-latency';

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
      `${work.insufficientFunds} refused for insufficient funds` +
      // Every operation is accounted for: one that lost every conditional-write race wrote nothing.
      (work.conflicts > 0 ? `, ${work.conflicts} lost every write race (nothing written)` : ''),
    `stream    ${details.capture.complete ? 'complete' : 'INCOMPLETE'}: ${bridge.captured} changes captured from the DynamoDB stream, ` +
      `${bridge.put} records put on ${details.shards} Kinesis shards (kinesis-local)`,
    `chaos     seed ${details.seed}: +${bridge.duplicates} duplicates (${bridge.crossShardDuplicates} on another shard), ` +
      `${bridge.displaced} held back, ${bridge.delayed} delayed` +
      (details.faults ? `, ${bridge.dropped} dropped (never put on the stream)` : ''),
    ...(details.faults ? faultLines(details.faults) : []),
    '',
  ];
  // Built-ins and plug-ins alike, in the run's order; the first column widens for a long plug-in name.
  const names = Object.keys(report.destinations);
  const widths = COLUMNS.map(([, width], i) => (i === 0 ? Math.max(width, ...names.map((name) => name.length)) : width));
  lines.push(COLUMNS.map(([name], i) => (i < 2 ? name.padEnd(widths[i]!) : name.padStart(widths[i]!))).join('  '));
  for (const name of names) {
    const d = report.destinations[name] as DestinationSummary;
    const found = details.destinations[name] as DestinationDetails;
    const ok = found.ok;
    const cells = [
      name,
      found.mode,
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
    lines.push(cells.map((cell, i) => (i < 2 ? String(cell).padEnd(widths[i]!) : String(cell).padStart(widths[i]!))).join('  '));
  }
  lines.push('');
  const warm = names.map((name) => {
    const { p50, p95, p99, samples } = (details.destinations[name] as DestinationDetails).warmLatencyMs;
    // No percentiles without warm changes, rather than zeros that read as instant.
    return samples === 0 ? `${name} none` : `${name} p50 ${p50} / p95 ${p95} / p99 ${p99} ms (${samples})`;
  });
  // Freshness where only the newest matters: a version skipped as stale was served by its successor.
  const latest = names.filter((name) => (details.destinations[name] as DestinationDetails).mode === 'latest-state');
  const freshness = latest.length > 0 ? ` (${latest.join(', ')}: until the index holds that version or a newer one)` : '';
  const anyWarm = names.some((name) => (details.destinations[name] as DestinationDetails).warmLatencyMs.samples > 0);
  lines.push(
    anyWarm
      ? `warm      commit → delivery of the changes made after the first ${WARM_UP_MS / 1000} s${freshness}: ${warm.join('; ')}`
      : `warm      none: every change was made within the first ${WARM_UP_MS / 1000} s (the warm-up); the table above has them all`,
  );
  for (const name of names) {
    const stages = (details.destinations[name] as DestinationDetails).stagesMs;
    if (!stages || stages.samples === 0) continue;
    lines.push(
      `stages    ${name} (median ms of ${stages.samples} warm changes): stream read ${stages.streamRead}, Kinesis put ${stages.kinesisPut}, ` +
        `EFO push ${stages.efoPush} (emulator), batch wait ${stages.batchWait}, ledger read ${stages.ledgerRead}, destination write ${stages.destinationWrite} ` +
        `→ ${stages.total}; without the EFO push ${stages.withoutEfoPush}`,
    );
    const tail = stages.slowest;
    if (tail) {
      lines.push(
        `          slowest 5% (median ms of ${tail.samples}): stream read ${tail.streamRead}, Kinesis put ${tail.kinesisPut}, ` +
          `EFO push ${tail.efoPush}, batch wait ${tail.batchWait}, ledger read ${tail.ledgerRead}, destination write ${tail.destinationWrite} → ${tail.total}`,
      );
    }
  }
  lines.push('');
  for (const name of names) {
    const found = details.destinations[name] as DestinationDetails;
    for (const sample of found.samples) lines.push(`${name}: ${sample}`);
    if (found.waitingAccounts > 0) lines.push(`${name}: ${found.waitingAccounts} accounts still wait for a missing version`);
  }
  if (details.faults) lines.push(readBackLine(details.destinations, names, details.faults.duplicateNotes ?? {}));
  if (details.operator) lines.push(...operatorLines(details.operator), '');
  const t = details.timingsMs;
  lines.push(
    `timings   setup ${seconds(t.setup)}, workload ${seconds(t.workload)}, converge ${seconds(t.converge)}, ` +
      (t.operator !== undefined ? `operator ${seconds(t.operator)}, ` : '') +
      `verify ${seconds(t.verify)}, total ${seconds(t.total)}`,
    report.ok
      ? details.faults
        ? `RESULT: OK (read back from every destination: nothing missing but the ${details.faults.dropped.versions} dropped versions ` +
          'listed above, nothing misordered or left parked, every dead-letter queue drained)'
        : 'RESULT: OK (read back from every destination: nothing missing, misordered or left parked)'
      : details.operator && (details.operator.unexplained.length > 0 || !details.operator.drained)
        ? 'RESULT: FAIL (see the destinations marked FAIL and what the operator could not explain above)'
        : 'RESULT: FAIL (see the destinations marked FAIL above)',
  );
  return lines.join('\n');
}

const POINT_NAMES: Readonly<Record<CrashPoint, string>> = {
  'before-ledger-write': 'before a ledger write',
  'before-destination-call': 'before a destination call',
  'mid-batch': 'at another call mid-batch',
  'after-batch': 'after the work, before answering',
};

/** The faults injected: crashes, destination faults (with the stand-ins' counts), versions dropped. */
function faultLines(faults: FaultsReport): string[] {
  const lines: string[] = [];
  // Every destination of the run, plug-ins included: the crash counter has one entry per destination.
  const names = Object.keys(faults.crashes);
  const crashTotal = names.reduce((sum, name) => sum + (faults.crashes[name]?.total ?? 0), 0);
  const perDestination = names.map((name) => {
    const { total, byPoint } = faults.crashes[name] as { total: number; byPoint: Record<string, number> };
    const points = Object.entries(byPoint).filter(([, n]) => n > 0).map(([point, n]) => `${n} ${POINT_NAMES[point as CrashPoint]}`);
    return `${name} ${total}${points.length > 0 ? ` (${points.join(', ')})` : ''}`;
  });
  lines.push(`faults    crashes ${crashTotal} (--crash-rate ${faults.crashRate}; each retried by the mapping in a fresh environment): ${perDestination.join('; ')}`);
  if (faults.destinationFaults.length > 0) {
    lines.push(`          destination faults (--destination-faults), ${faults.destinationFaults.length}:`);
    for (const line of faults.destinationFaults) lines.push(`            ${line}`);
    const counted = Object.entries(faults.injected).map(([name, counts]) => {
      const entries = Object.entries(counts);
      return `${name} ${entries.length > 0 ? entries.map(([kind, n]) => `${kind} ${n}`).join(', ') : 'none'}`;
    });
    lines.push(`          injected, as the stand-ins counted them: ${counted.join('; ')}`);
  }
  const { claimTtlSeconds, maxGapAgeSeconds, gapAgeFromConfig } = faults.settings;
  lines.push(
    `          functions: CLAIM_TTL_SECONDS=${claimTtlSeconds} (in-order destinations), MAX_GAP_AGE_SECONDS=${maxGapAgeSeconds}` +
      (gapAgeFromConfig.length > 0 ? ` (${gapAgeFromConfig.join(', ')}: from the configuration)` : ''),
  );
  const gaps = faults.dropped.gaps;
  lines.push(
    `dropped   ${faults.dropped.versions} versions in ${gaps.length} gaps never reached the stream (--permanent-gap-rate ${faults.permanentGapRate})` +
      (gaps.length > 0 ? ':' : ''),
  );
  for (const gap of gaps) {
    const versions = gap.from === gap.to ? `v${gap.from}` : `v${gap.from}-${gap.to}`;
    const outcomes = Object.entries(gap.byDestination).map(([name, outcome]) => `${name} ${outcome}`);
    lines.push(`  ${gap.accountId} ${versions}${gap.last ? ' (its last)' : ''}: ${outcomes.join('; ')}`);
  }
  return lines;
}

/**
 * What the read-back of a fault run allowed for: the dropped versions a destination that wants every version did not
 * get (skipped, acknowledged), and the duplicates each saw, those that may see some (in-order) first, with why.
 */
function readBackLine(found: PipelineReport['details']['destinations'], names: readonly string[], notes: Readonly<Record<string, string>>): string {
  const of = (name: string): DestinationDetails => found[name] as DestinationDetails;
  const absent = names.filter((name) => of(name).mode !== 'latest-state').map((name) => `${name} ${of(name).droppedAbsent}`);
  const mayRepeat = (name: string): number => (of(name).mode === 'in-order' ? 0 : 1);
  const duplicates = [...names]
    .sort((a, b) => mayRepeat(a) - mayRepeat(b))
    .map((name) => `${name} ${of(name).redelivered}${notes[name] === undefined ? '' : ` (${notes[name]})`}`);
  return `read back missing excludes only the dropped versions: not delivered (skipped, acknowledged) ${absent.join(', ')}; duplicates seen: ${duplicates.join(', ')}`;
}

/** What the run did as the operator, each action as it was done, then the totals. */
function operatorLines(operator: OperatorReport): string[] {
  const lines = [`operator  ${operator.rounds} round${operator.rounds === 1 ? '' : 's'} once the destinations were quiet:`];
  for (const action of operator.actions) lines.push(`  ${action}`);
  const names = Object.keys(operator.redriven);
  const redriven = names.map((name) => {
    const reasons = Object.entries(operator.redriven[name] ?? {});
    return `${name} ${reasons.length > 0 ? reasons.map(([reason, n]) => `${n} ${reason}`).join(', ') : '0'}`;
  });
  const resolved = Object.values(operator.noticesResolved).reduce((sum, n) => sum + n, 0);
  const repaired = operator.searchRepairs.reduce((sum, repair) => sum + repair.delivered, 0);
  lines.push(
    `  letters redriven through the engine: ${redriven.join('; ')}; GAP_TIMEOUT notices closed since and deleted: ${resolved}`,
    `  gaps skipped: ${operator.gapsSkipped.length}; notices acknowledged: ${operator.noticesAcknowledged.length}; ` +
      `latest-state accounts repaired: ${repaired}; ${operator.drained ? 'drained' : 'NOT DRAINED'}`,
  );
  for (const line of operator.unexplained) lines.push(`  UNEXPLAINED: ${line}`);
  return lines;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
