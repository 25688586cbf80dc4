import type { CostLine } from './kinesis';
import { LEDGER_FIGURES } from './ledger-figures';
import type { Plan } from './plan';
import { PRICES } from './prices';
import type { Simulation } from './simulate';

const MIB = 1_048_576;

export function num(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return '∞';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}
/** Large counts as 5.26 B / 65.7 M / 12.3 k. */
export function count(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e9) return `${num(value / 1e9, 2)} B`;
  if (abs >= 1e6) return `${num(value / 1e6, 2)} M`;
  if (abs >= 1e4) return `${num(value / 1e3, 1)} k`;
  return num(value, abs < 10 && value % 1 !== 0 ? 3 : 0);
}
export const usd = (value: number): string => `$${num(value, value < 100 ? 2 : 0)}`;
const pct = (value: number): string => `${num(value * 100, 1)}%`;

/** Left-aligned first column, the rest right-aligned. */
export function table(header: readonly string[], rows: readonly (readonly string[])[], indent = '  '): string[] {
  const widths = header.map((cell, column) => Math.max(cell.length, ...rows.map((row) => (row[column] ?? '').length)));
  const render = (row: readonly string[]) =>
    indent + row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0))).join('  ').trimEnd();
  return [render(header), indent + widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(render)];
}

const costRows = (lines: readonly CostLine[]): string[][] =>
  lines.map((entry) => [entry.item, count(entry.quantity), entry.unit, `$${PRICES[entry.price].usd}`, usd(entry.usd)]);

export function formatPlan(plan: Plan): string[] {
  const { inputs, stream } = plan;
  const out: string[] = [];
  out.push(
    `fanout plan: ${num(inputs.writesPerSecond)} writes/s, ${num(inputs.accounts)} accounts, ${num(inputs.itemBytes)} B items; ${inputs.destinations.join(', ')}`,
    `prices: ${plan.prices.region}, checked ${plan.prices.checked}, ops/plan/prices.ts (${plan.prices.unconfirmed.length} of ${Object.keys(PRICES).length} not confirmed on an AWS page: marked secondary/unverified)`,
    '',
    'Deploy',
    `  Kinesis: ${stream.shards} shards (bytes ${num(stream.writeBytesPerSecond / MIB, 2)} MiB/s ÷ 1 MiB/s → ${stream.shardsForBytes}; ` +
      `records ${num(inputs.writesPerSecond)}/s ÷ 1,000/s → ${stream.shardsForRecords}; limited by ${stream.shardsLimitedBy}), ` +
      `${stream.efoConsumers} EFO consumers, retention ${num(stream.retentionHours)} h; configured mode ${plan.streamMode}`,
  );
  for (const d of plan.destinations) {
    out.push(
      `  ${d.name} (${d.mode}): concurrency ${d.concurrency} (${stream.shards} shards × factor ${d.parallelizationFactor}), ${d.memoryMb} MB, ` +
        `batch ${d.batchSize} (effective ${num(d.effectiveBatch, 1)} at ${num(d.recordsPerSecondPerLane, 1)} records/s per lane)`,
    );
  }

  out.push('', `Kinesis per month: on-demand ${usd(stream.onDemand.total)}, provisioned ${usd(stream.provisioned.total)} (the total uses ${plan.streamMode})`);
  out.push(...table(['on-demand', 'quantity', 'unit', 'price', '$/month'], costRows(stream.onDemand.lines)));
  out.push(...table(['provisioned', 'quantity', 'unit', 'price', '$/month'], costRows(stream.provisioned.lines)));

  out.push('', `Change data capture (Kinesis Data Streams for DynamoDB): ${plan.cdc.unitsPerWrite} unit(s) per write (1 per KB of item, rounded up)`);
  out.push(...table(['item', 'quantity', 'unit', 'price', '$/month'], costRows(plan.cdc.lines)));

  out.push('', 'Per destination');
  out.push(
    ...table(
      ['destination', 'v', 'ledger writes/rec', 'Lambda inv/month', 'GB-s/month', 'requests/s', '$/month'],
      plan.destinations.map((d) => [
        `${d.name} (${LEDGER_FIGURES[d.variant].label})`,
        num(d.versionsPerAccountPerBatch, 3),
        num(d.ledger.writesPerRecord, 3),
        count(d.lambda.invocationsPerMonth),
        count(d.lambda.gbSeconds),
        num(d.requests.perSecond, 0),
        usd(d.total),
      ]),
    ),
  );
  for (const d of plan.destinations) out.push(`  ${d.name}: ${d.requests.what}; ${d.requests.note}`);
  out.push(...table(['item', 'quantity', 'unit', 'price', '$/month'], costRows(plan.destinations.flatMap((d) => [...d.ledger.lines, ...d.lambda.lines, ...d.requests.lines]))));
  out.push(`  ledger: ${plan.ledgerFormula}`, `  ledger figures: ${plan.ledgerSource}`);

  out.push('', 'Monthly total');
  out.push(
    ...table(
      ['part', '$/month'],
      [
        [`Kinesis (${plan.streamMode})`, usd(plan.monthly.kinesis)],
        ['change data capture', usd(plan.monthly.cdc)],
        ...Object.entries(plan.monthly.destinations).map(([name, value]) => [name, usd(value)]),
        ['total', usd(plan.monthly.total)],
      ],
    ),
  );

  out.push('', `Bottleneck: ${plan.bottleneck.name}, ${pct(plan.bottleneck.utilization)} used; reached at ${num(plan.bottleneck.writesPerSecondAtLimit)} writes/s with this deployment`);
  out.push(
    ...table(
      ['limit', 'used', 'capacity', 'use', 'writes/s at limit'],
      plan.limits.map((entry) => [entry.name, count(entry.used), count(entry.capacity), pct(entry.utilization), num(entry.writesPerSecondAtLimit)]),
    ),
  );
  if (plan.ceilings.length > 0) {
    out.push('  with as many shards as needed (on-demand scaling, or resharding), the first ceiling:');
    for (const ceiling of plan.ceilings) out.push(`    ${num(ceiling.writesPerSecond)} writes/s: ${ceiling.name}`);
  }

  if (plan.replay) {
    const replay = plan.replay;
    out.push('', `Replay of ${replay.days} days (one destination, one-off): ${count(replay.records)} records, ${num(replay.gb, 0)} GB retrieved${replay.warning ? `; WARNING: ${replay.warning}` : ''}`);
    out.push(...table(['item', 'quantity', 'unit', 'price', '$ once'], costRows(replay.lines)));
    out.push(`  plus the destination's own per-record costs: ${Object.entries(replay.perDestinationUsd).map(([name, value]) => `${name} ${usd(value)}`).join(', ')}`);
  }

  out.push('', 'Assumptions', ...plan.assumptions.map((text) => `  - ${text}`));
  out.push('Not modelled', ...plan.notModelled.map((text) => `  - ${text}`));
  out.push(`Prices not confirmed on an AWS page on ${plan.prices.checked}: ${plan.prices.unconfirmed.join(', ')}`);
  return out;
}

export function formatSimulation(simulation: Simulation): string[] {
  return [
    '',
    `Simulation: the engine (in-memory ledger, no-op destination) over ${num(simulation.records)} records, ${num(simulation.accounts)} accounts, ` +
      `${simulation.batches} batches of ${simulation.batchSize} (seed ${simulation.seed}): v = ${num(simulation.versionsPerAccountPerBatch, 3)}, ` +
      `claimed first batches ${num(simulation.firstTouch, 3)}/record`,
    ...table(
      ['variant', 'destinations', 'planned (full scale)', 'planned (sample)', 'simulated', 'agrees'],
      simulation.variants.map((entry) => [
        entry.label,
        entry.destinations.join(', ') || '-',
        entry.plannedFullScale === null ? '-' : num(entry.plannedFullScale, 3),
        num(entry.plannedSample, 3),
        num(entry.simulated, 3),
        entry.withinTolerance ? 'yes' : 'NO',
      ]),
    ),
    `  ledger writes per record; agrees = within ±${simulation.tolerance.relative * 100}% or ±${simulation.tolerance.absolute} of the planned (sample) figure`,
  ];
}
