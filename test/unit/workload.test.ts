import { describe, expect, it } from 'vitest';
import type { AccountsWriter } from '../../shared/accounts/writer';
import { ConcurrentModificationError } from '../../shared/accounts/writer-errors';
import { runWorkload } from '../../local/workload';

/** A table stand-in for the workload: opens accounts and takes every change after a turn, or loses the race when told. */
function fakeWriter(options: { loses?: (call: number) => boolean } = {}): AccountsWriter & { calls: number } {
  let opened = 0;
  const writer = {
    calls: 0,
    async openAccount() {
      opened += 1;
      return { account_id: `acct-${opened}` };
    },
    async change() {
      const call = (writer.calls += 1);
      await new Promise((resolve) => setImmediate(resolve));
      if (options.loses?.(call)) throw new ConcurrentModificationError('acct', 3, 2);
    },
    deposit: () => writer.change(),
    withdraw: () => writer.change(),
    transfer: () => writer.change(),
  };
  return writer as unknown as AccountsWriter & { calls: number };
}

describe('runWorkload', () => {
  it('stops starting operations once its signal aborts (Ctrl-C during npm start), and counts what ran', async () => {
    const abort = new AbortController();
    const writer = fakeWriter();
    const started = Date.now();
    const result = await runWorkload(writer, {
      accounts: 3,
      changes: 1_000,
      seed: 1,
      concurrency: 2,
      // 1,000 operations at 50 a second would take 20 s.
      ratePerSecond: 50,
      signal: abort.signal,
      onOperation: (done) => {
        if (done === 10) abort.abort();
      },
    });
    expect(Date.now() - started).toBeLessThan(5_000);
    const attempted = result.attempted.deposit + result.attempted.withdrawal + result.attempted.transfer;
    expect(attempted).toBeGreaterThan(0);
    expect(attempted).toBeLessThan(20);
    expect(writer.calls).toBe(attempted);
  });

  it('counts an operation that lost every write race as a conflict, so every operation is accounted for', async () => {
    const writer = fakeWriter({ loses: (call) => call % 4 === 0 });
    const result = await runWorkload(writer, { accounts: 3, changes: 40, seed: 2, concurrency: 4 });
    const attempted = result.attempted.deposit + result.attempted.withdrawal + result.attempted.transfer;
    const succeeded = result.succeeded.deposit + result.succeeded.withdrawal + result.succeeded.transfer;
    expect(attempted).toBe(40);
    expect(result.conflicts).toBe(10);
    expect(succeeded + result.conflicts + result.insufficientFunds).toBe(attempted);
  });
});
