import { randomUUID } from 'node:crypto';
import { InMemoryLedger, InMemoryLedgerStore } from '../../shared/ledger/in-memory-ledger';
import type { DeliveryMode, InOrderCommit } from '../../shared/ordering/delivery-mode';
import { OrderingEngine, type ProcessOptions } from '../../shared/ordering/engine';
import type { BatchOutcome } from '../../shared/ordering/outcome';
import type { ChangeRecord } from '../../shared/change-record/change-record';
import type { Delivery, DeliveryResult, Destination, Ledger } from '../../shared/ordering/ports';
import { ManualClock } from '../support/engine-harness';
import { RecordingDeadLetterQueue, RecordingDestination } from '../../local/recording-destination';
import { prng } from '../../local/prng';
import type { Stream } from './stream-model';
import { laneOptions } from '../../shared/consumer/lanes';
import { Crash, guarded } from '../../local/guarded-ledger';

export { Crash };

/** Where the engines keep their ledger: one shared table, however many engines. */
export interface LedgerBackend {
  /** A ledger on the shared table, for destination `dest` in epoch `live`. */
  ledger(): Ledger;
  /** Every parked record left in the table. */
  allParked(): Promise<ChangeRecord[]>;
}

export function inMemoryBackend(): LedgerBackend {
  const store = new InMemoryLedgerStore();
  const ledger = (): InMemoryLedger => new InMemoryLedger({ destination: 'dest', epoch: 'live', store });
  return { ledger, allParked: async () => ledger().allParked() };
}

export interface DriveOptions {
  readonly mode: DeliveryMode;
  readonly inOrderCommit?: InOrderCommit;
  /** Chance that an engine dies right after a destination call it made was applied, before any commit. */
  readonly crashRate: number;
  readonly seed: number;
  /** Awaited before every ledger operation, e.g. a fast-check scheduler's task, to vary interleavings. */
  readonly interleave?: () => Promise<void>;
  /** @default an in-memory ledger */
  readonly backend?: LedgerBackend;
  /** `latest-state`: the engine leaves stale refusal to the destination and never touches the ledger. */
  readonly destinationEnforced?: boolean;
  /**
   * Pass each shard as the batches' lane, so `in-order` accounts get a home lane (see `ProcessOptions.lane`).
   * `partition-key`: a `parallelizationFactor` above 1, as Lambda runs it: each shard's records go to one of
   * `PARTITION_KEY_FACTOR` sub-lanes by partition key, which run side by side, each one batch at a time, and an
   * account's lane is the shard and the key of its first record in the batch (`laneOptions`). Most of an account's
   * records share one key; some come with another (DynamoDB's choice, which the engine must not rely on).
   * @default every other seed: both the claim-only path and home lanes are exercised by every property
   */
  readonly lanes?: boolean | 'partition-key';
}

export interface DriveResult {
  readonly destination: RecordingDestination;
  readonly deadLetters: RecordingDeadLetterQueue;
  /** Parked records left in the ledger after the drain. */
  readonly parked: readonly ChangeRecord[];
  /** Crashes of an engine that had delivered to the account. */
  readonly crashesByAccount: ReadonlyMap<string, number>;
  readonly crashes: number;
  /** Problems found while driving (a record without a disposition, a sweep that never settles). */
  readonly problems: string[];
}

const CLAIM_TTL_MS = 5_000;
const MAX_CRASHES = 25;

/**
 * Feeds the stream to engines as Lambda would: each shard's batches in order, shards at the same time, a batch that
 * failed (a crash, or records reported failed) retried on a fresh engine instance. Then sweeps, as the scheduled
 * sweeper would, with the clock moved past every claim, until no account waits any more.
 */
export async function drive(stream: Stream, options: DriveOptions): Promise<DriveResult> {
  const backend = options.backend ?? inMemoryBackend();
  const clock = new ManualClock();
  const destination = new RecordingDestination('dest', options.mode);
  const deadLetters = new RecordingDeadLetterQueue();
  const random = prng(options.seed ^ 0x5bd1e995);
  const crashesByAccount = new Map<string, number>();
  const problems: string[] = [];
  let crashes = 0;

  const engine = (dead: { value: boolean } | undefined): OrderingEngine => {
    // A crash kills the process: every account this engine delivered to may have lost its commit.
    const touched = new Set<string>();
    const ledger = guarded(backend.ledger(), async () => {
      await options.interleave?.();
      if (dead?.value) throw new Crash();
    });
    const crashing: Destination = {
      name: destination.name,
      mode: destination.mode,
      deliver: async (deliveries: readonly Delivery[]): Promise<readonly DeliveryResult[]> => {
        if (dead?.value) throw new Crash();
        const results = await destination.deliver(deliveries);
        for (const delivery of deliveries) touched.add(delivery.record.accountId);
        if (dead && crashes < MAX_CRASHES && random() < options.crashRate) {
          dead.value = true;
          crashes += 1;
          for (const account of touched) crashesByAccount.set(account, (crashesByAccount.get(account) ?? 0) + 1);
          throw new Crash();
        }
        return results;
      },
    };
    return new OrderingEngine({
      destination: crashing,
      ledger,
      deadLetters,
      clock: clock.now,
      owner: randomUUID(),
      claimTtlMs: CLAIM_TTL_MS,
      maxGapAgeMs: Number.MAX_SAFE_INTEGER,
      ...(options.inOrderCommit ? { inOrderCommit: options.inOrderCommit } : {}),
      ...(options.destinationEnforced ? { destinationEnforced: true } : {}),
    });
  };

  const checkTotal = (input: readonly ChangeRecord[], outcome: BatchOutcome): void => {
    const settled = outcome.dispositions.map((d) => d.sequenceNumber).sort();
    const expected = input.map((r) => r.sequenceNumber).sort();
    if (settled.join() !== expected.join()) {
      problems.push(`a batch of ${input.length} records came back with ${settled.length} dispositions`);
    }
  };

  // Each shard is a lane: its batches one at a time, as Lambda runs them (an account's copies may be on any shard).
  const consumeShard = async (batches: readonly ChangeRecord[][], shard: number): Promise<void> => {
    if (options.lanes === 'partition-key') {
      const keys = partitionKeys(batches.flat(), prng(options.seed + shard));
      // The consumer's own rule (`laneOptions`), on the inputs the records came in.
      const lanesOf = (batch: readonly ChangeRecord[]): ProcessOptions =>
        laneOptions('partition-key', [], batch.map((record) => ({ input: { data: '', sequenceNumber: record.sequenceNumber, shardId: `shard-${shard}`, partitionKey: keys.get(record.sequenceNumber) as string }, record })), PARTITION_KEY_FACTOR);
      await Promise.all(subLanes(batches, keys).map((sub) => consumeLane(sub, lanesOf)));
      return;
    }
    const lane = (options.lanes ?? (options.seed & 1) === 0) ? `shard-${shard}` : undefined;
    await consumeLane(batches, () => (lane === undefined ? {} : { lane }));
  };
  const consumeLane = async (batches: readonly ChangeRecord[][], lanes: (batch: readonly ChangeRecord[]) => ProcessOptions): Promise<void> => {
    const queue = [...batches];
    while (queue.length > 0) {
      const batch = queue.shift() as ChangeRecord[];
      try {
        const outcome = await engine({ value: false }).process(batch, lanes(batch));
        checkTotal(batch, outcome);
        const failed = new Set(outcome.failed.map((position) => position.sequenceNumber));
        if (failed.size > 0) queue.unshift(batch.filter((record) => failed.has(record.sequenceNumber)));
      } catch (error) {
        if (!(error instanceof Crash)) throw error;
        queue.unshift(batch);
      }
    }
  };
  await Promise.all(stream.shards.map(consumeShard));

  const sweeper = engine(undefined);
  const left = await sweepUntilSettled(backend.ledger(), () => sweeper.sweep(), () => clock.advance(CLAIM_TTL_MS + 1), 20);
  if (left !== undefined) problems.push(left);
  const parked = await backend.allParked();
  return { destination, deadLetters, parked, crashesByAccount, crashes, problems };
}

/** Sub-lanes per shard with `lanes: 'partition-key'`. */
export const PARTITION_KEY_FACTOR = 3;

/** Each record's partition key (by sequence number): its account's, or now and then another. */
function partitionKeys(records: readonly ChangeRecord[], random: () => number): ReadonlyMap<string, string> {
  const keys = new Map<string, string>();
  for (const record of records) keys.set(record.sequenceNumber, random() < 0.1 ? `${record.accountId}~${Math.floor(random() * 2)}` : record.accountId);
  return keys;
}

/** A shard's records split over its sub-lanes by key, in stream order, cut into batches as long as the shard's. */
function subLanes(batches: readonly ChangeRecord[][], keys: ReadonlyMap<string, string>): ChangeRecord[][][] {
  const size = Math.max(1, ...batches.map((batch) => batch.length));
  const lanes: ChangeRecord[][] = Array.from({ length: PARTITION_KEY_FACTOR }, () => []);
  for (const record of batches.flat()) lanes[keyHash(keys.get(record.sequenceNumber) as string) % PARTITION_KEY_FACTOR]?.push(record);
  return lanes.map((records) => Array.from({ length: Math.ceil(records.length / size) }, (_, i) => records.slice(i * size, (i + 1) * size)));
}

function keyHash(key: string): number {
  let hash = 0;
  for (let i = 0; i < key.length; i += 1) hash = (hash * 31 + key.charCodeAt(i)) >>> 0;
  return hash;
}

/**
 * After the stream: sweeps (each after `advance`, which lets claims and fences expire) until no account waits, at most
 * `rounds` times. The problem, if accounts still wait then.
 */
export async function sweepUntilSettled(inspector: Ledger, sweep: () => Promise<unknown>, advance: () => void, rounds: number): Promise<string | undefined> {
  for (let round = 0; ; round += 1) {
    advance();
    let waiting = 0;
    for await (const _account of inspector.waiting()) waiting += 1;
    if (waiting === 0) return undefined;
    if (round === rounds) return `${waiting} accounts still waiting after ${rounds} sweeps`;
    await sweep();
  }
}

export { guarded };
