import type { EngineCounts } from '../shared/ordering/outcome';
import type { ChaosStats } from './bridge/chaos';
import type { RunOptions } from './run';
import type { CaptureCheck, DestinationCheck } from './verify';
import type { WorkloadResult } from './workload';

export interface DestinationReport extends DestinationCheck {
  readonly kind: 'in-memory recording destination';
  /** From the engines' counters: records skipped because the version was already delivered. */
  readonly duplicatesSkipped: number;
  readonly stale: number;
  /** Of those, the ones the destination itself refused (latest-state: its external versioning). */
  readonly refusedByDestination: number;
  /** Read back from the ledger after the sweeps: parked records still waiting, and their accounts. */
  readonly parkedRemaining: number;
  readonly waitingAccounts: number;
  /** Letters in the destination's dead-letter queue (bad records included). */
  readonly deadLettered: number;
  readonly badRecords: number;
  /** Records still failing after the simulated Lambda retries. */
  readonly failedRecords: number;
  readonly ledgerWrites: number;
  readonly sweeps: number;
  readonly engine: EngineCounts;
  readonly ok: boolean;
}

/** Everything a run found; `--json` prints exactly this. */
export interface RunReport {
  readonly ok: boolean;
  readonly options: Omit<RunOptions, 'signal' | 'log'>;
  readonly endpoint: string;
  readonly workload: Omit<WorkloadResult, 'accountIds'>;
  readonly capture: CaptureCheck & { readonly caughtUp: boolean };
  readonly stream: {
    readonly shards: readonly { readonly shardId: string; readonly records: number; readonly batches: number }[];
    readonly chaos: ChaosStats;
  };
  readonly destinations: readonly DestinationReport[];
  readonly timingsMs: Record<'setup' | 'workload' | 'capture' | 'consume' | 'sweep' | 'total', number>;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

const COLUMNS: readonly { readonly title: string; readonly value: (d: DestinationReport) => string | number }[] = [
  { title: 'destination', value: (d) => d.name },
  { title: 'mode', value: (d) => d.mode },
  { title: 'delivered', value: (d) => d.received },
  { title: 'dup-skipped', value: (d) => d.duplicatesSkipped },
  { title: 'stale', value: (d) => d.stale },
  { title: 'healed', value: (d) => d.healed },
  { title: 'redelivered', value: (d) => d.redelivered },
  { title: 'parked', value: (d) => d.parkedRemaining },
  { title: 'dead-letter', value: (d) => d.deadLettered },
  { title: 'order-viol', value: (d) => d.orderViolations },
  { title: 'missing', value: (d) => d.missing },
  { title: 'ledger-writes', value: (d) => d.ledgerWrites },
  { title: 'result', value: (d) => (d.ok ? 'OK' : 'FAIL') },
];

/** The human report: a few lines of context, one row per destination, then what went wrong, if anything. */
export function formatReport(report: RunReport): string {
  const { workload: w, capture: c, stream: s, options: o } = report;
  const lines: string[] = [];
  lines.push(`ordered-fanout local run on DynamoDB Local ${report.endpoint}`);
  lines.push(
    `workload  ${o.accounts} accounts, ${o.changes} changes in ${seconds(w.durationMs)}: ` +
      `${w.succeeded.deposit} deposits, ${w.succeeded.withdrawal} withdrawals, ${w.succeeded.transfer} transfers; ` +
      `${w.insufficientFunds} refused for insufficient funds, ${w.conflicts} gave up on conflicts; ` +
      `${w.versionsWritten} versions written`,
  );
  lines.push(
    `capture   ${c.captured}/${c.expected} changes read from the DynamoDB stream` +
      (c.complete ? ' (complete)' : ` (INCOMPLETE: ${c.missing} missing, ${c.unexpected} unexpected)`),
  );
  const shards = s.shards.map((shard) => `${shard.shardId} ${shard.records} records/${shard.batches} batches`);
  lines.push(`stream    simulated Kinesis-for-DynamoDB, ${shards.join(', ')}`);
  lines.push(
    `chaos     seed ${o.seed}: +${s.chaos.duplicates} duplicates (${s.chaos.crossShardDuplicates} on the other shard), ` +
      `${s.chaos.displaced} held back by up to ${o.reorderWindow}; batch size ${o.batchSize}`,
  );
  lines.push('');
  lines.push('destinations are in-memory recording stand-ins (real destinations come with the consumers):');
  lines.push(...table(report.destinations));
  lines.push('');
  const t = report.timingsMs;
  lines.push(
    `timings   setup ${seconds(t.setup)}, workload ${seconds(t.workload)}, capture ${seconds(t.capture)}, ` +
      `consume ${seconds(t.consume)}, sweep ${seconds(t.sweep)}, total ${seconds(t.total)}`,
  );
  for (const problem of problems(report)) lines.push(`  ! ${problem}`);
  lines.push(report.ok ? 'RESULT: OK (nothing missing, misordered or left parked)' : 'RESULT: FAILED');
  return lines.join('\n');
}

function table(destinations: readonly DestinationReport[]): string[] {
  const rows = destinations.map((d) => COLUMNS.map((column) => String(column.value(d))));
  const cells = [COLUMNS.map((column) => column.title), ...rows];
  const widths = COLUMNS.map((_, index) => Math.max(...cells.map((row) => (row[index] ?? '').length)));
  // Text columns left-aligned, numbers right-aligned, so counts line up.
  return cells.map((row) =>
    row
      .map((cell, index) => (index < 2 ? cell.padEnd(widths[index] ?? 0) : cell.padStart(widths[index] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

/** Everything that made the run fail, in words, with the verifier's first samples. */
export function problems(report: RunReport): string[] {
  const found: string[] = [];
  const c = report.capture;
  if (!c.caughtUp) found.push(`the stream reader gave up before reading all ${c.expected} changes`);
  if (!c.complete) found.push(`capture: ${c.missing} versions never reached the stream, ${c.unexpected} unexpected`);
  for (const d of report.destinations) {
    if (d.ok) continue;
    const parts = [
      d.missing && `${d.missing} missing`,
      d.orderViolations && `${d.orderViolations} order violations`,
      d.parkedRemaining && `${d.parkedRemaining} parked on ${d.waitingAccounts} accounts`,
      d.waitingAccounts && !d.parkedRemaining && `${d.waitingAccounts} accounts still waiting`,
      d.unexpected && `${d.unexpected} unexpected versions`,
      d.contentMismatches && `${d.contentMismatches} wrong images`,
      d.badRecords && `${d.badRecords} bad records`,
      d.failedRecords && `${d.failedRecords} records failed after retries`,
    ].filter(Boolean);
    found.push(`${d.name}: ${parts.join(', ')}`);
    for (const sample of d.samples) found.push(`${d.name}:   ${sample}`);
  }
  return found;
}
