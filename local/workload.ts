import { setTimeout as sleep } from 'node:timers/promises';
import type { AccountsWriter } from '../shared/accounts/writer';
import { ConcurrentModificationError, InsufficientFundsError } from '../shared/accounts/writer-errors';
import { prng } from './prng';

export type OperationKind = 'deposit' | 'withdrawal' | 'transfer';

export interface WorkloadOptions {
  readonly accounts: number;
  /** Operations after the accounts are opened; a transfer counts once but writes two versions. */
  readonly changes: number;
  /** Operations in flight at once. Many of them hit the same accounts, so the writer's conditional retries work. */
  readonly concurrency?: number;
  /** Operations started per second; 0 or absent: as fast as the table takes them. */
  readonly ratePerSecond?: number;
  /** Picks operations, accounts and amounts; the outcomes still depend on how concurrent writes interleave. */
  readonly seed: number;
  readonly currency?: string;
  /** Called after every operation (opening or change), whatever its outcome: for a progress bar. */
  readonly onOperation?: (done: number, total: number) => void;
  /** Stops starting operations (those in flight finish); the result counts what ran. */
  readonly signal?: AbortSignal;
}

export interface WorkloadResult {
  readonly accountIds: readonly string[];
  readonly attempted: Record<OperationKind, number>;
  readonly succeeded: Record<OperationKind, number>;
  /** Refused withdrawals and transfers: normal for a bank, nothing was written. */
  readonly insufficientFunds: number;
  /** Operations that lost every conditional-write race to concurrent ones; nothing was written. */
  readonly conflicts: number;
  /** Versions written, i.e. changes the stream must carry: one per opening, deposit and withdrawal, two per transfer. */
  readonly versionsWritten: number;
  readonly durationMs: number;
}

const zero = (): Record<OperationKind, number> => ({ deposit: 0, withdrawal: 0, transfer: 0 });

interface Operation {
  readonly kind: OperationKind;
  readonly from: string;
  readonly to: string;
  readonly amount: number;
}

/**
 * Drives the Accounts table the way the bank would, through the one writer that upholds the version contract:
 * opens accounts, then runs a seeded mix of deposits, withdrawals and transfers, many of them concurrently. Refusals
 * a bank expects (insufficient funds, a lost race) are counted, not thrown; anything else stops the workload.
 */
export async function runWorkload(writer: AccountsWriter, options: WorkloadOptions): Promise<WorkloadResult> {
  const { accounts, changes, seed } = options;
  if (!Number.isSafeInteger(accounts) || accounts < 2) {
    throw new RangeError('at least 2 accounts are needed for transfers');
  }
  if (!Number.isSafeInteger(changes) || changes < 0) throw new RangeError(`changes ${changes} must be >= 0`);
  const concurrency = Math.max(1, options.concurrency ?? 16);
  const random = prng(seed);
  const between = (low: number, high: number): number => low + Math.floor(random() * (high - low + 1));
  const started = Date.now();
  let done = 0;
  const tick = (): void => options.onOperation?.(++done, accounts + changes);

  const openings = Array.from({ length: accounts }, () => between(5_000, 50_000));
  const opened = await pool(openings, concurrency, undefined, options.signal, async (openingBalance) => {
    const image = await writer.openAccount({ currency: options.currency ?? 'EUR', openingBalance });
    tick();
    return image;
  });
  const accountIds = opened.map((image) => image.account_id);

  // Plans every operation up front so the choice of work does not depend on how the writes interleave.
  const operations: Operation[] = Array.from({ length: changes }, () => {
    const roll = random();
    const kind: OperationKind = roll < 0.4 ? 'deposit' : roll < 0.7 ? 'withdrawal' : 'transfer';
    const from = accountIds[between(0, accounts - 1)] as string;
    let to = accountIds[between(0, accounts - 2)] as string;
    if (to === from) to = accountIds[accounts - 1] as string;
    // Withdrawals and transfers are large enough that some meet an empty account: refusals are part of the test.
    const amount = between(100, kind === 'deposit' ? 5_000 : kind === 'withdrawal' ? 8_000 : 6_000);
    return { kind, from, to, amount };
  });

  const attempted = zero();
  const succeeded = zero();
  let insufficientFunds = 0;
  let conflicts = 0;
  await pool(operations, concurrency, options.ratePerSecond, options.signal, async (operation) => {
    attempted[operation.kind] += 1;
    try {
      await perform(writer, operation);
      succeeded[operation.kind] += 1;
    } catch (error) {
      if (error instanceof InsufficientFundsError) insufficientFunds += 1;
      else if (error instanceof ConcurrentModificationError) conflicts += 1;
      else throw error;
    }
    tick();
  });

  const versionsWritten = accounts + succeeded.deposit + succeeded.withdrawal + 2 * succeeded.transfer;
  const durationMs = Date.now() - started;
  return { accountIds, attempted, succeeded, insufficientFunds, conflicts, versionsWritten, durationMs };
}

async function perform(writer: AccountsWriter, { kind, from, to, amount }: Operation): Promise<void> {
  switch (kind) {
    case 'deposit':
      await writer.deposit(from, amount, { reference: 'workload' });
      return;
    case 'withdrawal':
      await writer.withdraw(from, amount, { reference: 'workload' });
      return;
    case 'transfer':
      await writer.transfer(from, to, amount);
      return;
  }
}

/**
 * Runs `work` over `items` with at most `limit` in flight, optionally starting no more than `rate` per second.
 * Waits for everything started even when one fails, then rethrows the first failure. Once `signal` aborts it starts
 * nothing more: what did not start is left out of the results.
 */
async function pool<T, R>(
  items: readonly T[],
  limit: number,
  rate: number | undefined,
  signal: AbortSignal | undefined,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  const started = Date.now();
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < items.length && !failure && !signal?.aborted) {
      const index = next++;
      if (rate && rate > 0) {
        const wait = started + (index * 1000) / rate - Date.now();
        if (wait > 0 && !(await sleep(wait, true, signal ? { signal } : {}).catch(() => false))) return;
      }
      try {
        results[index] = await work(items[index] as T);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
  return results;
}
