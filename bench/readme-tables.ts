import { isJudged } from './engine-section';
import { markdownTable, NOT_RECORDED, num, type Results } from './markdown';
import { renderLatencyTables, renderScaleTable } from './readme-tables-pipeline';

/*
 * The README's bench tables, rendered from `bench/results.json` and written between markers
 * (`<!-- bench:NAME -->` ... `<!-- /bench:NAME -->`), so the manual's figures are the recording's and cannot drift
 * from it: `npm run bench` rewrites them after a full run, `npm run bench:readme` from the committed results, and a
 * unit test fails when the README and results.json disagree.
 */

/** A writes-per-record figure: one decimal at least (1.0, 0.1), as many as the recording kept (0.11, 1.015). */
function writes(value: unknown): string {
  if (typeof value !== 'number') return 'n/a';
  if (value === 0) return '0';
  const text = String(value);
  const decimals = text.includes('.') ? (text.split('.')[1] as string).length : 0;
  return value.toFixed(Math.max(1, decimals));
}

/**
 * The engine's settings in the README's words and order: the mode, and what sets the row apart; whether it is opt-in
 * comes from the recording.
 */
const ENGINE_ROWS: readonly [key: string, mode: string, setting?: string][] = [
  ['everyVersion', '`every-version`'],
  ['latestState', '`latest-state`'],
  ['latestStateEnforced', '`latest-state`, destination-enforced'],
  ['inOrderHomeLanes', '`in-order`', '`per-batch`, home lanes: the default'],
  ['inOrderPerBatch', '`in-order`', '`per-batch`, claims only: no lane'],
  ['inOrderPerVersionHomeLanes', '`in-order`', '`per-version`, home lanes'],
  ['inOrder', '`in-order`', '`per-version`, claims only: no lane'],
];

/** A row's name: in the table marked when opt-in, in the verdict plain. */
function engineLabel([, mode, setting]: (typeof ENGINE_ROWS)[number], optIn: boolean): string {
  const notes = [setting, optIn ? 'opt-in' : undefined].filter(Boolean);
  return notes.length === 0 ? mode : `${mode} (${notes.join('; ')})`;
}

function renderEngine(results: Results): string {
  const engine = results.engine;
  const records: number = engine.workload.records;
  const pass = engine.passThrough;
  const perRecord = (ms: number) => num(((ms - pass.medianMs) * 1000) / records, 1);
  const rows = [
    ['pass-through (decode only)', num(pass.recordsPerSecond), '1', '', '1', '1', `(decoding: ${num((pass.medianMs * 1000) / records, 1)})`],
    ...ENGINE_ROWS.filter(([key]) => engine.modes[key]).map((row) => {
      const mode = engine.modes[row[0]];
      const label = engineLabel(row, !mode.isDefault);
      const ratios: number[] = mode.roundRatios ?? [];
      const range = ratios.length > 0 ? `${num(Math.min(...ratios), 2)}-${num(Math.max(...ratios), 2)}` : 'n/a';
      return [label, num(mode.recordsPerSecond), num(mode.overheadRatio, 3), range, num(mode.overheadRatioOfMedians, 2), num(mode.cpuOverheadRatio, 2), perRecord(mode.medianMs)];
    }),
  ];
  const table = markdownTable(['mode', 'records/s', '× pass-through (median of rounds)', 'rounds', '× of median times', 'CPU ×', 'engine µs a record'], rows);
  const goal: number = engine.goal.maxOverheadRatio;
  const modes = ENGINE_ROWS.filter(([key]) => engine.modes[key]).map((row) => ({ ...engine.modes[row[0]], readme: engineLabel(row, false) }));
  const list = (picked: Results[]) => picked.map((mode) => `${mode.readme} ${num(mode.overheadRatio, 3)}×`).join(', ');
  const judged = modes.filter((mode) => isJudged(mode));
  const optIn = modes.filter((mode) => !isJudged(mode));
  const over = (picked: Results[]) => picked.filter((mode) => mode.overheadRatio > goal).map((mode) => mode.readme);
  const verdict =
    `**This recording (commit ${results.environment?.source?.commit ?? 'unknown'}, pass-through ${num(pass.medianMs)} ms a run) ` +
    `${over(judged).length === 0 ? 'meets' : `misses (${over(judged).join(', ')})`} the goal of ${goal}× for every mode at its default settings: ${list(judged)}.** ` +
    `The opt-in \`in-order\` settings: ${list(optIn)}${over(optIn).length > 0 ? ` (over ${goal}×: ${over(optIn).join(', ')})` : ' (all within it)'}.`;
  return `${table}\n\n(engine µs a record: the mode's median time less pass-through's, per record.)\n\n${verdict}`;
}

const LEDGER_ROWS: readonly [key: string, label: string][] = [
  ['engineEveryVersion', '`every-version`'],
  ['engineLatestState', '`latest-state`'],
  ['engineLatestStateEnforced', '`latest-state`, destination-enforced (opt-in)'],
  ['engineInOrderHomeLanes', '`in-order`, `per-batch`, home lanes (default; lanes per partition key above a `parallelizationFactor` of 1)'],
  ['engineInOrderPerBatch', '`in-order`, `per-batch`, claims only (no lane)'],
  ['engineInOrderPerVersionHomeLanes', '`in-order`, `per-version`, home lanes'],
  ['engineInOrder', '`in-order`, `per-version`, claims only'],
  ['naive', 'naive conditional update'],
  ['powertools', 'Powertools idempotency'],
];

function renderLedger(results: Results): string {
  const { hot, cold } = results.ledger;
  const cell = (workload: Results, key: string, first: boolean) => {
    const value = workload[key];
    const fresh = workload.newAccounts?.[key];
    const notes: string[] = [];
    if (workload === hot && value > 0 && key !== 'powertools') notes.push(`${num(workload.powertools / value, 1).replace(/\.0$/, '')}×${first ? ' fewer than Powertools' : ''}`);
    if (fresh !== undefined && fresh !== value) notes.push(`new: ${writes(fresh)}`);
    return notes.length > 0 ? `${writes(value)} (${notes.join('; ')})` : writes(value);
  };
  const rows = LEDGER_ROWS.filter(([key]) => hot[key] !== undefined).map(([key, label], index) => [label, cell(hot, key, index === 0), cell(cold, key, false)]);
  return markdownTable(['writes per record', 'hot', 'cold'], rows);
}

function renderCrash(results: Results): string {
  const section = results.crashExposure;
  if (!section) return NOT_RECORDED;
  const label = (key: string, isDefault: boolean) => {
    const row = ENGINE_ROWS.find(([candidate]) => candidate === key);
    return row ? engineLabel(row, !isDefault) : key;
  };
  const rows = (section.rows as Results[]).map((row) => [row.workload, label(row.key, row.isDefault), num(row.crashes), num(row.deliveries), num(row.repeats), num(row.repeatsPerCrash, 1), num(row.maxRepeatsOfAnAccountPerCrash), row.complete ? 'yes' : 'no']);
  return markdownTable(['workload', 'setting', 'crashes', 'deliveries', 'delivered again', 'again per crash', 'most of one account per crash', 'every version, first copies in order'], rows);
}

const GAP_LABELS: Record<string, string> = { 'in-order (per-batch)': '`in-order` (`per-batch`)', 'every-version': '`every-version`' };

function renderPermanentGap(results: Results): string {
  const rows: Results[] = Object.values(results.permanentGap?.rows ?? {});
  if (rows.length === 0) return NOT_RECORDED;
  return markdownTable(
    ['mode', 'first batches ms', 'last batches ms', 'growth ×', 'failed', 'item bytes', 'drain after a skip'],
    rows.map((row) => [
      GAP_LABELS[row.mode] ?? row.mode,
      num(row.firstBatchesMedianMs, 2),
      num(row.lastBatchesMedianMs, 2),
      num(row.growth, 2),
      num(row.failedRecords),
      num(row.watermarkItemBytes),
      row.drainInvocations === undefined ? '(never waits)' : `${num(row.drainedVersions)} parked versions in ${num(row.drainInvocations)} invocation${row.drainInvocations === 1 ? '' : 's'} of 10 s`,
    ]),
  );
}

/** Every table the README shows, by marker name. */
export function renderReadmeTables(results: Results): Map<string, string> {
  return new Map([
    ['engine', renderEngine(results)],
    ['permanent-gap', renderPermanentGap(results)],
    ['ledger', renderLedger(results)],
    ['scale', renderScaleTable(results)],
    ...renderLatencyTables(results),
    ['crash', renderCrash(results)],
  ]);
}

/** `readme` with each marked block replaced by its table; throws if a block's markers are missing. */
export function withBenchTables(readme: string, results: Results): string {
  let text = readme;
  for (const [name, body] of renderReadmeTables(results)) {
    const open = `<!-- bench:${name} -->`;
    const close = `<!-- /bench:${name} -->`;
    const start = text.indexOf(open);
    const end = text.indexOf(close);
    if (start < 0 || end < start) throw new Error(`README.md has no ${open} ... ${close} block for the bench's ${name} table`);
    text = `${text.slice(0, start + open.length)}\n${body}\n${text.slice(end)}`;
  }
  return text;
}
