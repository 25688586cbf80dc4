import { ChildHost } from './child-host';
import type { Bundle } from './bundled';
import type { ScaleRow, ScaleShape } from './scale';
import type { ScaleRetained } from './scale-memory';

/** One run of (d): a shape, its accounts, the measured records, and a variant's key (or pass-through). */
export interface ScaleRunSpec {
  readonly shape: ScaleShape;
  readonly accounts: number;
  readonly records: number;
  readonly variant: string;
}

/** A row of one size as its child measured it: cost, and what its runs kept. */
export type ScalePairRow = ScaleRow & ScaleRetained;

export type ScaleRequest = { readonly op: 'warm' } | { readonly op: 'again' } | { readonly op: 'step'; readonly batches: number } | { readonly op: 'row' };
export type ScaleReply =
  | { readonly op: 'warm' }
  | { readonly op: 'again' }
  | { readonly op: 'step'; readonly done: boolean }
  | { readonly op: 'row'; readonly row: ScalePairRow };

/**
 * Node flags of a scale run: a function's young generation (how often the scavenger runs is much of what short-lived
 * records cost), and an old generation large enough for the bench's in-memory ledger of 100,000 accounts, which a
 * function does not hold (its ledger is in DynamoDB).
 */
export function scaleNodeFlags(functionFlags: readonly string[]): string[] {
  return [...functionFlags.filter((flag) => !flag.startsWith('--max-old-space-size=')), '--max-old-space-size=4096'];
}

/**
 * The same variant over `small` and `large` records, each size in a process of its own, taking strict turns of
 * `stepBatches` batches: every account's history first (untimed), then small, large, small, large... until the large
 * run ends, the small one starting its stream over (a fresh engine and ledger, the history given again, untimed)
 * whenever it ends. So both sizes meet the machine's other load alike, as bench (a)'s contenders do, and in turns of the
 * same length, each after the other process's turn: one after the other, single rows of the growth ratio moved by
 * 20-30% on a shared machine; taking turns with the large run doing proportionally more per turn flattered it (its
 * turns ran on caches its own previous turn had warmed): 0.8-0.96 in every row.
 */
export async function measureScalePair(
  child: Bundle,
  nodeFlags: readonly string[],
  spec: Omit<ScaleRunSpec, 'records'>,
  small: number,
  large: number,
  stepBatches = 5,
): Promise<[ScalePairRow, ScalePairRow]> {
  const hosts: ChildHost<ScaleRequest, ScaleReply>[] = [];
  try {
    for (const records of [small, large]) {
      const env = { BENCH_SCALE: JSON.stringify({ ...spec, records }) };
      hosts.push(await ChildHost.start<ScaleRequest, ScaleReply>(child.file, nodeFlags, `scale run ${spec.shape} ${spec.variant} ${records}`, env));
    }
    const [smallRun, largeRun] = hosts as [ChildHost<ScaleRequest, ScaleReply>, ChildHost<ScaleRequest, ScaleReply>];
    for (const host of hosts) await host.ask({ op: 'warm' }, 'warm');
    for (;;) {
      if ((await smallRun.ask({ op: 'step', batches: stepBatches }, 'step')).done) await smallRun.ask({ op: 'again' }, 'again');
      if ((await largeRun.ask({ op: 'step', batches: stepBatches }, 'step')).done) break;
    }
    const rows = await Promise.all(hosts.map(async (host) => (await host.ask({ op: 'row' }, 'row')).row));
    return [rows[0] as ScalePairRow, rows[1] as ScalePairRow];
  } finally {
    for (const host of hosts) host.close();
  }
}
