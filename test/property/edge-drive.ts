import { randomUUID } from 'node:crypto';
import type { ChangeRecord } from '../../shared/change-record/change-record';
import { InMemoryLedger, InMemoryLedgerStore } from '../../shared/ledger/in-memory-ledger';
import { LIVE_EPOCH, type DeliveryMode, type Epoch, type InOrderCommit } from '../../shared/ordering/delivery-mode';
import { OrderingEngine, type SkipGapResult } from '../../shared/ordering/engine';
import { addCounts, zeroCounts, type BatchOutcome, type RecordDisposition } from '../../shared/ordering/outcome';
import type { DeadLetter, DeadLetterQueue, Destination, Ledger, LedgerWrite, LedgerWriteResult } from '../../shared/ordering/ports';
import type { Watermark } from '../../shared/ordering/watermark';
import { prng } from '../../local/prng';
import { RecordingDeadLetterQueue } from '../../local/recording-destination';
import { ManualClock } from '../support/engine-harness';
import { Crash } from './drive';
import { LoggingDestination, type Slowness } from './logging-destination';

export type { Applied, Slowness } from './logging-destination';

/**
 * The edge-path driver: like `drive`, Lambda-style consumption of a stream (shards at once, batches in order, a failed
 * or crashed batch retried on a fresh engine), but for several epochs at once (each its own destination, queue and
 * ledger keys in one table), with a finite gap age, a clock that may move between batches, a destination that may be
 * slow (and then honours its call's deadline, as an aborting client does), and operator actions between drains.
 */

export interface LaneSpec {
  readonly mode: DeliveryMode;
  readonly inOrderCommit?: InOrderCommit;
  /** @default LIVE_EPOCH */
  readonly epoch?: Epoch;
}

/** One destination in one epoch: its sink, queue, ledger keys and everything its engines reported. */
export interface Lane {
  readonly spec: LaneSpec;
  readonly epoch: Epoch;
  readonly destination: LoggingDestination;
  readonly deadLetters: RecordingDeadLetterQueue;
  readonly ledger: InMemoryLedger;
  readonly counts: ReturnType<typeof zeroCounts>;
  readonly dispositions: RecordDisposition[];
  /** Crashes of an engine that had delivered to the account, sent a letter about it or written its watermark. */
  readonly crashesByAccount: Map<string, number>;
  /** Accounts on which a conditional ledger write lost a race. */
  readonly conflicts: Set<string>;
  /** Event ids of every record a committed write parked. */
  readonly everParked: Set<string>;
  /**
   * Per account, versions that a committed write dropped from the watermark's memory of recent deliveries (at most
   * MAX_RECENT_DELIVERIES, with their creation times): another change of such a version is told from a copy only by
   * the newest-creation-time rule.
   */
  readonly forgotten: Map<string, Set<number>>;
  /**
   * GAP_TIMEOUT notices sent by an engine that had not written them pending itself (an unfenced resend): each is a
   * problem of the run.
   */
  readonly takenOver: Set<DeadLetter>;
  /**
   * Accounts whose pending GAP_TIMEOUT notice another engine took over with a pending write of its own, once the
   * writer's time was up (the writer slower than its lease, like a claim run out): the notice may then go out twice.
   */
  readonly noticesTakenOver: Set<string>;
  /** Accounts whose claim another engine took over once it had run out (its holder slower than its claim). */
  readonly claimsTakenOver: Set<string>;
}

export interface WorldOptions {
  /** The driver's own prng seed (crashes, clock steps, slowness): part of the generated shape, printed on failure. */
  readonly seed: number;
  /** Chance that an engine dies right after a destination call it made was applied, before any commit. */
  readonly crashRate: number;
  readonly maxGapAgeMs: number;
  /** @default 5_000 */
  readonly claimTtlMs?: number;
  readonly reserveMs?: number;
  /** After each batch the clock moves 0..clockStepMs (0: it stands still while the stream is consumed). */
  readonly clockStepMs?: number;
  /** Lambda's timeout: each invocation gets `now + invocationMs` as its deadline. */
  readonly invocationMs?: number;
  readonly interleave?: () => Promise<void>;
  /** Engines that stall now and then before a ledger operation (a paused invocation, a throttled ledger call). */
  readonly stall?: Slowness;
}

const MAX_CRASHES = 25;

/**
 * Parked reads one engine may make before the driver takes it for a livelock: far more than a batch of these sizes
 * needs. Such an engine is stopped, as Lambda's timeout would stop it (a crash: its batch is retried on a fresh
 * engine), and the livelock is reported as a problem (`LIVELOCK` in `problems`).
 */
const MAX_PARKED_READS = 1_000;

/** Thrown into an engine found in a livelock: it is stopped like a crashed one. */
export class Livelock extends Crash {}

export class EdgeWorld {
  readonly clock = new ManualClock();
  readonly store = new InMemoryLedgerStore();
  readonly lanes: Lane[];
  /** Problems found while driving: a batch without a disposition per record, a shard that never got through. */
  readonly problems: string[] = [];
  crashes = 0;
  private readonly random: () => number;
  private readonly claimTtlMs: number;

  constructor(
    specs: readonly LaneSpec[],
    readonly options: WorldOptions,
  ) {
    this.random = prng(options.seed ^ 0x5bd1e995);
    this.claimTtlMs = options.claimTtlMs ?? 5_000;
    const sinkRandom = prng(options.seed ^ 0x1b873593);
    this.lanes = specs.map((spec) => {
      const epoch = spec.epoch ?? LIVE_EPOCH;
      return {
        spec,
        epoch,
        destination: new LoggingDestination('dest', spec.mode, this.clock, sinkRandom),
        deadLetters: new RecordingDeadLetterQueue(),
        ledger: new InMemoryLedger({ destination: 'dest', epoch: epoch.id, store: this.store }),
        counts: zeroCounts(),
        dispositions: [],
        crashesByAccount: new Map(),
        conflicts: new Set(),
        everParked: new Set(),
        forgotten: new Map(),
        takenOver: new Set(),
        noticesTakenOver: new Set(),
        claimsTakenOver: new Set(),
      };
    });
  }

  /** Every lane consumes every shard, all at once, until each batch went through. */
  async consume(shards: readonly (readonly ChangeRecord[][])[]): Promise<void> {
    await Promise.all(this.lanes.flatMap((lane) => shards.map((batches, shard) => this.consumeShard(lane, batches, `shard-${shard}`))));
  }

  /**
   * Sweeps, as the scheduled sweeper does, with the clock moved past every claim and the maximum gap age each round,
   * until no account waits or a round changes nothing (in-order accounts behind a timed-out gap wait for an operator).
   */
  async settle(lane: Lane, rounds = 12): Promise<void> {
    const sweeper = this.engine(lane, undefined);
    for (let round = 0; round < rounds; round += 1) {
      this.clock.advance(Math.max(this.claimTtlMs, this.options.maxGapAgeMs) + 1);
      if ((await this.waiting(lane)).length === 0) return;
      const before = this.progress(lane);
      try {
        this.note(lane, [], await sweeper.sweep());
      } catch (error) {
        if (!(error instanceof Livelock)) throw error;
        return;
      }
      if (this.progress(lane) === before) return;
    }
    this.problems.push(`${lane.epoch.id}: accounts still changing after ${rounds} sweeps`);
  }

  /** An operator's `fanout redrive --skip-gap`, on an engine that does not crash. */
  async skipGap(lane: Lane, accountId: string, through: number, reason: string): Promise<SkipGapResult> {
    const result = await this.engine(lane, undefined).skipGap(accountId, through, reason);
    this.note(lane, [], result.outcome);
    return result;
  }

  /** A redrive of dead-lettered records through a fresh engine that does not crash. */
  async redrive(lane: Lane, records: readonly ChangeRecord[]): Promise<void> {
    if (records.length > 0) this.note(lane, records, await this.engine(lane, undefined).process(records));
  }

  async waiting(lane: Lane): Promise<string[]> {
    const accounts: string[] = [];
    for await (const { accountId } of lane.ledger.waiting()) accounts.push(accountId);
    return accounts;
  }

  async watermark(lane: Lane, accountId: string): Promise<Watermark | undefined> {
    return (await lane.ledger.load([accountId])).get(accountId);
  }

  parked(lane: Lane): ChangeRecord[] {
    return lane.ledger.allParked();
  }

  /** One shard's batches, one at a time as Lambda runs them; the shard is the batches' stream lane (`ProcessOptions.lane`). */
  private async consumeShard(lane: Lane, batches: readonly ChangeRecord[][], shard: string): Promise<void> {
    const queue = [...batches];
    let attempts = 0;
    while (queue.length > 0) {
      if ((attempts += 1) > 20 * batches.length + 100) {
        this.problems.push(`${lane.epoch.id}: a shard still had ${queue.length} batches after ${attempts - 1} attempts`);
        return;
      }
      const batch = queue.shift() as ChangeRecord[];
      const deadline = this.options.invocationMs === undefined ? undefined : this.clock.now() + this.options.invocationMs;
      try {
        // Every other seed passes the shard as the batch's lane (home lanes); the others use claims alone.
        const home = (this.options.seed & 1) === 0 ? { lane: shard } : {};
        const outcome = await this.engine(lane, { value: false }).process(batch, deadline === undefined ? home : { deadline, ...home });
        this.note(lane, batch, outcome);
        const failed = new Set(outcome.failed.map((position) => position.sequenceNumber));
        if (failed.size > 0) queue.unshift(batch.filter((record) => failed.has(record.sequenceNumber)));
      } catch (error) {
        if (!(error instanceof Crash)) throw error;
        queue.unshift(batch);
      }
      const step = this.options.clockStepMs ?? 0;
      if (step > 0) this.clock.advance(Math.floor(this.random() * step));
    }
  }

  /** Totals an outcome, and checks that every input record got exactly one disposition. */
  private note(lane: Lane, input: readonly ChangeRecord[], outcome: BatchOutcome): void {
    addCounts(lane.counts, outcome.counts);
    lane.dispositions.push(...outcome.dispositions);
    const settled = outcome.dispositions.map((d) => d.sequenceNumber).sort();
    if (settled.join() !== input.map((r) => r.sequenceNumber).sort().join()) {
      this.problems.push(`${lane.epoch.id}: a batch of ${input.length} records came back with ${settled.length} dispositions`);
    }
  }

  private progress(lane: Lane): string {
    return `${lane.destination.log.length}/${lane.deadLetters.letters.length}/${this.store.requests.writes}`;
  }

  /** An engine of `lane`; with `dead`, one that may crash after a destination call (and is dead from then on). */
  engine(lane: Lane, dead: { value: boolean } | undefined): OrderingEngine {
    // The accounts this engine acted on; once it is dead, each is charged with its crash (once), also one whose write
    // was still under way when it died.
    const touched = new Set<string>();
    const charged = new Set<string>();
    const chargeCrash = (): void => {
      for (const account of touched) {
        if (charged.has(account)) continue;
        charged.add(account);
        lane.crashesByAccount.set(account, (lane.crashesByAccount.get(account) ?? 0) + 1);
      }
    };
    const touch = (accountId: string): void => {
      touched.add(accountId);
      if (dead?.value) chargeCrash();
    };
    // The accounts for which this engine committed a pending GAP_TIMEOUT notice: the notices it may send as their writer.
    // A committed write touches the account too: a crash between writing a notice pending and sending it leaves it to
    // be sent again once the claim has run out.
    const wrotePending = new Set<string>();
    const committed = (request: LedgerWrite): void => {
      if (request.next.gapNotice?.pending) wrotePending.add(request.next.accountId);
      touch(request.next.accountId);
    };
    const sink = lane.destination;
    const crashing: Destination = {
      name: sink.name,
      mode: sink.mode,
      deliver: async (deliveries, options) => {
        if (dead?.value) throw new Crash();
        const results = await sink.deliver(deliveries, options);
        for (const delivery of deliveries) touch(delivery.record.accountId);
        if (dead && this.crashes < MAX_CRASHES && this.random() < this.options.crashRate) {
          dead.value = true;
          this.crashes += 1;
          chargeCrash();
          throw new Crash();
        }
        return results;
      },
    };
    const stall = dead ? this.options.stall : undefined;
    let parkedReads = 0;
    const livelockCheck = (accountId: string): void => {
      if ((parkedReads += 1) <= MAX_PARKED_READS) return;
      this.problems.push(`${lane.epoch.id}: LIVELOCK: an engine read the parked records of ${accountId} ${MAX_PARKED_READS} times and went on; stopped as at Lambda's timeout`);
      if (dead && !dead.value) {
        dead.value = true;
        this.crashes += 1;
        chargeCrash();
      }
      throw new Livelock();
    };
    const ledger = guarded(
      lane,
      async () => {
        await this.options.interleave?.();
        if (stall && stall.rate > 0 && this.random() < stall.rate) this.clock.advance(Math.floor(this.random() * stall.maxMs));
        if (dead?.value) throw new Crash();
      },
      committed,
      livelockCheck,
    );
    // Letters count as touching the account too: a crash between a letter and its commit sends the letter again.
    const deadLetters: DeadLetterQueue = {
      send: async (letters) => {
        if (dead?.value) throw new Crash();
        for (const letter of letters) {
          if (letter.accountId === undefined) continue;
          touch(letter.accountId);
          if (letter.reason === 'GAP_TIMEOUT' && !wrotePending.has(letter.accountId)) {
            lane.takenOver.add(letter);
            this.problems.push(`${lane.epoch.id}: ${letter.accountId}: a GAP_TIMEOUT notice sent by an engine that had not written it pending`);
          }
        }
        return lane.deadLetters.send(letters);
      },
    };
    return new OrderingEngine({
      destination: crashing,
      ledger,
      deadLetters,
      epoch: lane.epoch,
      clock: this.clock.now,
      owner: randomUUID(),
      claimTtlMs: this.claimTtlMs,
      maxGapAgeMs: this.options.maxGapAgeMs,
      ...(this.options.reserveMs === undefined ? {} : { reserveMs: this.options.reserveMs }),
      ...(lane.spec.inOrderCommit ? { inOrderCommit: lane.spec.inOrderCommit } : {}),
    });
  }
}

/** Per lane and account, the last committed watermark. */
const committedWatermarks = new WeakMap<Lane, Map<string, Watermark>>();

function lastCommitted(lane: Lane): Map<string, Watermark> {
  let byAccount = committedWatermarks.get(lane);
  if (byAccount === undefined) committedWatermarks.set(lane, (byAccount = new Map()));
  return byAccount;
}

/**
 * The lane's ledger with `before` awaited ahead of every operation (where a dead engine finds out it is dead),
 * `parkedRead` told of every read of parked records and `committed` of every committed write; it notes the accounts
 * whose writes lose races or whose claims are taken over, the records parked, and the versions the watermark stops
 * remembering as recently delivered.
 */
function guarded(lane: Lane, before: () => Promise<void>, committed: (request: LedgerWrite) => void, parkedRead: (accountId: string) => void): Ledger {
  const ledger = lane.ledger;
  const write = async (request: LedgerWrite): Promise<LedgerWriteResult> => {
    const accountId = request.next.accountId;
    const result = await ledger.write(request);
    if (result === 'conflict') {
      lane.conflicts.add(accountId);
      return result;
    }
    for (const record of request.park) lane.everParked.add(record.eventId);
    // Every write of the lane passes here: the last committed watermark is what this write replaced.
    const stored = lastCommitted(lane);
    const replaced = stored.get(accountId);
    const kept = new Set(request.next.recent.map((entry) => entry.version));
    for (const { version } of replaced?.recent ?? []) {
      if (!kept.has(version)) lane.forgotten.set(accountId, (lane.forgotten.get(accountId) ?? new Set<number>()).add(version));
    }
    const [held, taken] = [replaced?.claim, request.next.claim];
    if (held !== undefined && taken !== undefined && taken.owner !== held.owner) lane.claimsTakenOver.add(accountId);
    const [noticed, renoticed] = [replaced?.gapNotice, request.next.gapNotice];
    if (noticed?.pending && renoticed?.pending && renoticed.at !== noticed.at) lane.noticesTakenOver.add(accountId);
    stored.set(accountId, request.next);
    committed(request);
    return result;
  };
  return {
    destination: ledger.destination,
    epoch: ledger.epoch,
    load: async (accountIds) => (await before(), ledger.load(accountIds)),
    parked: async (accountId, from, to, limit) => (parkedRead(accountId), await before(), ledger.parked(accountId, from, to, limit)),
    write: async (request) => (await before(), write(request)),
    waiting: (after) => ledger.waiting(after),
    sweepPosition: async () => (await before(), ledger.sweepPosition()),
    saveSweepPosition: async (position) => (await before(), ledger.saveSweepPosition(position)),
  };
}
