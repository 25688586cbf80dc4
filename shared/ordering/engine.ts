import { randomUUID } from 'node:crypto';
import type { ChangeRecord } from '../change-record/change-record';
import type { AccountRun } from './account-run';
import type { RunContext } from './run-context';
import { accountState, type AccountState } from './account-state';
import { forEachLimited } from '../async/limited';
import { Coalescer } from './coalescer';
import { turnClock } from '../async/turn-clock';
import { LIVE_EPOCH, type Epoch, type InOrderCommit } from './delivery-mode';
import { shortestClaimTtlMs } from './delivery-right';
import { DeadLetterQueueUnavailableError, LedgerUnavailableError, PortContractError } from './errors';
import { EveryVersionRun } from './every-version-run';
import { InOrderRun, type SkipOutcome } from './in-order-run';
import { LatestStateRun } from './latest-state-run';
import { Tally, type BatchOutcome } from './outcome';
import { sweepWaiting } from './sweep';
import type { DeadLetter, DeadLetterQueue, Delivery, DeliveryResult, Destination, Ledger } from './ports';
import type { Watermark } from './watermark';
import type { WriteOffOutcome } from './every-version-rules';
import type { VersionRanges } from './version-ranges';

export interface OrderingEngineOptions {
  readonly destination: Destination;
  /** The ledger of this destination, in the epoch below. */
  readonly ledger: Ledger;
  readonly deadLetters: DeadLetterQueue;
  /** @default LIVE_EPOCH (`live`, baseline `from-version-1`) */
  readonly epoch?: Epoch;
  /** How long an account may wait for a missing version before it is baselined or dead-lettered. @default 15 min */
  readonly maxGapAgeMs?: number;
  /** In-order: how long a claim keeps other engines away from an account. @default 60 s */
  readonly claimTtlMs?: number;
  /**
   * Time kept free before a deadline (the invocation's, or an in-order claim's end) so a delivery can still be
   * committed: an in-order delivery must answer by its claim's end less this. @default 1 s
   */
  readonly reserveMs?: number;
  /** In-order: commit after every version, or once per account per batch. @default 'per-batch' */
  readonly inOrderCommit?: InOrderCommit;
  /**
   * In-order: how long after reading the ledger a home lane may still be delivering without a claim (see
   * `ProcessOptions.lane`). A side path (a sweep, a redrive) that finds the home quiet this long fences it off for this
   * long before anyone delivers. @default the smaller of 10 s and `claimTtlMs`
   */
  readonly homeBoundMs?: number;
  /**
   * Identifies this engine in claims. Engines that may run at the same time must differ.
   * @default a random UUID
   */
  readonly owner?: string;
  /** @default Date.now */
  readonly clock?: () => number;
  /**
   * `latest-state` only: leave stale and duplicate refusal to the destination (OpenSearch external versioning) and
   * neither read nor write the ledger: 0 ledger requests per record. What is given up: the ledger's watermarks (so
   * `fanout status` and the ledger side of `fanout reconcile` see nothing; `reconcile --contents` still reads the index)
   * and telling a reused version from an older one across batches. @default false
   */
  readonly destinationEnforced?: boolean;
  /** Accounts worked on at once; their deliveries are coalesced into one destination call. @default 64 */
  readonly accountConcurrency?: number;
}

export interface ProcessOptions {
  /** Milliseconds since the epoch by which the call must return (Lambda: now + remaining time). */
  readonly deadline?: number;
  /**
   * The stream lane the batch comes from: its shard, for one mapping. Give it only where the platform runs one batch
   * at a time per partition key and shard (a Lambda event source mapping does). An `in-order` account homed on this
   * lane is then delivered without a claim: one ledger write per account per batch.
   */
  readonly lane?: string;
  /**
   * Each account's lane, where the platform serializes per partition key within a shard rather than per shard (a
   * Lambda mapping with a `parallelizationFactor` above 1 runs several batches of a shard at once, one at a time per
   * partition key): the shard and the partition key the account's records came with, or undefined for an account whose
   * records came with several (it claims). Overrides `lane`.
   */
  readonly laneOf?: (accountId: string) => string | undefined;
}

/** One account as an operator command reports it back. */
export interface AccountReport {
  readonly accountId: string;
  readonly state: AccountState;
  readonly watermark: Watermark | undefined;
}

/** What `skipGap` came to: the skip (or why it was refused), what the drain that followed did, and the account after. */
/** What `writeOff` came to: the versions written off (or why none was), and the account after. */
export interface WriteOffResult {
  readonly writeOff: WriteOffOutcome;
  readonly outcome: BatchOutcome;
  readonly account: AccountReport;
}

export interface SkipGapResult {
  readonly skip: SkipOutcome;
  readonly outcome: BatchOutcome;
  readonly account: AccountReport;
}

/**
 * Restores per-account order between a change stream and one destination.
 *
 * For each account in a batch it skips duplicates, delivers in the order the destination's mode asks for, parks what
 * cannot be delivered yet, heals a single missing version from its neighbours, and commits the new watermark with a
 * conditional write. Pure TypeScript: the ledger, the destination and the dead-letter queue are ports.
 */
/** How long a home lane's delivery may run from its read, unless the claim lifetime is shorter (`homeBoundMs`). */
export const DEFAULT_HOME_BOUND_MS = 10_000;

export { SWEEP_PAGE_ACCOUNTS } from './sweep';

export class OrderingEngine {
  private readonly epoch: Epoch;
  private readonly maxGapAgeMs: number;
  private readonly claimTtlMs: number;
  private readonly reserveMs: number;
  private readonly homeBoundMs: number;
  private readonly owner: string;
  private readonly clock: () => number;
  private readonly accountConcurrency: number;
  /** Claims taken by this engine: with the owner, each claim's fencing token. */
  private claims = 0;

  constructor(private readonly options: OrderingEngineOptions) {
    this.epoch = options.epoch ?? LIVE_EPOCH;
    this.maxGapAgeMs = options.maxGapAgeMs ?? 15 * 60_000;
    this.claimTtlMs = options.claimTtlMs ?? 60_000;
    this.reserveMs = options.reserveMs ?? 1_000;
    this.homeBoundMs = options.homeBoundMs ?? Math.min(DEFAULT_HOME_BOUND_MS, this.claimTtlMs);
    this.owner = options.owner ?? randomUUID();
    this.clock = options.clock ?? Date.now;
    this.accountConcurrency = options.accountConcurrency ?? 64;
    const { ledger, destination } = options;
    if (this.claimTtlMs < shortestClaimTtlMs(this.reserveMs)) {
      throw new RangeError(
        `claimTtlMs ${this.claimTtlMs} must be at least twice reserveMs ${this.reserveMs}: a delivery starts under a claim only with reserveMs left to deliver and reserveMs kept for its commit`,
      );
    }
    if (options.destinationEnforced && destination.mode !== 'latest-state') {
      throw new PortContractError(
        `destinationEnforced needs a latest-state destination that refuses stale versions itself; ${destination.name} is ${destination.mode}`,
      );
    }
    if (ledger.destination !== destination.name || ledger.epoch !== this.epoch.id) {
      throw new PortContractError(
        `the ledger is scoped to ${ledger.destination}/${ledger.epoch}, the engine to ${destination.name}/${this.epoch.id}`,
      );
    }
  }

  /**
   * Processes one batch of decoded records. Returns what became of each record; records that could be neither
   * delivered, parked nor dead-lettered are in `failed`. Throws only for the unexpected.
   */
  async process(records: readonly ChangeRecord[], options: ProcessOptions = {}): Promise<BatchOutcome> {
    const tally = new Tally();
    const byAccount = new Map<string, ChangeRecord[]>();
    // Copies within the batch (same event id) are settled by the account run as it sorts its records by version.
    for (const record of records) {
      const list = byAccount.get(record.accountId);
      if (list) list.push(record);
      else byAccount.set(record.accountId, [record]);
    }
    await this.runAccounts(byAccount, tally, options.deadline, options.lane, options.laneOf);
    return tally.outcome();
  }

  /**
   * Revisits every account that waits for a missing version: delivers or heals what has become deliverable, takes
   * over expired claims, and past the maximum gap age baselines an account that never started or sends one GAP_TIMEOUT
   * notice for its gap (the waiting records stay parked). Never drops a record.
   */
  sweep(options: ProcessOptions = {}): Promise<BatchOutcome> {
    return sweepWaiting(
      { ledger: this.options.ledger, runAccounts: (page, tally, deadline) => this.runAccounts(page, tally, deadline), outOfTime: (deadline) => this.outOfTime(deadline) },
      options.deadline,
    );
  }

  /** True when less than `reserveMs` is left before `deadline`. */
  private outOfTime(deadline: number | undefined): boolean {
    return deadline !== undefined && this.clock() >= deadline - this.reserveMs;
  }

  /**
   * Revisits the given accounts as the sweep does (an operator's redrive of a GAP_TIMEOUT notice uses it): delivers
   * what has become deliverable, and reports each account's state afterwards.
   */
  async resume(accountIds: readonly string[], options: ProcessOptions = {}): Promise<{ outcome: BatchOutcome; accounts: AccountReport[] }> {
    const tally = new Tally();
    const accounts = new Map(accountIds.map((accountId) => [accountId, [] as ChangeRecord[]]));
    const runs = new Map(((await this.runAccounts(accounts, tally, options.deadline)) ?? []).map((run) => [run.accountId, run]));
    return { outcome: tally.outcome(), accounts: accountIds.map((accountId) => this.report(accountId, runs.get(accountId)?.state)) };
  }

  /**
   * An operator gives up on versions watermark+1..`through` of an `in-order` account (`fanout redrive --skip-gap`):
   * they are recorded as skipped with `reason` (a late copy of one is dead-lettered as BEFORE_BASELINE), and what was
   * parked behind them is delivered in order. Refused, changing nothing, when the account is not behind those
   * versions, a parked record lies in the range, or another engine's claim is live.
   */
  async skipGap(accountId: string, through: number, reason: string, options: ProcessOptions = {}): Promise<SkipGapResult> {
    const tally = new Tally();
    const mode = this.options.destination.mode;
    if (mode !== 'in-order') {
      const refused = `${this.options.destination.name} delivers ${mode}: it never waits for a missing version, so there is no gap to skip`;
      const watermark = (await this.options.ledger.load([accountId])).get(accountId);
      return { skip: { refused }, outcome: tally.outcome(), account: this.report(accountId, watermark) };
    }
    const ctx = this.context(tally, options.deadline);
    const stored = (await this.options.ledger.load([accountId])).get(accountId);
    const run = new InOrderRun(ctx, accountId, [], stored).skipGap(through, reason);
    await run.run();
    return { skip: run.skipOutcome ?? { refused: 'not applied' }, outcome: tally.outcome(), account: this.report(accountId, run.state) };
  }

  /**
   * An operator accepts versions of an `every-version` account as lost (`fanout redrive --acknowledge`): the owed ones
   * among `versions` are written off with `reason` (see `writtenOff`), so nothing reports them missing any more, and a
   * copy that turns up later is still delivered. Refused, changing nothing, for another mode (`in-order` gives up on a
   * gap with `skipGap`) or when none of them is owed.
   */
  async writeOff(accountId: string, versions: VersionRanges, reason: string, options: ProcessOptions = {}): Promise<WriteOffResult> {
    const tally = new Tally();
    const mode = this.options.destination.mode;
    if (mode !== 'every-version') {
      const refused = `${this.options.destination.name} delivers ${mode}: only every-version destinations write off owed versions (in-order: skip the gap instead)`;
      const watermark = (await this.options.ledger.load([accountId])).get(accountId);
      return { writeOff: { refused }, outcome: tally.outcome(), account: this.report(accountId, watermark) };
    }
    const ctx = this.context(tally, options.deadline);
    const stored = (await this.options.ledger.load([accountId])).get(accountId);
    const run = new EveryVersionRun(ctx, accountId, [], stored).writeOff(versions, reason);
    await run.run();
    return { writeOff: run.writeOffOutcome ?? { refused: 'not applied' }, outcome: tally.outcome(), account: this.report(accountId, run.state) };
  }

  /** The accounts' watermarks and states, as the ledger holds them now. */
  async inspect(accountIds: readonly string[]): Promise<AccountReport[]> {
    const stored = await this.options.ledger.load(accountIds);
    return accountIds.map((accountId) => this.report(accountId, stored.get(accountId)));
  }

  private report(accountId: string, watermark: Watermark | undefined): AccountReport {
    return { accountId, state: accountState(watermark, this.options.destination.mode, this.clock()), watermark };
  }

  private async runAccounts(
    byAccount: ReadonlyMap<string, ChangeRecord[]>,
    tally: Tally,
    deadline: number | undefined,
    lane?: string,
    laneOf?: (accountId: string) => string | undefined,
  ): Promise<AccountRun[] | undefined> {
    const runs: AccountRun[] = [];
    if (byAccount.size === 0) return runs;
    // Taken before the read: a home lane's deliveries are bounded from a time no later than what it saw.
    const ctx = this.context(tally, deadline);
    let stored: Map<string, Watermark>;
    try {
      // The destination decides what is stale: nothing to read (see `destinationEnforced`).
      stored = this.options.destinationEnforced ? new Map() : await this.options.ledger.load([...byAccount.keys()]);
    } catch (error) {
      if (!(error instanceof LedgerUnavailableError)) throw error;
      for (const list of byAccount.values()) for (const record of list) tally.settle(record, 'failed');
      // No run started: undefined, so a sweep (whose accounts have no records to fail) can report the accounts.
      return undefined;
    }
    for (const [accountId, list] of byAccount) runs.push(this.runFor(ctx, accountId, list, stored.get(accountId), laneOf ? laneOf(accountId) : lane));
    let unexpected: { error: unknown } | undefined;
    // Not an async wrapper per account: a run's own promise, and one handler for what it may throw.
    const guarded = (run: AccountRun): Promise<void> =>
      run.run().catch((error: unknown) => {
        // The ledger or the queue is out of reach for this account: its records are retried, others go on.
        if (error instanceof LedgerUnavailableError || error instanceof DeadLetterQueueUnavailableError) run.failRemaining();
        else unexpected ??= { error };
      });
    // Every run is waited for, even after one threw, so no work is left running unobserved; then the first throws.
    if (runs.length <= this.accountConcurrency) await Promise.all(runs.map(guarded));
    else await forEachLimited(runs, this.accountConcurrency, guarded);
    if (unexpected) throw unexpected.error;
    return runs;
  }

  private runFor(ctx: RunContext, accountId: string, records: ChangeRecord[], stored: Watermark | undefined, lane: string | undefined): AccountRun {
    switch (this.options.destination.mode) {
      case 'every-version':
        return new EveryVersionRun(ctx, accountId, records, stored);
      case 'latest-state':
        return new LatestStateRun(ctx, accountId, records, stored);
      case 'in-order':
        return new InOrderRun(ctx, accountId, records, stored, lane);
    }
  }

  private context(tally: Tally, deadline: number | undefined): RunContext {
    const { destination, deadLetters, ledger } = this.options;
    const deliveries = new Coalescer<Delivery, DeliveryResult>(
      (items, itemsDeadline) => destination.deliver(items, itemsDeadline === undefined ? {} : { deadline: itemsDeadline }),
      `destination ${destination.name}`,
    );
    const letters = new Coalescer<DeadLetter, boolean>(
      (items) => deadLetters.send(items),
      `dead-letter queue of ${destination.name}`,
    );
    return {
      destination: destination.name,
      ledger,
      epoch: this.epoch,
      owner: this.owner,
      now: turnClock(this.clock),
      claimTtlMs: this.claimTtlMs,
      maxGapAgeMs: this.maxGapAgeMs,
      deadline,
      reserveMs: this.reserveMs,
      inOrderCommit: this.options.inOrderCommit ?? 'per-batch',
      destinationEnforced: this.options.destinationEnforced ?? false,
      homeBoundMs: this.homeBoundMs,
      readAt: this.clock(),
      tally,
      newClaimToken: () => `${this.owner}:${(this.claims += 1)}`,
      deliver: (delivery, itemDeadline) => deliveries.submit(delivery, itemDeadline),
      deliverAll: (items, itemsDeadline) => deliveries.submitAll(items, itemsDeadline),
      deadLetter: (letter) => letters.submit(letter),
    };
  }
}
