import { markdownTable, NOT_RECORDED, num, type Results } from './markdown';

/* The README's tables for bench (d), scale, and (e), latency: see readme-tables.ts. */

const SCALE_LABELS: Record<string, string> = {
  'pass-through (decode only)': 'pass-through (decode only)',
  'every-version': '`every-version`',
  'latest-state': '`latest-state`',
  'in-order (per-batch, home lanes)': '`in-order` (`per-batch`, home lanes)',
};

const thousands = (records: number) => (records >= 1_000_000 ? `${num(records / 1_000_000, 2)} M` : `${num(records / 1000)} k`);

export function renderScaleTable(results: Results): string {
  const rows: Results[] = results.scale?.rows ?? [];
  if (rows.length === 0) return NOT_RECORDED;
  const pairs: [Results, Results][] = [];
  for (let index = 0; index + 1 < rows.length; index += 2) pairs.push([rows[index] as Results, rows[index + 1] as Results]);
  const [firstSmall, firstLarge] = pairs[0] as [Results, Results];
  const small = thousands(firstSmall.records / firstSmall.passes);
  const large = thousands(firstLarge.records / firstLarge.passes);
  const retained = pairs.some(([, larger]) => typeof larger.retainedBeyondLedgerTwinMiB === 'number');
  const headers = [
    'shape',
    'mode',
    `CPU µs/record, ${small} stream (${firstSmall.passes} passes)`,
    `${large} stream`,
    '×',
    `records/s at ${large}`,
    'ledger writes/record',
    `peak heap MiB, ${small} / ${large} (garbage included)`,
    ...(retained ? [`kept after a full GC beyond the ledger twin MiB, ${small} / ${large}`, `ledger twin MiB, ${small} / ${large}`] : []),
  ];
  const body = pairs.map(([smaller, larger]) => [
    larger.shape,
    SCALE_LABELS[larger.variant] ?? larger.variant,
    num(smaller.cpuMicrosPerRecord, 1),
    num(larger.cpuMicrosPerRecord, 1),
    num(larger.growth, 2),
    num(larger.recordsPerSecond),
    larger.ledgerWritesPerRecord === 0 ? '0' : String(larger.ledgerWritesPerRecord),
    `${num(smaller.peakHeapMiB)} / ${num(larger.peakHeapMiB)}`,
    ...(retained
      ? [`${num(smaller.retainedBeyondLedgerTwinMiB, 1)} / ${num(larger.retainedBeyondLedgerTwinMiB, 1)}`, `${num(smaller.retainedLedgerTwinMiB, 1)} / ${num(larger.retainedLedgerTwinMiB, 1)}`]
      : []),
  ]);
  const growths = pairs.map(([, larger]) => larger.growth as number);
  const section = results.scale;
  const memory =
    section.memoryMet === undefined
      ? 'Memory kept after a full collection was not measured in this recording.'
      : `Memory kept beyond the ledger twin: ${section.memoryMet === true ? 'the same at both sizes within the goal in every row' : section.memoryMet === false ? 'over the goal in some row' : 'not measured'} (${section.memoryGoal}).`;
  const verdict = `**This recording: per record, ${large} records cost ${num(Math.min(...growths), 2)}-${num(Math.max(...growths), 2)}× what ${small} do (${section.met ? 'within' : 'not within'} the goal: ${section.goal}). ${memory}**`;
  return `${markdownTable(headers, body)}\n\n${verdict}`;
}

/** Stage keys in the order the work happens, with the README's names; a recording shows those it has. */
const STAGES: readonly [key: string, label: string][] = [
  ['streamRead', 'stream read'],
  ['kinesisPut', 'Kinesis put'],
  ['efoPush', 'EFO push'],
  ['batchWait', 'batch wait'],
  ['ledgerRead', 'ledger read'],
  ['destinationWrite', 'destination write'],
  ['function', 'function'],
];

export function renderLatencyTables(results: Results): [string, string][] {
  const windows: Record<string, Record<string, Results>> = results.latency?.windows ?? {};
  const seconds = Object.keys(windows).sort((a, b) => Number(a) - Number(b));
  if (seconds.length === 0) {
    return [['latency', NOT_RECORDED], ['latency-stages', NOT_RECORDED]];
  }
  const destinations = [...new Set(seconds.flatMap((window) => Object.keys(windows[window] ?? {})))];
  const main = markdownTable(
    ['destination', 'window', 'p50 ms', 'p95 ms', 'p99 ms', 'p50 without the EFO push', 'ledger writes / record'],
    destinations.flatMap((destination) =>
      seconds.flatMap((window) => {
        const run = windows[window]?.[destination];
        if (!run) return [];
        return [[destination, `${window} s`, num(run.p50), num(run.p95), num(run.p99), num(run.withoutEfoPushP50), num(run.ledger?.writesPerRecord, 2)]];
      }),
    ),
  );
  const first = seconds[0] as string;
  const main0 = windows[first] ?? {};
  const range = (pick: (run: Results) => number) => {
    const values = destinations.flatMap((destination) => (main0[destination] ? [pick(main0[destination] as Results)] : []));
    return `${num(Math.min(...values))}-${num(Math.max(...values))}`;
  };
  const targets = results.latency.targets ?? {};
  const verdict =
    `**This recording ${results.latency.met ? 'meets' : `misses (${(results.latency.missedBy ?? []).join('; ')})`} the targets at the ${first} s window ` +
    `(p50 ≤ ${num(targets.p50Ms)} ms, p99 ≤ ${num(targets.p99Ms)} ms, own share p50 ≤ ${num(targets.projectShareP50Ms)} ms): ` +
    `p50 ${range((run) => run.p50)} ms, p99 ${range((run) => run.p99)} ms, own share ${range((run) => run.withoutEfoPushP50)} ms.**`;
  const at = windows[first] ?? {};
  const present = STAGES.filter(([key]) => destinations.some((destination) => at[destination]?.stages?.[key] !== undefined));
  const stageTable = (title: string, pick: (run: Results) => Results | undefined) =>
    markdownTable(
      [title, ...present.map(([, label]) => label)],
      destinations.map((destination) => {
        const stages = pick(at[destination] ?? {});
        return [destination, ...present.map(([key]) => num(stages?.[key]))];
      }),
    );
  const stages = `${stageTable(`stage (median ms, window ${first} s)`, (run) => run.stages)}\n\n${stageTable(`stage, slowest 5% (median ms, window ${first} s)`, (run) => run.stages?.slowest)}`;
  return [['latency', `${main}\n\n${verdict}`], ['latency-stages', stages]];
}
