import { describe, expect, test } from 'vitest';
import { LedgerUnavailableError } from '../../shared/ordering/errors';
import type { ChangeRecord } from '../../shared/change-record/change-record';
import { accountHistory, duplicateOf, pick } from '../support/histories';
import { harness, loseNextRace } from '../support/engine-harness';
import { LIVE_EPOCH } from '../../shared/ordering/delivery-mode';
import type { InMemoryLedger } from '../../shared/ledger/in-memory-ledger';
import type { Watermark } from '../../shared/ordering/watermark';

describe('in-order', () => {
  test('per-version: delivers a shuffled, duplicated batch in version order, one write per version plus the first claim', async () => {
    const h = harness('in-order', { inOrderCommit: 'per-version' });
    const history = accountHistory('A', 5);
    const batch = pick(history, 3, 1, 5, 2, 4).concat(duplicateOf(history[1]!), duplicateOf(history[4]!));

    const outcome = await h.engine.process(batch);

    expect(h.destination.versionsOf('A')).toEqual([1, 2, 3, 4, 5]);
    expect(outcome.counts).toMatchObject({ delivered: 5, duplicates: 2, parked: 0, failed: 0 });
    expect(h.ledger.store.requests.writes).toBe(6);
    const [watermark] = (await h.ledger.load(['A'])).values();
    expect(watermark).toMatchObject({ version: 5, parked: [] });
    expect(watermark?.claim).toBeUndefined();
  });

  test('with per-batch commits, claims the run in hand once and commits it once', async () => {
    const h = harness('in-order', { inOrderCommit: 'per-batch' });
    const a = accountHistory('A', 10);
    const b = accountHistory('B', 10);

    await h.engine.process([...a, ...b].reverse());

    expect(h.destination.versionsOf('A')).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(h.destination.versionsOf('B')).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(h.ledger.store.requests.writes).toBe(4);
    const watermarks = await h.ledger.load(['A', 'B']);
    expect([...watermarks.values()].map((w) => [w.version, w.claim])).toEqual([
      [10, undefined],
      [10, undefined],
    ]);
  });

  test('with per-batch commits, a run through a heal and parked records still delivers in order', async () => {
    const h = harness('in-order', { inOrderCommit: 'per-batch' });
    const history = accountHistory('A', 8);
    await h.engine.process(pick(history, 1, 2, 6, 7, 8));
    expect(h.destination.versionsOf('A')).toEqual([1, 2]);

    await h.engine.process(pick(history, 4, 5));

    expect(h.destination.received.map((r) => `${r.version}${r.healed ? 'h' : ''}`)).toEqual(
      ['1', '2', '3h', '4', '5', '6', '7', '8'],
    );
    expect(h.ledger.allParked()).toEqual([]);
  });

  test('per-batch: a claim covers a version the run heals, so a run through a heal is one claim, one call, one commit', async () => {
    const h = harness('in-order', { inOrderCommit: 'per-batch' });
    const history = accountHistory('A', 6);

    await h.engine.process(pick(history, 5, 1, 2, 4, 6));

    expect(h.destination.received.map((r) => `${r.version}${r.healed ? 'h' : ''}`)).toEqual(['1', '2', '3h', '4', '5', '6']);
    expect(h.destination.calls).toEqual([6]);
    expect(h.ledger.store.requests.writes).toBe(2);
    const [watermark] = (await h.ledger.load(['A'])).values();
    expect(watermark).toMatchObject({ version: 6, parked: [] });
    expect(watermark?.claim).toBeUndefined();
  });

  describe('per-batch claims only: a plain run is claimed, delivered in one call and committed as one watermark', () => {
    test('a version that fails in the call: the versions before it are committed, it is dead-lettered and owed', async () => {
      const h = harness('in-order', { inOrderCommit: 'per-batch' });
      const history = accountHistory('A', 5);
      h.destination.intercept = (delivery) =>
        delivery.record.version === 3 ? { status: 'failed', reason: 'DELIVERY_FAILED', detail: 'refused', attempts: 3 } : undefined;

      const outcome = await h.engine.process(history);

      expect(h.destination.calls).toEqual([5]);
      expect(h.destination.versionsOf('A')).toEqual([1, 2]);
      expect(h.deadLetters.letters.map((l) => [l.record?.version, l.reason])).toEqual([[3, 'DELIVERY_FAILED']]);
      expect(outcome.counts).toMatchObject({ delivered: 2, deadLettered: 1, parked: 2, failed: 0 });
      const [watermark] = (await h.ledger.load(['A'])).values();
      expect(watermark).toMatchObject({ version: 2, owed: [[3, 3]], parked: [[4, 5]] });
      expect(watermark?.claim).toBeUndefined();
    });

    test('a lost claim race re-reads and delivers the run once, in order', async () => {
      const h = harness('in-order', { inOrderCommit: 'per-batch' });
      const history = accountHistory('A', 4);
      await h.engine.process(pick(history, 1));
      loseNextRace(h.ledger, 'A');

      const outcome = await h.engine.process(pick(history, 2, 3, 4));

      expect(h.destination.versionsOf('A')).toEqual([1, 2, 3, 4]);
      expect(outcome.counts).toMatchObject({ delivered: 3, ledgerConflicts: 1, failed: 0 });
      const [watermark] = (await h.ledger.load(['A'])).values();
      expect(watermark).toMatchObject({ version: 4 });
      expect(watermark?.claim).toBeUndefined();
    });

    test('a lost commit race keeps what was delivered under the claim that survived: nothing is delivered twice', async () => {
      const h = harness('in-order', { inOrderCommit: 'per-batch' });
      const history = accountHistory('A', 4);
      h.destination.afterDelivery = () => loseNextRace(h.ledger, 'A');

      const outcome = await h.engine.process(history);

      expect(h.destination.calls).toEqual([4]);
      expect(h.destination.versionsOf('A')).toEqual([1, 2, 3, 4]);
      expect(outcome.counts).toMatchObject({ delivered: 4, ledgerConflicts: 1, claimsLost: 0, failed: 0 });
      const [watermark] = (await h.ledger.load(['A'])).values();
      expect(watermark).toMatchObject({ version: 4 });
      expect(watermark?.claim).toBeUndefined();
    });

    test('a claim taken over before the commit: what was delivered under it is not committed but parked for the new holder', async () => {
      const h = harness('in-order', { inOrderCommit: 'per-batch' });
      const history = accountHistory('A', 3);
      h.destination.afterDelivery = () => {
        h.destination.afterDelivery = undefined;
        stealClaim(h.ledger, 'A');
      };

      const outcome = await h.engine.process(history);

      expect(h.destination.versionsOf('A')).toEqual([1, 2, 3]);
      expect(outcome.counts).toMatchObject({ claimsLost: 1, ledgerConflicts: 1, parked: 3, failed: 0 });
      const [watermark] = (await h.ledger.load(['A'])).values();
      expect(watermark).toMatchObject({ version: 0, parked: [[1, 3]] });
      expect(watermark?.claim?.owner).toBe('other');
    });
  });

  describe('per-version claims only: a plain run is claimed once, then each version is a call and a commit', () => {
    test('one claim over the run, one commit per version, the last releasing it', async () => {
      const h = harness('in-order', { inOrderCommit: 'per-version' });
      const history = accountHistory('A', 4);
      const claims: (number | undefined)[] = [];
      const write = h.ledger.write.bind(h.ledger);
      h.ledger.write = (request) => {
        claims.push(request.next.claim?.through);
        return write(request);
      };

      await h.engine.process(history);

      expect(h.destination.calls).toEqual([1, 1, 1, 1]);
      expect(claims).toEqual([4, 4, 4, 4, undefined]);
      const [watermark] = (await h.ledger.load(['A'])).values();
      expect(watermark).toMatchObject({ version: 4 });
      expect(watermark?.claim).toBeUndefined();
    });

    test('a failed version: those before it stay committed, it is dead-lettered and owed, those after park', async () => {
      const h = harness('in-order', { inOrderCommit: 'per-version' });
      const history = accountHistory('A', 5);
      h.destination.intercept = (delivery) =>
        delivery.record.version === 3 ? { status: 'failed', reason: 'DELIVERY_FAILED', detail: 'refused', attempts: 3 } : undefined;

      const outcome = await h.engine.process(history);

      expect(h.destination.versionsOf('A')).toEqual([1, 2]);
      expect(outcome.counts).toMatchObject({ delivered: 2, deadLettered: 1, parked: 2, failed: 0 });
      const [watermark] = (await h.ledger.load(['A'])).values();
      expect(watermark).toMatchObject({ version: 2, owed: [[3, 3]], parked: [[4, 5]] });
      expect(watermark?.claim).toBeUndefined();
    });

    test('a commit that loses its race under a claim that survived keeps the delivery: nothing is delivered twice', async () => {
      const h = harness('in-order', { inOrderCommit: 'per-version' });
      const history = accountHistory('A', 4);
      let delivered = 0;
      h.destination.afterDelivery = () => {
        if ((delivered += 1) === 2) loseNextRace(h.ledger, 'A');
      };

      const outcome = await h.engine.process(history);

      expect(h.destination.versionsOf('A')).toEqual([1, 2, 3, 4]);
      expect(outcome.counts).toMatchObject({ delivered: 4, ledgerConflicts: 1, claimsLost: 0, failed: 0 });
      const [watermark] = (await h.ledger.load(['A'])).values();
      expect(watermark).toMatchObject({ version: 4 });
      expect(watermark?.claim).toBeUndefined();
    });

    test('a claim taken over mid-run: the version delivered under it is not committed, and the run parks the rest', async () => {
      const h = harness('in-order', { inOrderCommit: 'per-version' });
      const history = accountHistory('A', 4);
      let delivered = 0;
      h.destination.afterDelivery = () => {
        if ((delivered += 1) === 2) stealClaim(h.ledger, 'A');
      };

      const outcome = await h.engine.process(history);

      expect(h.destination.versionsOf('A')).toEqual([1, 2]);
      // Both count as delivered (the destination accepted them); 2 also parks, as the new holder will deliver it again.
      expect(outcome.counts).toMatchObject({ delivered: 2, claimsLost: 1, parked: 3, failed: 0 });
      const [watermark] = (await h.ledger.load(['A'])).values();
      expect(watermark).toMatchObject({ version: 1, parked: [[2, 4]] });
      expect(watermark?.claim?.owner).toBe('other');
    });
  });

  test('writes nothing for a batch of duplicates', async () => {
    const h = harness('in-order');
    const history = accountHistory('A', 3);
    await h.engine.process(history);
    const writes = h.ledger.store.requests.writes;

    const outcome = await h.engine.process(history.map(duplicateOf));

    expect(outcome.counts).toMatchObject({ delivered: 0, duplicates: 3 });
    expect(h.ledger.store.requests.writes).toBe(writes);
  });

  test('parks records behind a gap of two and delivers them once the gap fills in a later batch', async () => {
    const h = harness('in-order');
    const history = accountHistory('A', 6);

    const first = await h.engine.process(pick(history, 1, 4, 5, 6));
    expect(h.destination.versionsOf('A')).toEqual([1]);
    expect(first.counts.parked).toBe(3);
    expect(h.ledger.allParked().map((r) => r.version).sort()).toEqual([4, 5, 6]);

    const second = await h.engine.process(pick(history, 3));
    // Version 2 is rebuilt from 1's image and 3's old image; 4-6 come out of the ledger.
    expect(h.destination.received.map((r) => [r.version, r.healed])).toEqual([
      [1, false],
      [2, true],
      [3, false],
      [4, false],
      [5, false],
      [6, false],
    ]);
    expect(second.counts).toMatchObject({ healed: 1, unparked: 3 });
    expect(h.ledger.allParked()).toEqual([]);
  });

  test('heals a single missing version from its neighbours, with exact images', async () => {
    const h = harness('in-order');
    const history = accountHistory('A', 3);
    let healed: ChangeRecord | undefined;
    h.destination.intercept = (delivery) => {
      if (delivery.healed) healed = delivery.record;
      return undefined;
    };

    await h.engine.process(pick(history, 1, 3));

    expect(h.destination.versionsOf('A')).toEqual([1, 2, 3]);
    expect(healed).toMatchObject({
      kind: 'MODIFY',
      version: 2,
      previousVersion: 1,
      oldImage: history[0]!.newImage,
      newImage: history[1]!.newImage,
      eventId: 'healed:A#2',
    });
  });

  test('heals a missing version 1 of a new account from version 2 as an INSERT', async () => {
    const h = harness('in-order');
    const history = accountHistory('A', 3);
    const kinds: string[] = [];
    h.destination.intercept = (delivery) => {
      kinds.push(`${delivery.record.version}:${delivery.record.kind}:${delivery.healed}`);
      return undefined;
    };

    await h.engine.process(pick(history, 3, 2));

    expect(kinds).toEqual(['1:INSERT:true', '2:MODIFY:false', '3:MODIFY:false']);
  });

  test('a parked predecessor arriving through another engine releases the parked records', async () => {
    const h = harness('in-order');
    const history = accountHistory('A', 5);
    await h.engine.process(pick(history, 1, 2));
    await h.engine.process(pick(history, 5));
    expect(h.destination.versionsOf('A')).toEqual([1, 2]);

    await h.another('engine-2').process(pick(history, 3, 4));

    expect(h.destination.versionsOf('A')).toEqual([1, 2, 3, 4, 5]);
    expect(h.ledger.allParked()).toEqual([]);
  });

  test('a permanent failure stops the account at that version, dead-letters it, and a redrive resumes it', async () => {
    const h = harness('in-order');
    const a = accountHistory('A', 5);
    const b = accountHistory('B', 3);
    h.destination.intercept = (delivery) =>
      delivery.record.accountId === 'A' && delivery.record.version === 3
        ? { status: 'failed', reason: 'REJECTED', detail: 'schema says no', attempts: 1 }
        : undefined;

    const outcome = await h.engine.process([...a, ...b]);

    expect(h.destination.versionsOf('A')).toEqual([1, 2]);
    expect(h.destination.versionsOf('B')).toEqual([1, 2, 3]);
    expect(outcome.counts).toMatchObject({ deadLettered: 1, parked: 2, failed: 0 });
    expect(h.deadLetters.letters).toHaveLength(1);
    expect(h.deadLetters.letters[0]).toMatchObject({
      reason: 'REJECTED',
      accountId: 'A',
      version: 3,
      sequenceNumber: a[2]!.sequenceNumber,
      record: a[2],
    });

    // Later versions keep parking while version 3 waits in the dead-letter queue.
    h.destination.intercept = undefined;
    const more = await h.engine.process([...accountHistory('A', 6).slice(5)]);
    expect(more.counts.parked).toBe(1);
    expect(h.destination.versionsOf('A')).toEqual([1, 2]);

    await h.engine.process([h.deadLetters.letters[0]!.record as ChangeRecord]);
    expect(h.destination.versionsOf('A')).toEqual([1, 2, 3, 4, 5, 6]);
  });

  test('a record that can be neither delivered nor dead-lettered is reported failed and its account released', async () => {
    const h = harness('in-order');
    const history = accountHistory('A', 3);
    h.deadLetters.refuse = true;
    h.destination.intercept = (delivery) =>
      delivery.record.version === 2 ? { status: 'failed', reason: 'DELIVERY_FAILED', detail: 'timeout', attempts: 5 } : undefined;

    const outcome = await h.engine.process(history);

    expect(outcome.failed.map((position) => position.sequenceNumber)).toEqual([
      history[1]!.sequenceNumber,
      history[2]!.sequenceNumber,
    ]);
    const [watermark] = (await h.ledger.load(['A'])).values();
    expect(watermark).toMatchObject({ version: 1 });
    expect(watermark?.claim).toBeUndefined();

    // The retried batch goes through once the destination recovers.
    h.destination.intercept = undefined;
    h.deadLetters.refuse = false;
    await h.engine.process(history);
    expect(h.destination.versionsOf('A')).toEqual([1, 2, 3]);
  });

  test('another engine holding a live claim makes this one park; the sweep drains after the claim expires', async () => {
    const h = harness('in-order');
    const history = accountHistory('A', 4);
    await h.engine.process(pick(history, 1));
    // Simulate an engine that claimed version 2 and died before delivering it.
    const [watermark] = (await h.ledger.load(['A'])).values();
    await h.ledger.write({
      expectedRevision: watermark!.revision,
      next: { ...watermark!, revision: watermark!.revision + 1, claim: { owner: 'dead', token: 'dead:1', version: 2, expiresAt: h.clock.time + 10_000 } },
      park: [],
      unpark: [],
    });

    const outcome = await h.engine.process(pick(history, 2, 3, 4));
    expect(outcome.counts.parked).toBe(3);
    expect(h.destination.versionsOf('A')).toEqual([1]);

    expect((await h.engine.sweep()).counts.delivered).toBe(0);
    h.clock.advance(10_001);
    const swept = await h.engine.sweep();
    expect(swept.counts).toMatchObject({ delivered: 3, unparked: 3 });
    expect(h.destination.versionsOf('A')).toEqual([1, 2, 3, 4]);
  });

  test('after the maximum gap age one GAP_TIMEOUT notice names the gap; the records stay parked and go out when it fills', async () => {
    const h = harness('in-order');
    const history = accountHistory('A', 6);
    await h.engine.process(pick(history, 1, 2, 5, 6));
    expect((await h.engine.sweep()).counts.gapTimeouts).toBe(0);

    h.clock.advance(60_000);
    const swept = await h.engine.sweep();

    expect(swept.counts).toMatchObject({ gapTimeouts: 1, deadLettered: 1, unparked: 0 });
    expect(h.deadLetters.letters.map((l) => [l.reason, l.accountId, l.version, l.missing, l.waiting, l.record])).toEqual([
      ['GAP_TIMEOUT', 'A', 3, [[3, 4]], 2, undefined],
    ]);
    expect(h.ledger.allParked().map((r) => r.version)).toEqual([5, 6]);
    // One notice per gap: later sweeps and batches do not repeat it.
    h.clock.advance(60_000);
    await h.engine.sweep();
    await h.engine.process([duplicateOf(history[4]!)]);
    expect(h.deadLetters.letters).toHaveLength(1);
    expect((await h.engine.inspect(['A']))[0]?.state).toBe('gap-timed-out');

    // The missing versions turn up (a replay, a redrive): everything goes out, in order.
    await h.engine.process(pick(history, 4, 3));
    expect(h.destination.versionsOf('A')).toEqual([1, 2, 3, 4, 5, 6]);
    expect(h.ledger.allParked()).toEqual([]);
    expect(await collect(h.ledger.waiting())).toEqual([]);
    expect((await h.engine.inspect(['A']))[0]?.state).toBe('in-step');
  });

  test('an operator skips a gap that never fills: the reason is kept, the parked records go out in order', async () => {
    const h = harness('in-order');
    const history = accountHistory('A', 7);
    await h.engine.process(pick(history, 1, 2, 5, 7, 6));
    h.clock.advance(60_000);
    await h.engine.sweep();

    const refused = await h.engine.skipGap('A', 5, 'lost in the incident of 2 Dec');
    expect(refused.skip).toEqual({ refused: expect.stringContaining('version 5 is parked') });
    const result = await h.engine.skipGap('A', 4, 'lost in the incident of 2 Dec');

    expect(result.skip).toEqual({ skipped: { from: 3, to: 4 } });
    expect(result.outcome.counts).toMatchObject({ gapsSkipped: 1, versionsSkipped: 2, delivered: 3, unparked: 3 });
    expect(h.destination.versionsOf('A')).toEqual([1, 2, 5, 6, 7]);
    expect(result.account).toMatchObject({ state: 'in-step', watermark: { version: 7, skipped: [[3, 4]] } });
    expect(result.account.watermark?.skips).toEqual([{ from: 3, to: 4, reason: 'lost in the incident of 2 Dec', at: h.clock.time }]);

    // A skipped version that turns up after all is dead-lettered with its reason, not dropped and not delivered.
    const late = await h.engine.process(pick(history, 3));
    expect(late.counts).toMatchObject({ beforeBaseline: 1, deadLettered: 1, delivered: 0 });
    expect(h.deadLetters.letters.at(-1)).toMatchObject({ reason: 'BEFORE_BASELINE', version: 3, record: { version: 3 } });
  });

  test('an account that predates the pipeline is baselined at its lowest waiting version after the gap age', async () => {
    const h = harness('in-order');
    const history = accountHistory('A', 6);
    await h.engine.process(pick(history, 5, 4, 6));
    expect(h.destination.versionsOf('A')).toEqual([]);

    h.clock.advance(60_000);
    const swept = await h.engine.sweep();

    expect(swept.counts).toMatchObject({ baselined: 1, delivered: 3 });
    expect(h.destination.versionsOf('A')).toEqual([4, 5, 6]);
    expect(h.deadLetters.letters).toEqual([]);
    // In the live epoch nothing is skipped as before the window: a late version below the baseline is dead-lettered.
    const late = await h.engine.process(pick(history, 2, 3));
    expect(late.counts).toMatchObject({ beforeWindow: 0, beforeBaseline: 2, deadLettered: 2 });
    expect(h.deadLetters.letters.map((l) => [l.reason, l.version])).toEqual([
      ['BEFORE_BASELINE', 2],
      ['BEFORE_BASELINE', 3],
    ]);
  });

  test('a baseline whose watermark write loses a race is re-planned and counted once', async () => {
    const h = harness('in-order');
    const history = accountHistory('A', 6);
    await h.engine.process(pick(history, 5, 6));
    h.clock.advance(60_000);
    loseNextRace(h.ledger, 'A');

    const swept = await h.engine.sweep();

    expect(swept.counts).toMatchObject({ baselined: 1, ledgerConflicts: 1, delivered: 2 });
    expect(h.destination.versionsOf('A')).toEqual([5, 6]);
  });

  test('a replay epoch starts each account at its first change at or after the replay start, whatever arrives first', async () => {
    const history = accountHistory('A', 8);
    const from = history[4]!.createdAtMicros; // version 5 is the first change at or after the start
    const epoch = { id: 'replay-1', replay: true, from };
    for (const order of [
      [6, 5, 7, 4, 8],
      [7, 6, 8, 5, 4],
      [4, 8, 7, 6, 5],
    ]) {
      const h = harness('in-order', { epoch });
      let replayMarked = true;
      h.destination.intercept = (delivery) => {
        replayMarked &&= delivery.replay && delivery.epoch === 'replay-1';
        return undefined;
      };
      let beforeWindow = 0;
      for (const version of order) beforeWindow += (await h.engine.process(pick(history, version))).counts.beforeWindow;

      expect(h.destination.versionsOf('A')).toEqual([5, 6, 7, 8]);
      expect(beforeWindow).toBe(1);
      expect(replayMarked).toBe(true);
      expect(h.deadLetters.letters).toEqual([]);
    }
  });

  test('an unreachable ledger fails only the records of the accounts it affects', async () => {
    const h = harness('in-order');
    const a = accountHistory('A', 2);
    const b = accountHistory('B', 2);
    const write = h.ledger.write.bind(h.ledger);
    h.ledger.write = async (w) => {
      if (w.next.accountId === 'A') throw new LedgerUnavailableError('throttled', { accountId: 'A' });
      return write(w);
    };

    const outcome = await h.engine.process([...a, ...b]);

    expect(outcome.failed.map((p) => p.accountId)).toEqual(['A', 'A']);
    expect(h.destination.versionsOf('B')).toEqual([1, 2]);
  });

  test('per-batch: under a claim, the claimed run goes in one call, answered by the claim\'s end less the reserve', async () => {
    const h = harness('in-order', { inOrderCommit: 'per-batch', reserveMs: 1_000, claimTtlMs: 10_000 });
    const history = accountHistory('A', 4);

    const outcome = await h.engine.process(history, { deadline: h.clock.time + 2_400 });

    expect(h.destination.calls).toEqual([4]);
    expect(h.destination.deadlines).toEqual([h.clock.time + 2_400 - 1_000]);
    expect(outcome.counts).toMatchObject({ delivered: 4 });
    const [watermark] = (await h.ledger.load(['A'])).values();
    expect(watermark).toMatchObject({ version: 4 });
    expect(watermark?.claim).toBeUndefined();
  });

  test('per-version: close to the deadline it stops claiming and hands the rest back for a retry', async () => {
    const h = harness('in-order', { inOrderCommit: 'per-version', reserveMs: 1_000 });
    const history = accountHistory('A', 4);
    h.destination.afterDelivery = () => h.clock.advance(400);

    // A delivery starts only with a full reserve of time before its claim (bounded by the deadline) ends.
    const outcome = await h.engine.process(history, { deadline: h.clock.time + 2_400 });

    expect(h.destination.versionsOf('A')).toEqual([1, 2]);
    expect(outcome.failed.map((p) => p.version)).toEqual([3, 4]);
    const [watermark] = (await h.ledger.load(['A'])).values();
    expect(watermark).toMatchObject({ version: 2 });
    expect(watermark?.claim).toBeUndefined();
  });
});

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

/** Another engine takes the account's claim over (its own token, live for a minute): our next write loses its race. */
function stealClaim(ledger: InMemoryLedger, accountId: string): void {
  const watermarks = ledger.store.scope('dest', LIVE_EPOCH.id).watermarks;
  const current = watermarks.get(accountId) as Watermark;
  const claim = { owner: 'other', token: 'other:1', version: current.version + 1, expiresAt: Number.MAX_SAFE_INTEGER };
  watermarks.set(accountId, { ...current, revision: current.revision + 1, claim });
}
