import { describe, expect, test } from 'vitest';
import type { ChangeRecord } from '../../shared/change-record/change-record';
import { accountHistory, duplicateOf, pick } from '../support/histories';
import { harness, loseNextRace } from '../support/engine-harness';
import { MAX_RANGES } from '../../shared/ordering/limits';

describe('every-version', () => {
  test('delivers every version of a batch at once, in any order, with one ledger write per account', async () => {
    const h = harness('every-version');
    const a = accountHistory('A', 4);
    const b = accountHistory('B', 3);

    const outcome = await h.engine.process([...pick(a, 4, 2, 1, 3), ...pick(b, 2, 1, 3), duplicateOf(a[0]!)]);

    expect(h.destination.versionsOf('A').sort()).toEqual([1, 2, 3, 4]);
    expect(h.destination.versionsOf('B').sort()).toEqual([1, 2, 3]);
    expect(outcome.counts).toMatchObject({ delivered: 7, duplicates: 1 });
    expect(h.ledger.store.requests.writes).toBe(2);
    expect(h.destination.calls).toEqual([7]);
  });

  test('remembers versions delivered ahead of a gap so their redelivery is skipped', async () => {
    const h = harness('every-version');
    const history = accountHistory('A', 6);
    await h.engine.process(pick(history, 1, 4, 6));
    const [watermark] = (await h.ledger.load(['A'])).values();
    expect(watermark).toMatchObject({ version: 1, ahead: [[4, 4], [6, 6]] });

    const again = await h.engine.process(pick(history, 4, 6).map(duplicateOf));
    expect(again.counts).toMatchObject({ delivered: 0, duplicates: 2 });

    await h.engine.process(pick(history, 2, 3, 5));
    const [after] = (await h.ledger.load(['A'])).values();
    expect(after).toMatchObject({ version: 6, ahead: [] });
    expect(after?.gapSince).toBeUndefined();
    expect(h.destination.versionsOf('A')).toEqual([1, 4, 6, 2, 3, 5]);
  });

  test('heals a single missing version when the batch holds its successor', async () => {
    const h = harness('every-version');
    const history = accountHistory('A', 3);
    await h.engine.process(pick(history, 1));

    const outcome = await h.engine.process(pick(history, 3));

    expect(outcome.counts).toMatchObject({ delivered: 2, healed: 1 });
    expect(h.destination.received.map((r) => [r.version, r.healed])).toEqual([
      [1, false],
      [3, false],
      [2, true],
    ]);
    const late = await h.engine.process(pick(history, 2));
    expect(late.counts.duplicates).toBe(1);
  });

  test('a failed delivery goes to the dead-letter queue without holding back later versions', async () => {
    const h = harness('every-version');
    const history = accountHistory('A', 3);
    h.destination.intercept = (d) =>
      d.record.version === 2 ? { status: 'failed', reason: 'DELIVERY_FAILED', detail: 'throttled', attempts: 6 } : undefined;

    const outcome = await h.engine.process(history);

    expect(h.destination.versionsOf('A')).toEqual([1, 3]);
    expect(outcome.counts).toMatchObject({ deadLettered: 1, delivered: 2 });
    const [watermark] = (await h.ledger.load(['A'])).values();
    // The watermark passes the dead-lettered version: it is owed, not missing, so no gap clock runs.
    expect(watermark).toMatchObject({ version: 3, ahead: [], owed: [[2, 2]] });
    expect(watermark?.gapSince).toBeUndefined();

    h.destination.intercept = undefined;
    await h.engine.process([h.deadLetters.letters[0]!.record as ChangeRecord]);
    const [after] = (await h.ledger.load(['A'])).values();
    expect(after).toMatchObject({ version: 3, ahead: [], owed: [] });
    expect(h.destination.versionsOf('A')).toEqual([1, 3, 2]);
  });

  test('a gap that never fills is reported with GAP_TIMEOUT after the maximum gap age', async () => {
    const h = harness('every-version');
    const history = accountHistory('A', 5);
    await h.engine.process(pick(history, 1, 2, 5));
    expect([...(await h.ledger.load(['A'])).values()][0]?.gapSince).toBe(h.clock.time);

    h.clock.advance(60_000);
    const swept = await h.engine.sweep();

    expect(swept.counts).toMatchObject({ gapTimeouts: 1, deadLettered: 1 });
    expect(h.deadLetters.letters[0]).toMatchObject({ reason: 'GAP_TIMEOUT', accountId: 'A', missing: [[3, 4]] });
    const [watermark] = (await h.ledger.load(['A'])).values();
    expect(watermark?.gapSince).toBeUndefined();
    // If they do turn up later, they are delivered.
    await h.engine.process(pick(history, 3, 4));
    expect([...(await h.ledger.load(['A'])).values()][0]).toMatchObject({ version: 5, owed: [] });
    expect(h.destination.versionsOf('A')).toEqual([1, 2, 5, 3, 4]);
  });

  test('a gap time-out whose watermark write loses a race sends its notice once, then applies it', async () => {
    const h = harness('every-version');
    await h.engine.process(pick(accountHistory('A', 5), 1, 2, 5));
    h.clock.advance(60_000);
    loseNextRace(h.ledger, 'A');

    const swept = await h.engine.sweep();

    expect(swept.counts).toMatchObject({ ledgerConflicts: 1, gapTimeouts: 1, deadLettered: 1 });
    expect(h.deadLetters.letters).toHaveLength(1);
    expect([...(await h.ledger.load(['A'])).values()][0]).toMatchObject({ owed: [[3, 4]], gapSince: undefined });
  });

  test('an account that predates the pipeline is baselined after the maximum gap age', async () => {
    const h = harness('every-version');
    const history = accountHistory('A', 5);
    await h.engine.process(pick(history, 4, 5));

    h.clock.advance(60_000);
    const swept = await h.engine.sweep();

    expect(swept.counts.baselined).toBe(1);
    expect(h.deadLetters.letters).toEqual([]);
    expect([...(await h.ledger.load(['A'])).values()][0]).toMatchObject({ version: 5, floor: 3, ahead: [], owed: [[1, 3]] });
    // In the live epoch nothing is before the window: a version below the baseline is delivered, once.
    expect((await h.engine.process(pick(history, 2))).counts).toMatchObject({ delivered: 1, beforeWindow: 0 });
    expect((await h.engine.process([duplicateOf(history[1]!)])).counts).toMatchObject({ delivered: 0, duplicates: 1 });
    expect(h.destination.versionsOf('A')).toEqual([4, 5, 2]);
  });

  test('two engines racing on one account merge what they delivered and never lower the watermark', async () => {
    const h = harness('every-version');
    const history = accountHistory('A', 6);
    const other = h.another('engine-2');

    await Promise.all([h.engine.process(pick(history, 1, 2, 3)), other.process(pick(history, 3, 4, 5, 6))]);

    expect(new Set(h.destination.versionsOf('A'))).toEqual(new Set([1, 2, 3, 4, 5, 6]));
    expect([...(await h.ledger.load(['A'])).values()][0]).toMatchObject({ version: 6, ahead: [] });
  });

  test('more separate gaps than the bound: the holes are reported at once; if the queue refuses, ahead is still capped', async () => {
    const history = accountHistory('A', 1_002);
    const spread = history.filter((record) => record.version % 2 === 0);
    const h = harness('every-version');
    await h.engine.process(spread);
    expect(h.deadLetters.letters).toMatchObject([{ reason: 'GAP_TIMEOUT', accountId: 'A' }]);
    expect((await h.ledger.load(['A'])).get('A')?.ahead.length ?? 0).toBeLessThanOrEqual(MAX_RANGES);

    const refused = harness('every-version');
    refused.deadLetters.refuse = true;
    for (let start = 0; start < spread.length; start += 100) await refused.engine.process(spread.slice(start, start + 100));
    expect((await refused.ledger.load(['A'])).get('A')?.ahead.length).toBeLessThanOrEqual(MAX_RANGES);
    // Everything was delivered (version 1 healed from version 2, too).
    expect(new Set(refused.destination.versionsOf('A'))).toEqual(new Set([1, ...spread.map((record) => record.version)]));
  });
});
