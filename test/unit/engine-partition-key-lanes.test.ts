import { describe, expect, test } from 'vitest';
import type { ChangeRecord } from '../../shared/change-record/change-record';
import { accountHistory } from '../support/histories';
import { countWrites, harness } from '../support/engine-harness';

// A mapping with a parallelizationFactor above 1: several batches of one shard at once, one at a time per partition
// key. Each account's lane is its shard and key (`ProcessOptions.laneOf`), as the consumer gives it.
const SHARD = 'shardId-000000000000';
const KEYS: Record<string, string> = { A: `${SHARD}/5F4DCC3B5AA765D61D8327DEB882CF99`, B: `${SHARD}/0CC175B9C0F1B6A831C399E269772661` };
const byKey = { laneOf: (accountId: string) => KEYS[accountId] };

describe('in-order lanes per partition key (parallelizationFactor above 1)', () => {
  test("each account homes on its own key's lane; batches of two keys run at once, and write once per account", async () => {
    const h = harness('in-order', { inOrderCommit: 'per-batch' });
    const [a, b] = [accountHistory('A', 40), accountHistory('B', 40)];
    // Two claimed batches per account make its lane the home (see `homedOn`); lanes of one shard run side by side.
    for (const [from, to] of [[0, 5], [5, 10]] as const) {
      await Promise.all([h.another(`lane-A-${from}`).process(a.slice(from, to), byKey), h.another(`lane-B-${from}`).process(b.slice(from, to), byKey)]);
    }
    const homed = await h.ledger.load(['A', 'B']);
    expect([...homed.values()].map((w) => [w.accountId, w.version, w.home])).toEqual([
      ['A', 10, KEYS.A],
      ['B', 10, KEYS.B],
    ]);

    const writes = countWrites(h);
    for (let from = 10; from < 40; from += 10) {
      const outcome = await Promise.all([h.another(`a${from}`).process(a.slice(from, from + 10), byKey), h.another(`b${from}`).process(b.slice(from, from + 10), byKey)]);
      expect(outcome.map((o) => o.counts.claimsLost + o.counts.ledgerConflicts)).toEqual([0, 0]);
    }
    // Three batches per account: one write each, no claim.
    expect(writes()).toBe(6);
    expect(h.destination.versionsOf('A')).toEqual(a.map((r) => r.version));
    expect(h.destination.versionsOf('B')).toEqual(b.map((r) => r.version));
  });

  test('an account given no lane (its records came without a partition key) claims every batch, and keeps its order', async () => {
    const h = harness('in-order', { inOrderCommit: 'per-batch' });
    const a = accountHistory('A', 15);
    const noLane = { laneOf: () => undefined };
    const writes = countWrites(h);
    for (let from = 0; from < 15; from += 5) await h.another(`engine-${from}`).process(a.slice(from, from + 5), noLane);
    // A claim, then the commit that releases it, per batch: nothing says no other batch holds the account.
    expect(writes()).toBe(6);
    expect(h.destination.versionsOf('A')).toEqual(a.map((r) => r.version));
    const [w] = (await h.ledger.load(['A'])).values();
    expect(w).toMatchObject({ version: 15, home: undefined, homeCandidate: undefined, claim: undefined });
  });

  test("an account whose key changes parks on the new key's lane; a sweep fences the quiet home, and the new key becomes the home", async () => {
    const h = harness('in-order', { inOrderCommit: 'per-batch', homeBoundMs: 4_000 });
    const a = accountHistory('A', 12);
    const moved = { laneOf: (accountId: string) => (accountId === 'A' ? KEYS.B : undefined) };
    await h.engine.process(a.slice(0, 2), byKey);
    await h.another('engine-2').process(a.slice(2, 4), byKey);

    // The old key's lane may still be delivering: the new one parks rather than deliver beside it.
    const parked = await h.another('engine-3').process(a.slice(4, 6), moved);
    expect(parked.counts).toMatchObject({ delivered: 0, parked: 2 });
    h.clock.advance(4_000);
    await h.another('sweeper').sweep();
    h.clock.advance(4_001);
    await h.another('sweeper-2').sweep();
    expect(h.destination.versionsOf('A')).toEqual([1, 2, 3, 4, 5, 6]);

    // From then on the new key's lane claims twice, becomes the home, and writes once a batch.
    await h.another('engine-4').process(a.slice(6, 8), moved);
    await h.another('engine-5').process(a.slice(8, 10), moved);
    const writes = countWrites(h);
    await h.another('engine-6').process(a.slice(10), moved);
    expect(writes()).toBe(1);
    expect(h.destination.versionsOf('A')).toEqual(a.map((r: ChangeRecord) => r.version));
    const [w] = (await h.ledger.load(['A'])).values();
    expect(w).toMatchObject({ version: 12, home: KEYS.B, claim: undefined, parked: [] });
    expect(h.ledger.allParked()).toEqual([]);
  });

  test('laneOf overrides lane: an account it gives no lane claims even in a batch given one', async () => {
    const h = harness('in-order', { inOrderCommit: 'per-batch' });
    const a = accountHistory('A', 6);
    await h.engine.process(a.slice(0, 2), { lane: SHARD });
    await h.another('engine-2').process(a.slice(2, 4), { lane: SHARD });
    const writes = countWrites(h);
    // Homed on the shard, but this batch's lanes are per key: the shard is another lane, so A parks.
    const outcome = await h.another('engine-3').process(a.slice(4), { lane: SHARD, laneOf: () => undefined });
    expect(writes()).toBe(1);
    expect(outcome.counts).toMatchObject({ delivered: 0, parked: 2 });
  });
});
