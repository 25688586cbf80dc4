import { performance } from 'node:perf_hooks';
import type { ChangeRecord } from '../shared/change-record/change-record';
import { decodeChangeRecord } from '../shared/change-record/decode';
import type { KinesisRecordInput } from '../shared/change-record/kinesis-input';
import { InMemoryLedger } from '../shared/ledger/in-memory-ledger';
import { addCounts, zeroCounts, type EngineCounts } from '../shared/ordering/outcome';
import type { Delivery } from '../shared/ordering/ports';
import { makeEngine, noopDestination, noopDeadLetters, VARIANTS, type Variant } from '../local/engine-variants';
import { ACCOUNTS_TABLE, type ThroughputWorkload } from './workloads';

/*
 * Bench (a)'s contenders: decoding alone (pass-through) and decoding with each engine mode, batch by batch. Free of
 * the orchestration (`engine-throughput.ts`), so a contender's process bundles only what a function would.
 */

export function decodeBatch(batch: readonly KinesisRecordInput[]): ChangeRecord[] {
  const records: ChangeRecord[] = [];
  for (const input of batch) {
    const result = decodeChangeRecord(input, { tableName: ACCOUNTS_TABLE });
    if (!result.ok) throw new Error(`bench input did not decode: ${result.bad.reason}: ${result.bad.detail}`);
    records.push(result.record);
  }
  return records;
}

const asDelivery = (record: ChangeRecord): Delivery => ({ record, healed: false, replay: false, epoch: 'live' });

export interface RunResult {
  /** Wall time. */
  readonly ms: number;
  /** CPU time of this process (user + system, all threads, GC helpers included). */
  readonly cpuMs: number;
  readonly counts: EngineCounts;
  readonly ledgerWrites: number;
  readonly ledgerReads: number;
  readonly deliveries: number;
  readonly destinationCalls: number;
}

type Batches = ThroughputWorkload['batches'];

/** Wall and CPU time of `work`, taken around it. */
export async function timed(work: () => Promise<void>): Promise<{ ms: number; cpuMs: number }> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  await work();
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return { ms, cpuMs: (used.user + used.system) / 1000 };
}

/** Decode only, and one no-op destination call per batch: one whole run (`bench/profile.ts`). */
export async function runPassThrough(batches: Batches): Promise<RunResult> {
  return runWhole(passThroughContender(), batches);
}

/** Decode and `OrderingEngine.process` per batch, with a fresh in-memory ledger: one whole run. */
export async function runEngine(batches: Batches, variant: Variant): Promise<RunResult> {
  return runWhole(engineContender(variant), batches);
}

async function runWhole(contender: Contender, batches: Batches): Promise<RunResult> {
  return contender.result(
    await timed(async () => {
      for (const batch of batches) await contender.step(batch);
    }),
  );
}

/** Pass-through or one engine variant, run a chunk of batches at a time, its time summed over the chunks. */
export interface Contender {
  readonly key: string;
  step(batch: Batches[number]): Promise<void>;
  result(time: { ms: number; cpuMs: number }): RunResult;
}

function passThroughContender(): Contender {
  const destination = noopDestination('pass-through', 'every-version');
  return {
    key: PASS,
    step: async (batch) => {
      await destination.deliver(decodeBatch(batch).map(asDelivery));
    },
    result: (time) => ({ ...time, counts: zeroCounts(), ledgerWrites: 0, ledgerReads: 0, deliveries: destination.deliveries, destinationCalls: destination.calls }),
  };
}

function engineContender(variant: Variant): Contender {
  const ledger = new InMemoryLedger({ destination: 'bench', epoch: 'live' });
  const { engine, destination } = makeEngine(variant, { ledger, deadLetters: noopDeadLetters }, 'bench');
  const counts = zeroCounts();
  return {
    key: variant.key,
    step: async (batch) => {
      const records = decodeBatch(batch);
      const lane = variant.homeLanes ? records[0]?.shardId : undefined;
      addCounts(counts, (await engine.process(records, lane === undefined ? {} : { lane })).counts);
    },
    result: (time) => ({ ...time, counts, ledgerWrites: ledger.store.requests.writes, ledgerReads: ledger.store.requests.reads, deliveries: destination.deliveries, destinationCalls: destination.calls }),
  };
}

export const PASS = 'pass-through';

/** The variant a contender's key names: undefined for `PASS`; an unknown key throws. */
export function variantOf(key: string): Variant | undefined {
  if (key === PASS) return undefined;
  const variant = VARIANTS.find((candidate) => candidate.key === key);
  if (!variant) throw new Error(`no bench contender ${key}`);
  return variant;
}

/** A contender's name in a table: its variant's label, or pass-through's. */
export function contenderLabel(key: string): string {
  return variantOf(key)?.label ?? 'pass-through (decode only)';
}

/** A fresh contender (with a fresh ledger, for an engine) by key: `PASS` or a variant's key. */
export function contenderFor(key: string): Contender {
  const variant = variantOf(key);
  return variant ? engineContender(variant) : passThroughContender();
}

