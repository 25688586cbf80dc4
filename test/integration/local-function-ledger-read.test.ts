import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalFunction } from '../../local/functions/local-function';

/*
 * The stage clock splits an invocation at the moment its handler had the batch's watermarks: the execution
 * environment times the consumers' own ledger's first `load` answer and tells the caller as it happens.
 */
const entry = fileURLToPath(new URL('../fixtures/ledger-load-handler.ts', import.meta.url));
const context = { getRemainingTimeInMillis: () => 5_000 };

describe('LocalFunction: when an invocation had its ledger read', () => {
  const marks: { event: unknown; atMs: number }[] = [];
  const fn = new LocalFunction({ functionName: 'reads', entry, environment: {}, onLedgerRead: (event, atMs) => marks.push({ event, atMs }) });
  const untimed = new LocalFunction({ functionName: 'untimed', entry, environment: {} });
  afterAll(() => Promise.all([fn.stop(), untimed.stop()]));

  it('marks the first load answer of each invocation, with its event, not the re-read', async () => {
    const event = { batch: 1 };
    const { asked, answered } = (await fn.invoke(event, context)) as unknown as { asked: number; answered: number };
    expect(marks).toHaveLength(1);
    expect(marks[0]?.event).toEqual(event);
    // At the answer, not at the call (the client pauses 30 ms) nor at the end of the invocation.
    expect(marks[0]?.atMs).toBeGreaterThanOrEqual(asked + 25);
    expect(marks[0]?.atMs).toBeLessThanOrEqual(answered);
  });

  it('skips a load that failed: the batch had no watermarks from it', async () => {
    marks.length = 0;
    const { failed, asked, answered } = (await fn.invoke({ failFirst: true }, context)) as unknown as { failed: boolean; asked: number; answered: number };
    expect(failed).toBe(true);
    expect(marks).toHaveLength(1);
    expect(marks[0]?.atMs).toBeGreaterThanOrEqual(asked + 25);
    expect(marks[0]?.atMs).toBeLessThanOrEqual(answered);
  });

  it('times nothing unless asked', async () => {
    marks.length = 0;
    await untimed.invoke({ batch: 2 }, context);
    expect(marks).toHaveLength(0);
  });
});
