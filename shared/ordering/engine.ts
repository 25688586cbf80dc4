import { randomUUID } from 'node:crypto';
import type { ChangeRecord } from '../change-record/change-record';
import type { AccountRun, RunContext } from './account-run';
import { forEachLimited } from '../async/limited';
import { Coalescer } from './coalescer';
import { LIVE_EPOCH, type Epoch, type InOrderCommit } from './delivery-mode';
import { DeadLetterQueueUnavailableError, LedgerUnavailableError, PortContractError } from './errors';
import { EveryVersionRun } from './every-version-run';
import { InOrderRun } from './in-order-run';
import { LatestStateRun } from './latest-state-run';
import { Tally, type BatchOutcome } from './outcome';
import type { DeadLetter, DeadLetterQueue, Delivery, DeliveryResult, Destination, Ledger } from './ports';
import type { Watermark } from './watermark';

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
  /** In-order: time kept free before a deadline to commit a delivery. @default 1 s */
  readonly reserveMs?: number;
  /** In-order: commit after every version, or once per account per batch. @default 'per-version' */
  readonly inOrderCommit?: InOrderCommit;
  /**
   * Identifies this engine in claims. Engines that may run at the same time must differ.
   * @default a random UUID
   */
  readonly owner?: string;
  /** @default Date.now */
  readonly clock?: () => number;
  /** Accounts worked on at once; their deliveries are coalesced into one destination call. @default 64 */
  readonly accountConcurrency?: number;
}

export interface ProcessOptions {
  /** Milliseconds since the epoch by which the call must return (Lambda: now + remaining time). */
  readonly deadline?: number;
}

/**
 * Restores per-account order between a change stream and one destination.
 *
 * For each account in a batch it skips duplicates, delivers in the order the destination's mode asks for, parks what
 * cannot be delivered yet, heals a single missing version from its neighbours, and commits the new watermark with a
 * conditional write. Pure TypeScript: the ledger, the destination and the dead-letter queue are ports.
 */
export class OrderingEngine {
  private readonly epoch: Epoch;
  private readonly maxGapAgeMs: number;
  private readonly claimTtlMs: number;
  private readonly reserveMs: number;
  private readonly owner: string;
  private readonly clock: () => number;
  private readonly accountConcurrency: number;

  constructor(private readonly options: OrderingEngineOptions) {
    this.epoch = options.epoch ?? LIVE_EPOCH;
    this.maxGapAgeMs = options.maxGapAgeMs ?? 15 * 60_000;
    this.claimTtlMs = options.claimTtlMs ?? 60_000;
    this.reserveMs = options.reserveMs ?? 1_000;
    this.owner = options.owner ?? randomUUID();
    this.clock = options.clock ?? Date.now;
    this.accountConcurrency = options.accountConcurrency ?? 64;
    const { ledger, destination } = options;
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
    const seen = new Set<string>();
    for (const record of records) {
      const key = `${record.accountId}#${record.version}`;
      if (seen.has(key)) {
        tally.settle(record, 'duplicate');
        continue;
      }
      seen.add(key);
      const list = byAccount.get(record.accountId);
      if (list) list.push(record);
      else byAccount.set(record.accountId, [record]);
    }
    await this.runAccounts(byAccount, tally, options.deadline);
    return tally.outcome();
  }

  /**
   * Revisits every account that waits for a missing version: delivers or heals what has become deliverable, takes
   * over expired claims, and past the maximum gap age baselines the account or dead-letters its waiting records with
   * reason GAP_TIMEOUT. Never drops a record.
   */
  async sweep(options: ProcessOptions = {}): Promise<BatchOutcome> {
    const tally = new Tally();
    const accounts = new Map<string, ChangeRecord[]>();
    for await (const { accountId } of this.options.ledger.waiting()) accounts.set(accountId, []);
    await this.runAccounts(accounts, tally, options.deadline);
    return tally.outcome();
  }

  private async runAccounts(
    byAccount: ReadonlyMap<string, ChangeRecord[]>,
    tally: Tally,
    deadline: number | undefined,
  ): Promise<void> {
    if (byAccount.size === 0) return;
    const ctx = this.context(tally, deadline);
    let stored: Map<string, Watermark>;
    try {
      stored = await this.options.ledger.load([...byAccount.keys()]);
    } catch (error) {
      if (!(error instanceof LedgerUnavailableError)) throw error;
      for (const list of byAccount.values()) for (const record of list) tally.settle(record, 'failed');
      return;
    }
    const runs = [...byAccount].map(([accountId, list]) => this.runFor(ctx, accountId, list, stored.get(accountId)));
    await forEachLimited(runs, this.accountConcurrency, async (run) => {
      try {
        await run.run();
      } catch (error) {
        // The ledger or the queue is out of reach for this account: its records are retried, others go on.
        if (!(error instanceof LedgerUnavailableError || error instanceof DeadLetterQueueUnavailableError)) throw error;
        run.failRemaining();
      }
    });
  }

  private runFor(ctx: RunContext, accountId: string, records: ChangeRecord[], stored: Watermark | undefined): AccountRun {
    switch (this.options.destination.mode) {
      case 'every-version':
        return new EveryVersionRun(ctx, accountId, records, stored);
      case 'latest-state':
        return new LatestStateRun(ctx, accountId, records, stored);
      case 'in-order':
        return new InOrderRun(ctx, accountId, records, stored);
    }
  }

  private context(tally: Tally, deadline: number | undefined): RunContext {
    const { destination, deadLetters, ledger } = this.options;
    const deliveries = new Coalescer<Delivery, DeliveryResult>(
      (items) => destination.deliver(items),
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
      now: this.clock,
      claimTtlMs: this.claimTtlMs,
      maxGapAgeMs: this.maxGapAgeMs,
      deadline,
      reserveMs: this.reserveMs,
      inOrderCommit: this.options.inOrderCommit ?? 'per-version',
      tally,
      deliver: (delivery) => deliveries.submit(delivery),
      deliverAll: (items) => deliveries.submitAll(items),
      deadLetter: (letter) => letters.submit(letter),
    };
  }
}
