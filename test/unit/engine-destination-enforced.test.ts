import { describe, expect, test } from 'vitest';
import { PortContractError } from '../../shared/ordering/errors';
import { accountHistory, duplicateOf, pick } from '../support/histories';
import { harness } from '../support/engine-harness';

describe('latest-state, destination-enforced', () => {
  test('delivers the newest version per account per batch and never reads or writes the ledger', async () => {
    const h = harness('latest-state', { destinationEnforced: true });
    const [a, b] = [accountHistory('A', 6), accountHistory('B', 3)];

    const first = await h.engine.process([...pick(a, 2, 1, 3), ...b]);
    const second = await h.engine.process([...pick(a, 6, 4, 5), duplicateOf(b[2]!)]);

    expect(h.destination.received.map((r) => `${r.accountId}${r.version}`)).toEqual(['A3', 'B3', 'A6']);
    expect(first.counts).toMatchObject({ delivered: 2, stale: 4, failed: 0 });
    // The copy of B3 is not known as a duplicate without the ledger: the destination refuses it (equal version).
    expect(second.counts).toMatchObject({ delivered: 1, stale: 3, failed: 0 });
    expect(h.ledger.store.requests).toEqual({ reads: 0, writes: 0 });
  });

  test('a version the destination holds a newer one of comes back stale, never delivered over it', async () => {
    const h = harness('latest-state', { destinationEnforced: true });
    const a = accountHistory('A', 4);
    await h.engine.process(pick(a, 4));

    const late = await h.engine.process(pick(a, 2));

    expect(late.counts).toMatchObject({ delivered: 0, stale: 1 });
    expect(h.destination.versionsOf('A')).toEqual([4]);
  });

  test('is refused for modes whose destination cannot judge order itself', () => {
    expect(() => harness('every-version', { destinationEnforced: true })).toThrow(PortContractError);
    expect(() => harness('in-order', { destinationEnforced: true })).toThrow(PortContractError);
  });
});
