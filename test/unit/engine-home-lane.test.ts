import { describe, expect, test } from 'vitest';
import { FENCE_OWNER } from '../../shared/ordering/watermark';
import type { ChangeRecord } from '../../shared/change-record/change-record';
import { accountHistory, pick } from '../support/histories';
import { countWrites, harness, loseNextRace, type Harness } from '../support/engine-harness';

const HOME = { lane: 'shardId-000000000000' };
const OTHER = { lane: 'shardId-000000000001' };

/** Two claimed batches on HOME: the first makes the lane the candidate, the second the home (see `homedOn`). */
async function homeOn(h: Harness, records: readonly ChangeRecord[]): Promise<void> {
  const half = Math.max(1, Math.floor(records.length / 2));
  await h.engine.process(records.slice(0, half), HOME);
  await h.another('engine-home').process(records.slice(half), HOME);
}

/**
 * Just before the next ledger write, a redrive of a copy of `record` (a side path: it fences a quiet home) runs, and
 * then the clock moves `lateMs` on, as if that write had taken so long.
 */
function fenceBeforeNextWrite(h: Harness, record: ChangeRecord, lateMs = 0): void {
  const write = h.ledger.write.bind(h.ledger);
  let fenced = false;
  h.ledger.write = async (request) => {
    if (!fenced) {
      fenced = true;
      await h.another('redrive').process([{ ...record, sequenceNumber: 'copy' }]);
      h.clock.advance(lateMs);
    }
    return write(request);
  };
}

describe('in-order home lanes', () => {
  test('two claimed batches on a lane make it the home; later batches on that lane write once per account', async () => {
    const h = harness('in-order', { inOrderCommit: 'per-batch' });
    const [a, b] = [accountHistory('A', 40), accountHistory('B', 40)];

    await h.engine.process([...a.slice(0, 10), ...b.slice(0, 10)], HOME);
    expect(h.ledger.store.requests.writes).toBe(4);
    const first = await h.ledger.load(['A', 'B']);
    expect([...first.values()].map((w) => [w.version, w.home, w.homeCandidate, w.claim])).toEqual([
      [10, undefined, HOME.lane, undefined],
      [10, undefined, HOME.lane, undefined],
    ]);
    await h.another('engine-2').process([...a.slice(10, 20), ...b.slice(10, 20)], HOME);
    expect(h.ledger.store.requests.writes).toBe(8);
    const second = await h.ledger.load(['A', 'B']);
    expect([...second.values()].map((w) => [w.version, w.home, w.homeCandidate])).toEqual([
      [20, HOME.lane, undefined],
      [20, HOME.lane, undefined],
    ]);

    await h.another('engine-3').process([...a.slice(20, 30), ...b.slice(20, 30)], HOME);
    await h.another('engine-4').process([...b.slice(30), ...a.slice(30)].reverse(), HOME);

    expect(h.ledger.store.requests.writes).toBe(8 + 2 + 2);
    expect(h.destination.versionsOf('A')).toEqual(a.map((r) => r.version));
    expect(h.destination.versionsOf('B')).toEqual(b.map((r) => r.version));
  });

  test('per-version on the home lane writes once per delivered version, and never claims', async () => {
    const h = harness('in-order', { inOrderCommit: 'per-version' });
    const a = accountHistory('A', 8);
    await homeOn(h, a.slice(0, 3));
    const before = h.ledger.store.requests.writes;

    await h.engine.process(a.slice(3), HOME);

    expect(h.ledger.store.requests.writes - before).toBe(5);
    expect(h.destination.versionsOf('A')).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  test('per-version on the home lane: a failed version is dead-lettered, those before it stay committed, those after park', async () => {
    const h = harness('in-order', { inOrderCommit: 'per-version' });
    const a = accountHistory('A', 8);
    await homeOn(h, a.slice(0, 3));
    h.destination.intercept = (delivery) =>
      delivery.record.version === 6 ? { status: 'failed', reason: 'DELIVERY_FAILED', detail: 'down', attempts: 3 } : undefined;
    const calls = h.destination.calls.length;

    const outcome = await h.engine.process(a.slice(3), HOME);

    expect(h.destination.calls.slice(calls)).toEqual([1, 1, 1]);
    expect(h.destination.versionsOf('A')).toEqual([1, 2, 3, 4, 5]);
    expect(outcome.counts).toMatchObject({ delivered: 2, deadLettered: 1, parked: 2, failed: 0 });
    const [w] = (await h.ledger.load(['A'])).values();
    expect(w).toMatchObject({ version: 5, owed: [[6, 6]], parked: [[7, 8]], home: HOME.lane });
  });

  test('per-version on the home lane: a commit that loses its race keeps the delivery and goes on', async () => {
    const h = harness('in-order', { inOrderCommit: 'per-version' });
    const a = accountHistory('A', 7);
    await homeOn(h, a.slice(0, 3));
    let delivered = 0;
    h.destination.afterDelivery = () => {
      if ((delivered += 1) === 2) loseNextRace(h.ledger, 'A');
    };

    const outcome = await h.engine.process(a.slice(3), HOME);

    expect(h.destination.versionsOf('A')).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(outcome.counts).toMatchObject({ delivered: 4, ledgerConflicts: 1, claimsLost: 0, failed: 0 });
    const [w] = (await h.ledger.load(['A'])).values();
    expect(w).toMatchObject({ version: 7, home: HOME.lane });
  });

  test('the home lane sends an account\'s run of versions in one call; a failed one undoes what was planned after it', async () => {
    const h = harness('in-order', { inOrderCommit: 'per-batch' });
    const a = accountHistory('A', 9);
    await homeOn(h, a.slice(0, 3));
    const calls = h.destination.calls.length;

    await h.engine.process(a.slice(3, 6), HOME);
    expect(h.destination.calls.slice(calls)).toEqual([3]);
    expect(h.destination.versionsOf('A')).toEqual([1, 2, 3, 4, 5, 6]);

    h.destination.intercept = (delivery) =>
      delivery.record.version === 8 ? { status: 'failed', reason: 'DELIVERY_FAILED', detail: 'down', attempts: 3 } : undefined;
    const outcome = await h.another('engine-2').process(a.slice(6), HOME);
    // 7 delivered; 8 failed and is dead-lettered (owed); 9 was not sent, and parks behind the owed version.
    expect(h.destination.versionsOf('A')).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(outcome.counts).toMatchObject({ delivered: 1, deadLettered: 1, parked: 1, failed: 0 });
    expect(h.deadLetters.letters.map((letter) => [letter.reason, letter.version])).toEqual([['DELIVERY_FAILED', 8]]);
    const [w] = (await h.ledger.load(['A'])).values();
    expect(w).toMatchObject({ version: 7, owed: [[8, 8]], parked: [[9, 9]], home: HOME.lane });
    expect(w?.recent.map((entry) => entry.version)).not.toContain(8);
  });

  test('under a claim, a lane sends the claimed run in one call; a failed one undoes what was planned after it', async () => {
    const h = harness('in-order', { inOrderCommit: 'per-batch' });
    const a = accountHistory('A', 6);
    h.destination.intercept = (delivery) =>
      delivery.record.version === 2 ? { status: 'failed', reason: 'DELIVERY_FAILED', detail: 'down', attempts: 3 } : undefined;

    const outcome = await h.engine.process(a.slice(0, 3), HOME);

    // 1 delivered (and counts the lane towards the home); 2 failed and is owed; 3 was not sent, and parks.
    expect(h.destination.calls).toEqual([3]);
    expect(h.destination.versionsOf('A')).toEqual([1]);
    expect(outcome.counts).toMatchObject({ delivered: 1, deadLettered: 1, parked: 1, failed: 0 });
    const [w] = (await h.ledger.load(['A'])).values();
    expect(w).toMatchObject({ version: 1, owed: [[2, 2]], parked: [[3, 3]], homeCandidate: HOME.lane, claim: undefined });

    // A fresh account: the whole claimed run in one call, committed with the claim's release.
    h.destination.intercept = undefined;
    await h.engine.process(accountHistory('B', 3), HOME);
    expect(h.destination.calls.slice(1)).toEqual([3]);
    const [b] = (await h.ledger.load(['B'])).values();
    expect(b).toMatchObject({ version: 3, homeCandidate: HOME.lane, claim: undefined });
  });

  test('a heal goes in the home run\'s call with the versions after it; a heal that fails is dead-lettered and what follows parks', async () => {
    const h = harness('in-order', { inOrderCommit: 'per-batch' });
    const a = accountHistory('A', 9);
    await homeOn(h, a.slice(0, 3));
    const calls = h.destination.calls.length;

    // Version 4 never arrives: it is healed from 5, in the call that delivers 5 and 6.
    const healing = await h.engine.process(a.slice(4, 6), HOME);
    expect(h.destination.calls.slice(calls)).toEqual([3]);
    expect(h.destination.versionsOf('A')).toEqual([1, 2, 3, 4, 5, 6]);
    expect(healing.counts).toMatchObject({ delivered: 3, healed: 1, failed: 0 });
    const [healed] = (await h.ledger.load(['A'])).values();
    expect(healed?.heals.map((mark) => mark.version)).toEqual([4]);

    // Version 7 never arrives either, and its heal fails: dead-lettered, owed, and 8 and 9 park behind it.
    h.destination.intercept = (delivery) => (delivery.healed ? { status: 'failed', reason: 'DELIVERY_FAILED', detail: 'down', attempts: 3 } : undefined);
    const failing = await h.another('engine-2').process(a.slice(7, 9), HOME);
    expect(h.destination.versionsOf('A')).toEqual([1, 2, 3, 4, 5, 6]);
    expect(failing.counts).toMatchObject({ delivered: 0, healed: 0, deadLettered: 1, parked: 2, failed: 0 });
    expect(h.deadLetters.letters.map((letter) => [letter.reason, letter.version])).toEqual([['DELIVERY_FAILED', 7]]);
    const [w] = (await h.ledger.load(['A'])).values();
    expect(w).toMatchObject({ version: 6, owed: [[7, 7]], parked: [[8, 9]], home: HOME.lane });
    expect(w?.heals.map((mark) => mark.version)).toEqual([4]);
  });

  test('another lane parks what it holds while the home delivers lately, and the home lane drains it', async () => {
    const h = harness('in-order', { inOrderCommit: 'per-batch', homeBoundMs: 4_000 });
    const a = accountHistory('A', 5);
    await homeOn(h, a.slice(0, 2));
    h.clock.advance(3_999);

    const outcome = await h.another('engine-2').process([{ ...a[2]!, sequenceNumber: 'copy' }, a[3]!], OTHER);
    expect(outcome.counts).toMatchObject({ delivered: 0, parked: 2, homesFenced: 0 });

    await h.another('engine-3').process(a.slice(2, 3).concat(a.slice(4)), HOME);
    expect(h.destination.versionsOf('A')).toEqual([1, 2, 3, 4, 5]);
    const [w] = (await h.ledger.load(['A'])).values();
    expect(w).toMatchObject({ version: 5, home: HOME.lane, parked: [] });
    expect(h.ledger.allParked()).toEqual([]);
  });

  test('another lane parks, even behind a quiet home; a sweep fences a quiet home, and the sweep after the fence delivers', async () => {
    const h = harness('in-order', { inOrderCommit: 'per-batch', homeBoundMs: 4_000 });
    const a = accountHistory('A', 6);
    await homeOn(h, a.slice(0, 2));
    h.clock.advance(4_000);
    const writes = countWrites(h);

    const outcome = await h.another('engine-2').process(a.slice(2, 4), OTHER);
    expect(outcome.counts).toMatchObject({ delivered: 0, parked: 2, homesFenced: 0 });
    expect(writes()).toBe(1);

    const sweep = await h.another('sweeper').sweep();
    expect(sweep.counts).toMatchObject({ delivered: 0, homesFenced: 1 });
    const [fenced] = (await h.ledger.load(['A'])).values();
    expect(fenced).toMatchObject({ version: 2, home: undefined, parked: [[3, 4]] });
    expect(fenced?.claim).toMatchObject({ owner: FENCE_OWNER, expiresAt: h.clock.time + 4_000 });

    // The home lane, while the fence is live, parks too: it may not deliver past it.
    await h.engine.process(a.slice(4, 5), HOME);
    expect(h.destination.versionsOf('A')).toEqual([1, 2]);

    // After the fence the sweep claims and delivers what waits, in order.
    h.clock.advance(4_001);
    await h.another('sweeper-2').sweep();
    expect(h.destination.versionsOf('A')).toEqual([1, 2, 3, 4, 5]);
    await h.another('engine-3').process(a.slice(5), OTHER);
    expect(h.destination.versionsOf('A')).toEqual([1, 2, 3, 4, 5, 6]);
    expect(h.ledger.allParked()).toEqual([]);
  });

  test('a redrive (no lane) parks while the home is active; a sweep fences the home once it is quiet', async () => {
    const h = harness('in-order', { inOrderCommit: 'per-batch', homeBoundMs: 4_000 });
    const a = accountHistory('A', 6);
    // 3 and 4 are missing: two versions, so no heal; 5 and 6 park behind them.
    await homeOn(h, pick(a, 1, 2));
    await h.engine.process(pick(a, 5, 6), HOME);

    const redrive = await h.another('redrive').process(pick(a, 3, 4));
    expect(redrive.counts).toMatchObject({ delivered: 0, parked: 2, homesFenced: 0 });
    expect((await h.another('sweeper').sweep()).counts.homesFenced).toBe(0);
    expect(h.destination.versionsOf('A')).toEqual([1, 2]);

    h.clock.advance(4_000);
    expect((await h.another('sweeper').sweep()).counts.homesFenced).toBe(1);
    h.clock.advance(4_001);
    await h.another('sweeper').sweep();

    expect(h.destination.versionsOf('A')).toEqual([1, 2, 3, 4, 5, 6]);
    expect(h.ledger.allParked()).toEqual([]);
  });

  test('a home commit that lost its race to a fence still counts while the fence has time left', async () => {
    const h = harness('in-order', { inOrderCommit: 'per-batch', homeBoundMs: 4_000 });
    const a = accountHistory('A', 5);
    await homeOn(h, a.slice(0, 2));
    // The home lane has been quiet for its bound: between its next run's read and commit, a redrive of a copy of
    // version 3 fences it off.
    h.clock.advance(4_000);
    fenceBeforeNextWrite(h, a[2]!);

    const outcome = await h.engine.process(a.slice(2, 4), HOME);

    expect(h.destination.versionsOf('A')).toEqual([1, 2, 3, 4]);
    expect(outcome.counts).toMatchObject({ delivered: 2, claimsLost: 0, failed: 0 });
    const [w] = (await h.ledger.load(['A'])).values();
    expect(w).toMatchObject({ version: 4, home: undefined, parked: [] });
    expect(w?.claim?.owner).toBe(FENCE_OWNER);
    expect(h.ledger.allParked()).toEqual([]);
  });

  test('a home commit that comes after the fence has ended does not count: the versions are delivered again, in order', async () => {
    const h = harness('in-order', { inOrderCommit: 'per-batch', homeBoundMs: 4_000 });
    const a = accountHistory('A', 4);
    await homeOn(h, a.slice(0, 2));
    h.clock.advance(4_000);
    // The home run's commit is so late that the fence is over.
    fenceBeforeNextWrite(h, a[2]!, 4_000);

    const outcome = await h.engine.process(a.slice(2, 4), HOME);

    expect(outcome.counts.claimsLost).toBe(1);
    // Not counted as delivered: the run claims the account and delivers 3 and 4 again, in order.
    expect(h.destination.versionsOf('A')).toEqual([1, 2, 3, 4, 3, 4]);
    const [w] = (await h.ledger.load(['A'])).values();
    // A claimed commit after a fence makes the lane the candidate again, not yet the home.
    expect(w).toMatchObject({ version: 4, home: undefined, homeCandidate: HOME.lane });
  });

  test('a lost race against nothing but a revision bump re-applies the home deliveries', async () => {
    const h = harness('in-order', { inOrderCommit: 'per-batch' });
    const a = accountHistory('A', 5);
    await homeOn(h, a.slice(0, 2));
    loseNextRace(h.ledger, 'A');

    const outcome = await h.engine.process(a.slice(2), HOME);

    expect(outcome.counts).toMatchObject({ delivered: 3, ledgerConflicts: 1, claimsLost: 0 });
    const [w] = (await h.ledger.load(['A'])).values();
    expect(w).toMatchObject({ version: 5, home: HOME.lane });
  });
});
