import { describe, expect, test } from 'vitest';
import { LedgerUnavailableError } from '../../shared/ordering/errors';
import { SWEEP_PAGE_ACCOUNTS } from '../../shared/ordering/engine';
import type { ChangeRecord } from '../../shared/change-record/change-record';
import { accountHistory, pick } from '../support/histories';
import { harness, type Harness } from '../support/engine-harness';

/**
 * The gap sweep at scale and on a bad day: it reads waiting accounts a page at a time (bounded memory), stops taking
 * pages past its deadline, reports every account it could not finish (a sweep has no batch records to fail, so these
 * used to go uncounted), and stays correct when two sweeps overlap.
 */

/** `n` in-order accounts that each delivered 1 and park 4 behind the lost 2 and 3 (two in a row: no heal). */
async function waitingAccounts(h: Harness, n: number): Promise<void> {
  for (let start = 0; start < n; start += 500) {
    const batch: ChangeRecord[] = [];
    for (let i = start; i < Math.min(n, start + 500); i += 1) batch.push(...pick(accountHistory(`acct-${i}`, 4), 1, 4));
    await h.engine.process(batch, { lane: 'shardId-000000000000' });
  }
}

/** Records the size of every watermark read of `h`'s ledger. */
function countLoads(h: Harness): { sizes: number[]; accounts: Set<string> } {
  const seen = { sizes: [] as number[], accounts: new Set<string>() };
  const load = h.ledger.load.bind(h.ledger);
  h.ledger.load = async (ids) => {
    seen.sizes.push(ids.length);
    for (const id of ids) seen.accounts.add(id);
    return load(ids);
  };
  return seen;
}

const DOWN = { status: 'failed', reason: 'DELIVERY_FAILED', detail: 'down', attempts: 0 } as const;

describe('sweep', () => {
  test('10,000 waiting accounts are read a page at a time, each once (before: one read of all 10,000 watermarks)', async () => {
    const h = harness('in-order');
    await waitingAccounts(h, 10_000);
    const loads = countLoads(h);

    await h.another('sweeper').sweep();

    expect(loads.accounts.size).toBe(10_000);
    expect(loads.sizes.reduce((a, b) => a + b, 0)).toBe(10_000);
    expect(Math.max(...loads.sizes)).toBeLessThanOrEqual(SWEEP_PAGE_ACCOUNTS);
  });

  test('past its deadline a sweep takes no further page: the rest waits for the next sweep', async () => {
    const h = harness('in-order');
    await waitingAccounts(h, 3 * SWEEP_PAGE_ACCOUNTS);
    const deadline = h.clock.time + 60_000;
    const loads = countLoads(h);
    const load = h.ledger.load.bind(h.ledger);
    h.ledger.load = async (ids) => {
      h.clock.advance(120_000); // the first page takes the whole invocation
      return load(ids);
    };

    await h.another('sweeper').sweep({ deadline });

    expect(loads.sizes).toHaveLength(1);
  });

  test('a sweep out of time leaves its position: the next goes on after it, not from the oldest again; at the end it starts over', async () => {
    const h = harness('in-order');
    await waitingAccounts(h, 3 * SWEEP_PAGE_ACCOUNTS);
    h.clock.advance(16 * 60_000); // past the gap age: each swept account gets its GAP_TIMEOUT notice
    const load = h.ledger.load.bind(h.ledger);
    let pageSeen: string[] = [];
    h.ledger.load = async (ids) => {
      pageSeen = [...ids];
      h.clock.advance(120_000); // each page takes the whole invocation
      return load(ids);
    };
    const sweepOnePage = async (): Promise<{ notices: number; first: string }> => {
      const swept = await h.another('sweeper').sweep({ deadline: h.clock.time + 60_000 });
      return { notices: swept.counts.gapTimeouts, first: pageSeen[0] as string };
    };

    // Before, every sweep started with the oldest page again: the third page was never reached while the first took
    // each run's time.
    const runs = [await sweepOnePage(), await sweepOnePage(), await sweepOnePage()];
    expect(runs.map((run) => run.notices)).toEqual([SWEEP_PAGE_ACCOUNTS, SWEEP_PAGE_ACCOUNTS, SWEEP_PAGE_ACCOUNTS]);
    expect(new Set(runs.map((run) => run.first)).size).toBe(3);
    expect(h.deadLetters.letters.filter((letter) => letter.reason === 'GAP_TIMEOUT')).toHaveLength(3 * SWEEP_PAGE_ACCOUNTS);
    // The third stopped at the end: the next starts with the oldest again (at once, not after a sweep of nothing).
    expect((await sweepOnePage()).first).toBe(runs[0]?.first);
    expect(await h.ledger.sweepPosition()).toEqual({ accountId: pageSeen.at(-1), since: expect.any(Number) });
    // A sweep with time to reach the end leaves no position.
    h.ledger.load = load;
    await h.another('sweeper').sweep();
    expect(await h.ledger.sweepPosition()).toBeUndefined();
  });

  test('a sweep position the ledger cannot read or keep costs the position only', async () => {
    const h = harness('in-order');
    await waitingAccounts(h, 3);
    h.clock.advance(16 * 60_000);
    h.ledger.sweepPosition = async () => {
      throw new LedgerUnavailableError('GetItem: throttled');
    };
    h.ledger.saveSweepPosition = async () => {
      throw new LedgerUnavailableError('PutItem: throttled');
    };

    const swept = await h.another('sweeper').sweep();

    expect(swept.counts.gapTimeouts).toBe(3);
    expect(swept.failed).toEqual([]);
  });

  test('the destination down for one account: the others are delivered, that account is reported failed', async () => {
    const h = harness('in-order');
    // Both predate the pipeline (5 and 6 only): after the gap age the sweep baselines them and delivers 5 and 6.
    await h.engine.process([...pick(accountHistory('A', 6), 5, 6), ...pick(accountHistory('B', 6), 5, 6)]);
    h.clock.advance(60_000);
    h.destination.intercept = (delivery) => (delivery.record.accountId === 'A' ? DOWN : undefined);

    const swept = await h.another('sweeper').sweep();

    expect(h.destination.versionsOf('B')).toEqual([5, 6]);
    expect(swept.failed).toEqual([expect.objectContaining({ accountId: 'A', version: 5 })]);
    expect(swept.counts.failed).toBe(1);
    expect(h.ledger.allParked().map((record) => `${record.accountId}${record.version}`)).toEqual(['A5', 'A6']);
  });

  test('the dead-letter queue down when a gap times out: the account is reported failed, its notice left for later', async () => {
    const h = harness('in-order');
    await h.engine.process(pick(accountHistory('A', 6), 1, 2, 5, 6));
    h.clock.advance(60_000);
    h.deadLetters.refuse = true;

    const swept = await h.another('sweeper').sweep();

    expect(swept.counts.gapTimeouts).toBe(0);
    expect(swept.failed).toEqual([expect.objectContaining({ accountId: 'A', version: 3 })]);
  });

  test('every-version: a notice the queue does not take is reported failed too', async () => {
    const h = harness('every-version');
    await h.engine.process(pick(accountHistory('A', 6), 1, 2, 5, 6));
    h.clock.advance(60_000);
    h.deadLetters.refuse = true;

    const swept = await h.another('sweeper').sweep();

    expect(swept.failed).toEqual([expect.objectContaining({ accountId: 'A' })]);
  });

  test('the ledger throttled: every account of the page is reported failed', async () => {
    const h = harness('in-order');
    await waitingAccounts(h, 3);
    h.ledger.load = async () => {
      throw new LedgerUnavailableError('ProvisionedThroughputExceededException');
    };

    const swept = await h.another('sweeper').sweep();

    expect(swept.failed.map((failure) => failure.accountId).sort()).toEqual(['acct-0', 'acct-1', 'acct-2']);
  });

  test('the gaps index failing part-way: the accounts read are swept and counted, the rest reported unread (before: the sweep threw, its counts lost)', async () => {
    const h = harness('in-order');
    const accounts = SWEEP_PAGE_ACCOUNTS + 10;
    await waitingAccounts(h, accounts);
    h.clock.advance(16 * 60_000); // past the gap age: each swept account gets its GAP_TIMEOUT notice
    const waiting = h.ledger.waiting.bind(h.ledger);
    h.ledger.waiting = async function* () {
      let read = 0;
      for await (const account of waiting()) {
        if ((read += 1) > SWEEP_PAGE_ACCOUNTS + 5) throw new LedgerUnavailableError('Query on the gaps index: ProvisionedThroughputExceededException');
        yield account;
      }
    };

    const swept = await h.another('sweeper').sweep();

    expect(swept.counts.gapTimeouts).toBe(SWEEP_PAGE_ACCOUNTS + 5);
    expect(swept.waitingUnread).toContain('ProvisionedThroughputExceededException');
    expect(swept.failed).toEqual([{ sequenceNumber: '', shardId: '' }]);
    expect(swept.counts.failed).toBe(1);

    h.ledger.waiting = waiting;
    const again = await h.another('sweeper').sweep();
    expect(again.counts.gapTimeouts).toBe(5);
    expect(again.failed).toEqual([]);
    expect(again.waitingUnread).toBeUndefined();
  });

  test('a destination call outliving the invocation: the claim ends by the deadline, and a later sweep delivers', async () => {
    const h = harness('in-order', { claimTtlMs: 60_000 });
    await h.engine.process(pick(accountHistory('A', 6), 5, 6));
    h.clock.advance(60_000);
    const deadline = h.clock.time + 5_000;
    let claimEnd: number | undefined;
    h.destination.intercept = () => {
      claimEnd = h.ledger.store.scope('dest', 'live').watermarks.get('A')?.claim?.expiresAt;
      h.clock.advance(10_000);
      return DOWN;
    };

    const swept = await h.another('sweeper').sweep({ deadline });

    expect(claimEnd).toBeLessThanOrEqual(deadline);
    expect(swept.failed.map((failure) => failure.accountId)).toEqual(['A']);
    h.destination.intercept = undefined;
    await h.another('sweeper-2').sweep();
    expect(h.destination.versionsOf('A')).toEqual([5, 6]);
  });

  test('two overlapping sweeps over 2,000 accounts deliver each in order, once, report nothing failed, leave nothing parked', async () => {
    const h = harness('in-order');
    await waitingAccounts(h, 2_000);
    // The missing 2 and 3 come from another lane: they park while the home is active; the sweeps finish the job.
    const late: ChangeRecord[] = [];
    for (let i = 0; i < 2_000; i += 1) late.push(...pick(accountHistory(`acct-${i}`, 4), 2, 3));
    await h.another('redrive').process(late);
    h.clock.advance(11_000); // the home lane is quiet: the sweeps fence it
    const one = h.another('sweeper-1');
    const two = h.another('sweeper-2');
    const first = await Promise.all([one.sweep(), two.sweep()]);
    h.clock.advance(11_000); // the fences end
    const second = await Promise.all([one.sweep(), two.sweep()]);

    for (let i = 0; i < 2_000; i += 1) expect(h.destination.versionsOf(`acct-${i}`)).toEqual([1, 2, 3, 4]);
    expect(h.ledger.allParked()).toEqual([]);
    expect([...first, ...second].flatMap((outcome) => outcome.failed)).toEqual([]);
  });
});
