import { performance } from 'node:perf_hooks';
import type { AccountImage } from '../shared/accounts/account';
import { nextAccountImage } from '../local/account-images';
import type { ChangeRecord } from '../shared/change-record/change-record';
import { encodeKinesisPayload, type KinesisRecordInput } from '../shared/change-record/decode';
import { InMemoryLedger } from '../shared/ledger/in-memory-ledger';
import { decodeBatch, makeEngine, noopDeadLetters, noopDestination, type Variant } from './engine-throughput';
import { round, SHARD_ID, toPayload } from './workloads';

/**
 * (d) Scale: does the cost per record stay flat as the stream grows? A stream of N records is generated batch by
 * batch (never held whole), decoded and processed; only decoding and the engine are timed, not the generation. Two
 * shapes: `cold` spreads the records over 100,000 accounts (every batch: 100 accounts, one version each), `hot` over
 * 100 accounts (every batch: 10 accounts, 10 consecutive versions each). 1% of the records arrive twice.
 *
 * Every account already has a history when the clock starts: two rounds of versions (`warmRecords`) go through the
 * same engine untimed first, as on a pipeline that has been running. Without them the small cold run would be almost
 * all first versions (INSERTs, with one image to decode and an empty watermark), the large one almost all MODIFYs, and
 * the two would not compare like with like.
 */
export type ScaleShape = 'cold' | 'hot';

export interface ScaleRow {
  readonly shape: ScaleShape;
  readonly accounts: number;
  readonly records: number;
  readonly variant: string;
  readonly recordsPerSecond: number;
  /** Decode + engine CPU time per record. */
  readonly cpuMicrosPerRecord: number;
  readonly ledgerWritesPerRecord: number;
  /**
   * Largest heap seen during the run above the heap at its start, MiB (after a full collection when the bench runs
   * with `--expose-gc`): the ledger's and the generator's per-account state are in it.
   */
  readonly peakHeapMiB: number;
}

const BATCH = 100;
const DUPLICATE_EVERY = 100;
const START_MICROS = 1_795_392_000_000_000;

/** The account and version of the i-th change of a shape. */
function position(shape: ScaleShape, accounts: number, i: number): { account: number; version: number } {
  if (shape === 'cold') return { account: i % accounts, version: Math.floor(i / accounts) + 1 };
  const block = Math.floor(i / 10);
  return { account: block % accounts, version: Math.floor(block / accounts) * 10 + (i % 10) + 1 };
}

/** Changes that give every account its history before the clock starts: two rounds of the shape's versions. */
export function warmRecords(shape: ScaleShape, accounts: number): number {
  return 2 * accounts * (shape === 'cold' ? 1 : 10);
}

/**
 * Lambda-sized batches of a stream of `records` changes, generated as they are consumed. A batch never spans change
 * `split` (the end of the warm-up): the batch before it is cut short, and `warm` says which side a batch is on.
 */
export function* scaleBatches(
  shape: ScaleShape,
  accounts: number,
  records: number,
  split = 0,
): Generator<{ readonly inputs: KinesisRecordInput[]; readonly warm: boolean }> {
  const images = new Map<number, AccountImage>();
  let sequence = 0n;
  let batch: KinesisRecordInput[] = [];
  for (let i = 0; i < records; i += 1) {
    if (i === split && batch.length > 0) {
      yield { inputs: batch, warm: true };
      batch = [];
    }
    const { account, version } = position(shape, accounts, i);
    const accountId = `ACC-${String(account).padStart(6, '0')}`;
    const previous = images.get(account);
    const createdAtMicros = START_MICROS + i * 1_000;
    const image = nextAccountImage(accountId, version, previous, createdAtMicros);
    images.set(account, image);
    const base = { accountId, version, previousVersion: version - 1, createdAtMicros, eventId: `e-${i}`, sequenceNumber: '', shardId: SHARD_ID };
    const record: ChangeRecord =
      previous === undefined ? { ...base, kind: 'INSERT', newImage: image } : { ...base, kind: 'MODIFY', oldImage: previous, newImage: image };
    const data = encodeKinesisPayload(toPayload(record, `e-${i}`));
    const copies = i % DUPLICATE_EVERY === DUPLICATE_EVERY - 1 ? 2 : 1;
    for (let copy = 0; copy < copies; copy += 1) {
      sequence += 7n;
      batch.push({ data, sequenceNumber: (49_650_000_000_000_000_000n + sequence).toString().padStart(56, '0'), shardId: SHARD_ID, partitionKey: accountId });
      if (batch.length === BATCH) {
        yield { inputs: batch, warm: i < split };
        batch = [];
      }
    }
  }
  if (batch.length > 0) yield { inputs: batch, warm: records <= split };
}

/** Runs one variant (or decode-only pass-through, `variant` undefined) over a generated stream. */
export async function measureScale(shape: ScaleShape, accounts: number, records: number, variant: Variant | undefined): Promise<ScaleRow> {
  const ledger = new InMemoryLedger({ destination: 'bench', epoch: 'live' });
  const built = variant ? makeEngine(variant, { ledger, deadLetters: noopDeadLetters }, 'bench') : undefined;
  const passThrough = noopDestination('pass-through', 'every-version');
  let cpuMicros = 0;
  let wallMs = 0;
  let inputs = 0;
  let peak = 0;
  let batches = 0;
  // Start from a clean heap, so one run's garbage neither slows the next one's collections nor counts in its peak.
  (globalThis as { gc?: () => void }).gc?.();
  const baseline = process.memoryUsage().heapUsed;
  const warm = warmRecords(shape, accounts);
  let warmWrites = 0;
  for (const { inputs: batch, warm: warming } of scaleBatches(shape, accounts, warm + records, warm)) {
    // The accounts' history (see `warmRecords`): processed like the rest, neither timed nor counted.
    if (warming) {
      const decoded = decodeBatch(batch);
      const lane = variant?.homeLanes ? decoded[0]?.shardId : undefined;
      if (built) await built.engine.process(decoded, lane === undefined ? {} : { lane });
      warmWrites = ledger.store.requests.writes;
      continue;
    }
    const cpu = process.cpuUsage();
    const started = performance.now();
    const decoded = decodeBatch(batch);
    const lane = variant?.homeLanes ? decoded[0]?.shardId : undefined;
    if (built) await built.engine.process(decoded, lane === undefined ? {} : { lane });
    else await passThrough.deliver(decoded.map((record) => ({ record, healed: false, replay: false, epoch: 'live' })));
    wallMs += performance.now() - started;
    const used = process.cpuUsage(cpu);
    cpuMicros += used.user + used.system;
    inputs += batch.length;
    batches += 1;
    if (batches % 200 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed);
  }
  peak = Math.max(peak, process.memoryUsage().heapUsed);
  const writes = ledger.store.requests.writes - warmWrites;
  return {
    shape,
    accounts,
    records: inputs,
    variant: variant?.label ?? 'pass-through (decode only)',
    recordsPerSecond: Math.round(inputs / (wallMs / 1000)),
    cpuMicrosPerRecord: round(cpuMicros / inputs, 2),
    ledgerWritesPerRecord: round(writes / inputs, 3),
    peakHeapMiB: Math.round(Math.max(0, peak - baseline) / 1024 / 1024),
  };
}
