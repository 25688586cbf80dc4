import { describe, expect, test } from 'vitest';
import { accountHistory, duplicateOf, pick } from '../support/histories';
import { harness } from '../support/engine-harness';

describe('latest-state', () => {
  test('delivers only the newest version of a batch; the older ones are stale', async () => {
    const h = harness('latest-state');
    const history = accountHistory('A', 5);

    const outcome = await h.engine.process(pick(history, 2, 5, 1, 4));

    expect(h.destination.versionsOf('A')).toEqual([5]);
    expect(outcome.counts).toMatchObject({ delivered: 1, stale: 3 });
    expect(h.ledger.store.requests.writes).toBe(1);
  });

  test('skips versions at or below the watermark without writing', async () => {
    const h = harness('latest-state');
    const history = accountHistory('A', 5);
    await h.engine.process(pick(history, 4));
    const writes = h.ledger.store.requests.writes;

    const outcome = await h.engine.process([...pick(history, 1, 3), duplicateOf(history[3]!)]);

    expect(outcome.counts).toMatchObject({ delivered: 0, stale: 2, duplicates: 1 });
    expect(h.ledger.store.requests.writes).toBe(writes);
  });

  test('a REMOVE tombstone is delivered as the newest version', async () => {
    const h = harness('latest-state');
    const history = accountHistory('A', 4, { endsWithRemove: true });
    const kinds: string[] = [];
    h.destination.intercept = (d) => {
      kinds.push(d.record.kind);
      return undefined;
    };

    await h.engine.process(history);

    expect(kinds).toEqual(['REMOVE']);
  });

  test('the destination refusing a version as stale is counted, and the watermark still rises', async () => {
    const h = harness('latest-state');
    const history = accountHistory('A', 3);
    h.destination.intercept = () => ({ status: 'stale' });

    const outcome = await h.engine.process(pick(history, 3));

    expect(outcome.counts).toMatchObject({ delivered: 0, stale: 1 });
    expect([...(await h.ledger.load(['A'])).values()][0]?.version).toBe(3);
  });

  test('racing engines never make the destination go back to an older version', async () => {
    const h = harness('latest-state');
    const history = accountHistory('A', 9);
    const other = h.another('engine-2');

    await Promise.all([h.engine.process(pick(history, 1, 2, 9)), other.process(pick(history, 3, 4, 5))]);

    const accepted = h.destination.versionsOf('A');
    expect(accepted).toEqual([...accepted].sort((x, y) => x - y));
    expect(accepted.at(-1)).toBe(9);
    expect([...(await h.ledger.load(['A'])).values()][0]?.version).toBe(9);
  });
});
