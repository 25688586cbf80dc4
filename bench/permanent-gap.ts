import { performance } from 'node:perf_hooks';
import type { AccountImage } from '../shared/accounts/account';
import type { ChangeRecord } from '../shared/change-record/change-record';
import { InMemoryLedger } from '../shared/ledger/in-memory-ledger';
import { watermarkToItem } from '../shared/ledger/ledger-codec';
import type { DeliveryMode } from '../shared/ordering/delivery-mode';
import { OrderingEngine } from '../shared/ordering/engine';
import { noopDeadLetters, noopDestination } from './engine-throughput';
import { round } from './workloads';

/**
 * (c) 100,000 versions of one account behind a gap that never fills (versions 2 and 3 never arrive), in batches of
 * 100, with 20 other accounts flowing in every batch: per-batch time must stay flat (O(batch log n), not O(n)), no
 * record may be reported failed (the shard is never blocked), and the account's ledger item stays small. Then an
 * operator skips the gap and the parked versions drain in invocations of bounded time.
 */
export interface PermanentGapResult {
  readonly mode: string;
  readonly versionsBehindGap: number;
  readonly batches: number;
  readonly firstBatchesMedianMs: number;
  readonly lastBatchesMedianMs: number;
  /** lastBatchesMedianMs ÷ firstBatchesMedianMs: ~1 when the cost per batch does not grow with what waits. */
  readonly growth: number;
  readonly failedRecords: number;
  readonly watermarkItemBytes: number;
  readonly rangesInItem: number;
  /** in-order: invocations of `drainBudgetMs` each that the skip and the drain of everything parked took. */
  readonly drainInvocations?: number;
  readonly drainedVersions?: number;
}

const BEHIND = 100_000;
const BATCH = 100;
const NEIGHBOURS = 20;
const SAMPLE = 20;
/** Batches left out of the first sample while the JIT warms up. */
const WARMUP_BATCHES = 50;

export async function measurePermanentGap(mode: DeliveryMode, label: string, drainBudgetMs = 2_000): Promise<PermanentGapResult> {
  const ledger = new InMemoryLedger({ destination: 'bench', epoch: 'live' });
  const destination = noopDestination('bench', mode);
  const engine = new OrderingEngine({ destination, ledger, deadLetters: noopDeadLetters, maxGapAgeMs: Number.MAX_SAFE_INTEGER });
  const stuck = history('STUCK', BEHIND + 3);
  await engine.process([stuck[0] as ChangeRecord]);
  const neighbours = Array.from({ length: NEIGHBOURS }, (_, n) => history(`N${n}`, Math.ceil(BEHIND / BATCH) + 1));
  const times: number[] = [];
  let failed = 0;
  for (let start = 3, batch = 0; start < stuck.length; start += BATCH, batch += 1) {
    const records = [...stuck.slice(start, start + BATCH), ...neighbours.map((h) => h[batch] as ChangeRecord)];
    const began = performance.now();
    const outcome = await engine.process(records);
    times.push(performance.now() - began);
    failed += outcome.failed.length;
  }
  const watermark = (await ledger.load(['STUCK'])).get('STUCK');
  if (!watermark) throw new Error('no watermark');
  const item = watermarkToItem('bench', 'live', watermark);
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
  const first = median(times.slice(WARMUP_BATCHES, WARMUP_BATCHES + SAMPLE));
  const last = median(times.slice(-SAMPLE));
  const result: PermanentGapResult = {
    mode: label,
    versionsBehindGap: BEHIND,
    batches: times.length,
    firstBatchesMedianMs: round(first, 3),
    lastBatchesMedianMs: round(last, 3),
    growth: round(last / first, 2),
    failedRecords: failed,
    watermarkItemBytes: Buffer.byteLength(JSON.stringify(item)),
    rangesInItem: watermark.parked.length + watermark.ahead.length + watermark.owed.length + watermark.skipped.length,
  };
  if (mode !== 'in-order') return result;
  // The operator's skip, then the drain: each invocation bounded by its deadline, as the sweeper's would be.
  const before = destination.deliveries;
  let invocations = 1;
  await engine.skipGap('STUCK', 3, 'bench: versions 2-3 never arrive', { deadline: Date.now() + drainBudgetMs });
  for (; invocations < 10_000; invocations += 1) {
    const left = (await ledger.load(['STUCK'])).get('STUCK');
    if (left === undefined || left.parked.length === 0) break;
    await engine.resume(['STUCK'], { deadline: Date.now() + drainBudgetMs });
  }
  return { ...result, drainInvocations: invocations, drainedVersions: destination.deliveries - before };
}

/** A contract-abiding history whose images prove each change (`last_change`), without the test helpers. */
function history(accountId: string, length: number): ChangeRecord[] {
  const records: ChangeRecord[] = [];
  let image: AccountImage | undefined;
  const start = 1_795_392_000_000_000;
  for (let version = 1; version <= length; version += 1) {
    const next: AccountImage = {
      account_id: accountId,
      balance: 1000 + version,
      currency: 'AUD',
      status: 'OPEN',
      version,
      updated_at: new Date((start + version * 1000) / 1000).toISOString(),
      last_change: image ? { type: 'DEPOSIT', amount: 1 } : { type: 'OPENED', amount: 0 },
    };
    records.push({
      accountId,
      version,
      previousVersion: version - 1,
      kind: image ? 'MODIFY' : 'INSERT',
      newImage: next,
      ...(image ? { oldImage: image } : {}),
      createdAtMicros: start + version * 1000,
      eventId: `${accountId}-${version}`,
      sequenceNumber: `${accountId}-${version}`,
      shardId: 'shardId-000000000000',
    });
    image = next;
  }
  return records;
}
