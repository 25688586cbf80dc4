import { performance } from 'node:perf_hooks';
import type { AccountImage } from '../shared/accounts/account';
import { nextAccountImage } from '../local/account-images';
import type { ChangeRecord } from '../shared/change-record/change-record';
import { encodeKinesisPayload, type KinesisRecordInput } from '../shared/change-record/kinesis-input';
import { contenderFor, type Contender } from './contenders';
import { round, SHARD_ID, toPayload } from './workloads';
import { heapAfterFullGc, type PassRetained } from './scale-memory';

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
 *
 * Memory is measured twice over. The sampled peak (`peakHeapMiB`) is `heapUsed` as the run goes, garbage the collector
 * has not reclaimed yet included: with the 4 GiB old generation the scale runs need (`scaleNodeFlags`) it says more
 * about when V8 chose to collect than about what the run keeps. What the run keeps is measured at the end of each
 * pass, after its last timed batch, after a full collection (`heapAfterFullGc`); then the engine with its in-memory
 * ledger, and then the generator, are dropped and collected again, to tell the per-account state they hold (the
 * ledger twin's watermarks, the generator's last image of every account) from the rest (`ScaleRetained`).
 */
export type ScaleShape = 'cold' | 'hot';

export interface ScaleRow {
  readonly shape: ScaleShape;
  readonly accounts: number;
  /** The changes of one pass over the stream (its length; 1% more arrive, as copies). */
  readonly streamRecords: number;
  /** Records measured, over all passes. */
  readonly records: number;
  readonly variant: string;
  /** Passes over the stream the row sums: the smaller run repeats its stream while the larger one runs. */
  readonly passes: number;
  readonly recordsPerSecond: number;
  /** Decode + engine CPU time per record. */
  readonly cpuMicrosPerRecord: number;
  readonly ledgerWritesPerRecord: number;
  /**
   * Largest `heapUsed` sampled during the measured batches (every 200 batches and at the end), above the heap after the
   * history and a full collection, MiB: garbage not yet collected included, so it follows V8's collection schedule.
   * `ScaleRetained` says what is kept.
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
 * `images` keeps the last image of every account (the next change's old image): the generator's per-account state,
 * given by the caller so that it can measure it.
 */
export function* scaleBatches(
  shape: ScaleShape,
  accounts: number,
  records: number,
  split = 0,
  images = new Map<number, AccountImage>(),
): Generator<ScaleBatch> {
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

/** What one pass over a stream (or part of one) measured. */
export interface ScaleTotals {
  readonly inputs: number;
  /** Decode + engine CPU time. */
  readonly cpuMicros: number;
  readonly wallMs: number;
  readonly writes: number;
  /** Largest heap seen above the heap at the pass's start. */
  readonly peakHeapBytes: number;
  /** What the pass kept at the end of its stream (absent before it, and without `--expose-gc`). */
  readonly retained?: PassRetained;
}

/** A row of (d) from the passes of one variant over one size (a run's records over all of them). */
export function scaleRow(shape: ScaleShape, accounts: number, streamRecords: number, variant: string, passes: readonly ScaleTotals[]): ScaleRow {
  const sum = (of: (totals: ScaleTotals) => number) => passes.reduce((total, totals) => total + of(totals), 0);
  const inputs = sum((totals) => totals.inputs);
  return {
    shape,
    accounts,
    streamRecords,
    records: inputs,
    variant,
    passes: passes.length,
    recordsPerSecond: Math.round(inputs / (sum((totals) => totals.wallMs) / 1000)),
    cpuMicrosPerRecord: round(sum((totals) => totals.cpuMicros) / inputs, 2),
    ledgerWritesPerRecord: round(sum((totals) => totals.writes) / inputs, 3),
    peakHeapMiB: Math.round(Math.max(...passes.map((totals) => totals.peakHeapBytes)) / 1024 / 1024),
  };
}

type ScaleBatch = { readonly inputs: KinesisRecordInput[]; readonly warm: boolean };

export interface ScaleRunOptions {
  /** The child's heap before any history, when an earlier run measured it (so every pass is measured from the same). */
  readonly emptyHeap?: number;
}

/**
 * One contender of (d) (pass-through or an engine variant, by key: see `contenderFor`) over a generated stream, a few
 * batches at a time, so that two runs in processes of their own can take turns (`scale-pair.ts`): `warm` gives every
 * account its history (untimed), `step` runs the next measured batches, `totals` says what they cost (`scaleRow` makes
 * a row of passes, `scaleRetained` what they kept). With `--expose-gc`, the step that ends the stream then measures
 * the retained heap (untimed), dropping the engine and the generator to tell them apart: the run is over.
 */
export class ScaleRun {
  /** Dropped at the end of the stream, once measured. */
  private contender: Contender | undefined;
  private stream: Generator<ScaleBatch> | undefined;
  /** The generator's last image of every account (held here, not only by the generator, which lets go of it at its end). */
  private images: Map<number, AccountImage> | undefined = new Map();
  /** The next measured batch, generated ahead. */
  private pending: ScaleBatch | undefined;
  private empty: number | undefined;
  private retained: PassRetained | undefined;
  private ended = false;
  private cpuMicros = 0;
  private wallMs = 0;
  private inputs = 0;
  private batches = 0;
  private peak = 0;
  private baseline = 0;
  private warmWrites = 0;
  private endWrites = 0;

  constructor(
    shape: ScaleShape,
    accounts: number,
    records: number,
    contender: string,
    options: ScaleRunOptions = {},
  ) {
    this.contender = contenderFor(contender);
    const warm = warmRecords(shape, accounts);
    this.stream = scaleBatches(shape, accounts, warm + records, warm, this.images);
    this.empty = options.emptyHeap;
  }

  /** The heap before any history (after a full collection), once `warm` has measured it: give it to the next pass. */
  get emptyHeap(): number | undefined {
    return this.empty;
  }

  /** The accounts' history (see `warmRecords`): processed like the rest, neither timed nor counted. */
  async warm(): Promise<void> {
    this.empty ??= await heapAfterFullGc();
    for (let next = this.nextBatch(); next !== undefined; next = this.nextBatch()) {
      if (!next.warm) {
        this.pending = next;
        break;
      }
      await (this.contender as Contender).step(next.inputs);
    }
    this.warmWrites = this.writes();
    // Start from a clean heap, so the history's garbage neither slows the measured collections nor counts in the peak.
    this.baseline = (await heapAfterFullGc()) ?? process.memoryUsage().heapUsed;
  }

  /** Runs up to `batches` measured batches; true once the stream has ended. */
  async step(batches: number): Promise<boolean> {
    if (this.ended) return true;
    // Once the batches' frame is gone, so that nothing of theirs is held while `end` measures.
    if (await this.runBatches(batches)) await this.end();
    return this.ended;
  }

  private async runBatches(batches: number): Promise<boolean> {
    for (let done = 0; done < batches; done += 1) {
      const next = this.pending ?? this.nextBatch();
      this.pending = undefined;
      if (next === undefined) break;
      const cpu = process.cpuUsage();
      const started = performance.now();
      await (this.contender as Contender).step(next.inputs);
      this.wallMs += performance.now() - started;
      const used = process.cpuUsage(cpu);
      this.cpuMicros += used.user + used.system;
      this.inputs += next.inputs.length;
      this.batches += 1;
      if (this.batches % 200 === 0) this.peak = Math.max(this.peak, process.memoryUsage().heapUsed);
    }
    // Generated ahead (untimed), so the step that ran the last batch says the stream has ended.
    this.pending ??= this.nextBatch();
    return this.pending === undefined;
  }

  /** What the measured batches so far cost, and what the pass kept. */
  totals(): ScaleTotals {
    const peak = Math.max(this.peak, process.memoryUsage().heapUsed);
    return {
      inputs: this.inputs,
      cpuMicros: this.cpuMicros,
      wallMs: this.wallMs,
      writes: this.writes() - this.warmWrites,
      peakHeapBytes: Math.max(0, peak - this.baseline),
      ...(this.retained ? { retained: this.retained } : {}),
    };
  }

  /** The retained heap now, above the heap before any history; undefined without `--expose-gc`. */
  private async retainedNow(): Promise<number | undefined> {
    const heap = await heapAfterFullGc();
    return heap === undefined || this.empty === undefined ? undefined : heap - this.empty;
  }

  /**
   * The end of the stream: the heap retained, then again without the engine and its ledger, then without the
   * generator too. Nothing else holds them, so what each drop frees is theirs.
   */
  private async end(): Promise<void> {
    this.ended = true;
    this.peak = Math.max(this.peak, process.memoryUsage().heapUsed);
    const all = await this.retainedNow();
    this.endWrites = this.writes();
    this.contender = undefined;
    const withoutEngine = await this.retainedNow();
    this.stream = undefined;
    this.images = undefined;
    const other = await this.retainedNow();
    if (all !== undefined && withoutEngine !== undefined && other !== undefined) {
      this.retained = { all, ledgerTwin: all - withoutEngine, generator: withoutEngine - other, other };
    }
  }

  private nextBatch(): ScaleBatch | undefined {
    const next = this.stream?.next();
    return next === undefined || next.done ? undefined : next.value;
  }

  private writes(): number {
    return this.contender === undefined ? this.endWrites : this.contender.result({ ms: 0, cpuMs: 0 }).ledgerWrites;
  }
}
