import { round } from './workloads';
import type { ScaleTotals } from './scale';

/*
 * (d)'s memory: what a scale run keeps on the heap after a full collection at the end of its stream, split into the
 * in-memory ledger twin's per-account state, the generator's, and the rest, and the verdict on it (see scale.ts).
 */

/**
 * What a row's runs keep on the heap at the end of their stream, MiB: `heapUsed` after a full collection, above the
 * child's heap before any history was generated (so the per-account state is in it). Taken from the pass that kept the
 * most; null when the child ran without `--expose-gc` or no pass has ended.
 */
export interface ScaleRetained {
  /** Everything. */
  readonly retainedAfterGcMiB: number | null;
  /**
   * What dropping the engine and its in-memory ledger freed: the ledger twin's watermark of every account (the engine
   * keeps nothing between batches). It grows with the accounts, and with each account's versions until its capped
   * lists are full (`MAX_RECENT_DELIVERIES`). A function's ledger is in DynamoDB.
   */
  readonly retainedLedgerTwinMiB: number | null;
  /** Everything else (`retainedGeneratorMiB` + `retainedOtherMiB`): what the memory verdict judges. */
  readonly retainedBeyondLedgerTwinMiB: number | null;
  /** Then what dropping the bench's generator freed: its last image of every account. */
  readonly retainedGeneratorMiB: number | null;
  /** What was still kept after both: compiled code and the process's own. */
  readonly retainedOtherMiB: number | null;
}

/**
 * Bytes kept after a full collection at the end of a stream, above the child's heap before any history: in all, then
 * what dropping the engine and its ledger freed, then what dropping the generator freed, and the rest.
 */
export interface PassRetained {
  readonly all: number;
  readonly ledgerTwin: number;
  readonly generator: number;
  readonly other: number;
}

const MIB = 1024 * 1024;
const mib = (bytes: number) => round(bytes / MIB, 1);

/** What the passes of a row kept (see `ScaleRetained`): the pass that kept the most. */
export function scaleRetained(passes: readonly ScaleTotals[]): ScaleRetained {
  let most: PassRetained | undefined;
  for (const { retained } of passes) if (retained !== undefined && (most === undefined || retained.all > most.all)) most = retained;
  const of = (bytes: number | undefined) => (most === undefined || bytes === undefined ? null : mib(bytes));
  return {
    retainedAfterGcMiB: of(most?.all),
    retainedLedgerTwinMiB: of(most?.ledgerTwin),
    retainedBeyondLedgerTwinMiB: of(most && most.generator + most.other),
    retainedGeneratorMiB: of(most?.generator),
    retainedOtherMiB: of(most?.other),
  };
}

/** Differences of retained heap under this many MiB are not judged: compiled code and V8's own structures move as much. */
export const RETAINED_SLACK_MIB = 1;

/**
 * The memory verdict of a pair of rows over the same accounts: the larger stream's heap retained beyond the ledger
 * twin over the smaller's (`growth`). Memory bounded by the accounts and the batch, not by the stream's length, keeps
 * it near 1: `met` when it is within `goal`, or when the two differ by less than `RETAINED_SLACK_MIB`. Null (not
 * judged) when either was not measured.
 */
export function retainedVerdict(small: ScaleRetained, large: ScaleRetained, goal: number): { readonly growth: number | null; readonly met: boolean | null } {
  const before = small.retainedBeyondLedgerTwinMiB;
  const after = large.retainedBeyondLedgerTwinMiB;
  if (before === null || after === null) return { growth: null, met: null };
  const growth = before > 0 ? round(after / before, 2) : null;
  return { growth, met: after - before < RETAINED_SLACK_MIB || (growth !== null && growth <= goal) };
}

/**
 * `heapUsed` after a full collection (undefined when the process runs without `--expose-gc`), read once the
 * collector's helper threads have gone quiet: they go on sweeping and freeing for some 30 ms after `gc()` returns,
 * and that CPU, counted by `process.cpuUsage` for the whole process, would land in the next timed batch.
 */
export async function heapAfterFullGc(): Promise<number | undefined> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return undefined;
  gc();
  for (let wait = 0; wait < 100; wait += 1) {
    const cpu = process.cpuUsage();
    await new Promise((resolve) => setTimeout(resolve, 10));
    const used = process.cpuUsage(cpu);
    if (used.user + used.system < 1_000) break;
  }
  return process.memoryUsage().heapUsed;
}
