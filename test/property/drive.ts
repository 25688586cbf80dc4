import { randomUUID } from 'node:crypto';
import { InMemoryLedger, InMemoryLedgerStore } from '../../shared/ledger/in-memory-ledger';
import type { DeliveryMode, InOrderCommit } from '../../shared/ordering/delivery-mode';
import { OrderingEngine } from '../../shared/ordering/engine';
import type { BatchOutcome } from '../../shared/ordering/outcome';
import type { ChangeRecord } from '../../shared/change-record/change-record';
import type { Delivery, DeliveryResult, Destination, Ledger } from '../../shared/ordering/ports';
import { ManualClock } from '../support/engine-harness';
import { RecordingDeadLetterQueue, RecordingDestination } from '../../local/recording-destination';
import { prng } from '../../local/prng';
import type { Stream } from './stream-model';

/** A simulated process death: nothing after it runs, not even clean-up. */
export class Crash extends Error {
  constructor() {
    super('injected crash');
    this.name = 'Crash';
  }
}

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
   * @default every other seed: both the claim-only path and home lanes are exercised by every property
   */
  readonly lanes?: boolean;
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
    const lane = (options.lanes ?? (options.seed & 1) === 0) ? `shard-${shard}` : undefined;
    const queue = [...batches];
    while (queue.length > 0) {
      const batch = queue.shift() as ChangeRecord[];
      try {
        const outcome = await engine({ value: false }).process(batch, lane === undefined ? {} : { lane });
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
  const inspector = backend.ledger();
  for (let round = 0; ; round += 1) {
    clock.advance(CLAIM_TTL_MS + 1);
    let waiting = 0;
    for await (const _account of inspector.waiting()) waiting += 1;
    if (waiting === 0) break;
    if (round === 20) {
      problems.push(`${waiting} accounts still waiting after 20 sweeps`);
      break;
    }
    await sweeper.sweep();
  }
  const parked = await backend.allParked();
  return { destination, deadLetters, parked, crashesByAccount, crashes, problems };
}

/** The same ledger with `before` awaited ahead of every operation: where a dead engine finds out it is dead. */
function guarded(ledger: Ledger, before: () => Promise<void>): Ledger {
  return {
    destination: ledger.destination,
    epoch: ledger.epoch,
    load: async (accountIds) => (await before(), ledger.load(accountIds)),
    parked: async (accountId, from, to, limit) => (await before(), ledger.parked(accountId, from, to, limit)),
    write: async (write) => (await before(), ledger.write(write)),
    waiting: (after) => ledger.waiting(after),
    sweepPosition: async () => (await before(), ledger.sweepPosition()),
    saveSweepPosition: async (position) => (await before(), ledger.saveSweepPosition(position)),
  };
}
