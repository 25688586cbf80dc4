import { decodeChangeRecord } from '../../shared/change-record/decode';
import type { KinesisRecordInput } from '../../shared/change-record/kinesis-input';
import type { BridgedChange } from '../bridge/kinesis-bridge-options';
import { heldTimes, percentile, WARM_UP_MS } from './delivery-latency';
import type { Accepted } from './read-back';

/** The stages of commit → delivery, each timed where its work happens (median of the warm changes, ms). */
export interface StageBreakdown {
  /** Commit in DynamoDB → the bridge read it from the DynamoDB stream. */
  readonly streamRead: number;
  /** → Kinesis acknowledged the put. */
  readonly kinesisPut: number;
  /** → the EFO subscription pushed it to the mapping: kinesis-mock pushes once a second (AWS: about 70 ms). */
  readonly efoPush: number;
  /** → the invocation started (batching window, a batch in flight on the shard, a free environment). */
  readonly batchWait: number;
  /**
   * → the engine had the batch's watermarks: the handoff to an execution environment, decoding, and the ledger's
   * answer to the batch's one `load`, timed in the environment as it answered. 0 where the function reads no ledger
   * (`destinationEnforced`), whose time is all in `destinationWrite`.
   */
  readonly ledgerRead: number;
  /** → the destination held it: the engine's work, claims and the destination call, with their retries (the commit comes after). */
  readonly destinationWrite: number;
  /** Median of the whole, and of the whole without the emulator's EFO push: the project's own share. */
  readonly total: number;
  readonly withoutEfoPush: number;
  readonly samples: number;
  /**
   * The same stages, median over the slowest 5% of the changes (by total): where the tail's time goes, which the
   * medians above cannot show. Absent with fewer than 20 samples.
   */
  readonly slowest?: Omit<StageBreakdown, 'slowest'>;
}

type StageName = Exclude<keyof StageBreakdown, 'samples' | 'slowest'>;
const STAGE_NAMES: readonly StageName[] = ['streamRead', 'kinesisPut', 'efoPush', 'batchWait', 'ledgerRead', 'destinationWrite', 'total', 'withoutEfoPush'];

/**
 * When each change first reached each mapping, each invocation and each ledger read, per destination. Each is the
 * first time: a record retried in a later invocation keeps its first invocation's marks, so the time it spent failing
 * falls in the stage it failed in.
 */
export class StageClock {
  readonly #received = new Map<string, Map<string, number>>();
  readonly #invoked = new Map<string, Map<string, number>>();
  readonly #ledgerRead = new Map<string, Map<string, number>>();
  readonly #keys = new Map<string, string | undefined>();

  constructor(private readonly tableName: string) {}

  received(destination: string, records: readonly KinesisRecordInput[], atMs: number): void {
    this.#mark(this.#received, destination, records, atMs);
  }

  invoked(destination: string, records: readonly KinesisRecordInput[], atMs: number): void {
    this.#mark(this.#invoked, destination, records, atMs);
  }

  /** An invocation carrying these records had their batch's watermarks from the ledger (`LocalFunction.onLedgerRead`). */
  ledgerRead(destination: string, records: readonly KinesisRecordInput[], atMs: number): void {
    this.#mark(this.#ledgerRead, destination, records, atMs);
  }

  /**
   * The breakdown of the changes made after the warm-up that reached the destination (`accepted`, first copy; with
   * `freshness`, a `latest-state` destination's, when it held the version or a newer one: the same changes its
   * percentiles cover, see `heldTimes`).
   */
  breakdown(destination: string, changes: readonly BridgedChange[], accepted: readonly Pick<Accepted, 'accountId' | 'version' | 'at'>[], freshness = false): StageBreakdown {
    const delivered = heldTimes(accepted, changes.map((change) => `${change.accountId}#${change.version}`), freshness);
    const firstMs = Math.min(...changes.map((change) => change.createdAtMicros / 1000));
    const samples: Record<StageName, number>[] = [];
    for (const change of changes) {
      const created = change.createdAtMicros / 1000;
      if (created < firstMs + WARM_UP_MS) continue;
      const key = `${change.accountId}#${change.version}`;
      const received = this.#received.get(destination)?.get(key);
      const invoked = this.#invoked.get(destination)?.get(key);
      const done = delivered.get(key);
      if (received === undefined || invoked === undefined || done === undefined) continue;
      const efo = Math.max(0, received - change.putAtMs);
      // No read (a function that reads no ledger) puts it at the invocation; within invoked..done, the two sum to it.
      const read = Math.min(Math.max(this.#ledgerRead.get(destination)?.get(key) ?? invoked, invoked), Math.max(invoked, done));
      samples.push({
        streamRead: Math.max(0, change.readAtMs - created),
        kinesisPut: Math.max(0, change.putAtMs - change.readAtMs),
        efoPush: efo,
        batchWait: Math.max(0, invoked - received),
        ledgerRead: read - invoked,
        destinationWrite: Math.max(0, done - read),
        total: Math.max(0, done - created),
        withoutEfoPush: Math.max(0, done - created - efo),
      });
    }
    const breakdown = medians(samples);
    if (samples.length < 20) return breakdown;
    const slowest = [...samples].sort((a, b) => b.total - a.total).slice(0, Math.ceil(samples.length * 0.05));
    return { ...breakdown, slowest: medians(slowest) };
  }

  #mark(marks: Map<string, Map<string, number>>, destination: string, records: readonly KinesisRecordInput[], atMs: number): void {
    let mine = marks.get(destination);
    if (!mine) marks.set(destination, (mine = new Map()));
    for (const record of records) {
      const key = this.#keyOf(record);
      if (key !== undefined && !mine.has(key)) mine.set(key, atMs);
    }
  }

  /**
   * `<account>#<version>` of a stream record, decoded once: every destination receives it and may invoke with it
   * several times, and this runs in the mappings' path.
   */
  #keyOf(record: KinesisRecordInput): string | undefined {
    const id = `${record.shardId}/${record.sequenceNumber}`;
    if (this.#keys.has(id)) return this.#keys.get(id);
    const decoded = decodeChangeRecord(record, { tableName: this.tableName });
    const key = decoded.ok ? `${decoded.record.accountId}#${decoded.record.version}` : undefined;
    this.#keys.set(id, key);
    return key;
  }
}

function medians(samples: readonly Record<StageName, number>[]): Omit<StageBreakdown, 'slowest'> {
  const out = { samples: samples.length } as Record<StageName | 'samples', number>;
  for (const name of STAGE_NAMES) out[name] = percentile(samples.map((sample) => sample[name]), 0.5);
  return out as Omit<StageBreakdown, 'slowest'>;
}
