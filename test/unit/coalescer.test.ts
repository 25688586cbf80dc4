import { describe, expect, test } from 'vitest';
import { Coalescer } from '../../shared/ordering/coalescer';
import { PortContractError } from '../../shared/ordering/errors';

describe('Coalescer', () => {
  test('gathers single and grouped items of one turn into one call, answers each its own, with the earliest deadline', async () => {
    const calls: { items: readonly number[]; deadline: number | undefined }[] = [];
    const coalescer = new Coalescer<number, string>(async (items, deadline) => {
      calls.push({ items, deadline });
      return items.map((item) => `r${item}`);
    }, 'test');
    const [one, group, two] = await Promise.all([coalescer.submit(1, 500), coalescer.submitAll([2, 3], 200), coalescer.submit(4)]);
    expect([one, group, two]).toEqual(['r1', ['r2', 'r3'], 'r4']);
    expect(calls).toEqual([{ items: [1, 2, 3, 4], deadline: 200 }]);
    expect(await coalescer.submit(5)).toBe('r5');
    expect(calls).toHaveLength(2);
    expect(calls[1]?.deadline).toBeUndefined();
  });

  test('callers of one turn get their own answers, in their own order, whatever mix of single and grouped items they sent', async () => {
    const coalescer = new Coalescer<number, string>(async (items) => items.map((item) => `r${item}`), 'test');
    const answers = await Promise.all([
      coalescer.submitAll([1, 2]),
      coalescer.submitAll([3, 4, 5]),
      coalescer.submit(6),
      coalescer.submitAll([7]),
      coalescer.submit(8),
    ]);
    expect(answers).toEqual([['r1', 'r2'], ['r3', 'r4', 'r5'], 'r6', ['r7'], 'r8']);
  });

  test('a failed call rejects every caller of it, single or grouped', async () => {
    const coalescer = new Coalescer<number, string>(async () => {
      throw new Error('down');
    }, 'test');
    const settled = await Promise.allSettled([coalescer.submit(1), coalescer.submitAll([2, 3])]);
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected']);
  });

  test('a port that answers the wrong number of results breaks its contract', async () => {
    const coalescer = new Coalescer<number, string>(async () => ['only one'], 'the test port');
    const settled = await Promise.allSettled([coalescer.submit(1), coalescer.submit(2)]);
    for (const result of settled) {
      expect(result.status).toBe('rejected');
      expect((result as PromiseRejectedResult).reason).toBeInstanceOf(PortContractError);
    }
  });

  test('no items: answered at once, without a call', async () => {
    let called = false;
    const coalescer = new Coalescer<number, string>(async (items) => {
      called = true;
      return items.map(String);
    }, 'test');
    expect(await coalescer.submitAll([])).toEqual([]);
    expect(called).toBe(false);
  });
});
