import { describe, expect, test } from 'vitest';
import { accountHistory, pick } from '../support/histories';
import { harness } from '../support/engine-harness';
import { versionsMissing } from '../../ops/commands/ledger-scan';

/**
 * An operator accepts an every-version account's owed versions as lost (`fanout redrive --acknowledge`): they are
 * written off in the ledger, so status and reconcile stop counting them missing, and a copy that turns up later is
 * still delivered. Before, acknowledging only deleted the letter, and the versions showed as missing until a replay.
 */

const REJECT = { status: 'failed', reason: 'REJECTED', detail: 'mapper_parsing_exception', attempts: 1 } as const;

describe('every-version write-off', () => {
  test('owed versions of a timed-out gap are written off with the reason; a late copy is still delivered', async () => {
    const h = harness('every-version');
    const history = accountHistory('A', 6);
    await h.engine.process(pick(history, 1, 2, 5, 6));
    h.clock.advance(16 * 60_000);
    await h.another('sweeper').sweep(); // the gap times out: 3 and 4 are owed
    const before = (await h.ledger.load(['A'])).get('A');
    expect(before?.owed).toEqual([[3, 4]]);
    expect(versionsMissing(before, 6, 'every-version')).toBe(2);

    const result = await h.another('operator').writeOff('A', [[3, 4]], 'lost in the 2026-11 incident');

    expect(result.writeOff).toEqual({ writtenOff: [[3, 4]] });
    expect(result.outcome.counts.versionsSkipped).toBe(2);
    const after = (await h.ledger.load(['A'])).get('A');
    expect(after).toMatchObject({ version: 6, owed: [], skipped: [[3, 4]] });
    expect(after?.skips.at(-1)).toMatchObject({ from: 3, to: 4, reason: 'lost in the 2026-11 incident' });
    expect(versionsMissing(after, 6, 'every-version')).toBe(0);

    // Version 3 turns up after all: the destination gets it, and it is no longer written off.
    await h.engine.process(pick(history, 3));
    expect(h.destination.versionsOf('A')).toEqual([1, 2, 5, 6, 3]);
    expect((await h.ledger.load(['A'])).get('A')).toMatchObject({ version: 6, skipped: [[4, 4]] });
    // A copy of it again is a duplicate.
    const again = await h.engine.process(pick(history, 3));
    expect(again.counts.duplicates).toBe(1);
  });

  test('only owed versions are written off: delivered ones, and holes not given up on yet, are left alone', async () => {
    const h = harness('every-version');
    const history = accountHistory('A', 8);
    await h.engine.process(pick(history, 1, 2, 5, 6));
    h.clock.advance(16 * 60_000);
    await h.another('sweeper').sweep(); // 3-4 owed
    await h.engine.process(pick(history, 8)); // 7 is a fresh hole

    const result = await h.another('operator').writeOff('A', [[1, 8]], 'accepted');

    expect(result.writeOff).toEqual({ writtenOff: [[3, 4]] });
    const after = (await h.ledger.load(['A'])).get('A');
    expect(after).toMatchObject({ version: 6, ahead: [[8, 8]], owed: [], skipped: [[3, 4]] });
    expect(after?.gapSince).toBeDefined();
  });

  test('a dead-lettered version owed above the watermark (behind a hole) written off lets the watermark move on when the hole is given up', async () => {
    const h = harness('every-version');
    const history = accountHistory('A', 5);
    h.destination.intercept = (delivery) => (delivery.record.version === 3 ? REJECT : undefined);
    await h.engine.process(pick(history, 1, 3, 4, 5)); // 2 is missing, 3 is refused (owed above the watermark)
    h.destination.intercept = undefined;
    expect((await h.ledger.load(['A'])).get('A')).toMatchObject({ version: 1, owed: [[3, 3]] });

    await h.another('operator').writeOff('A', [[3, 3]], 'refused for good; accepted');
    h.clock.advance(16 * 60_000);
    await h.another('sweeper').sweep();

    const after = (await h.ledger.load(['A'])).get('A');
    expect(after).toMatchObject({ version: 5, owed: [[2, 2]], skipped: [[3, 3]] });
    expect(after?.gapSince).toBeUndefined();
    // One notice, for 2 only: the written-off 3 is no hole.
    expect(h.deadLetters.letters.filter((letter) => letter.reason === 'GAP_TIMEOUT').map((letter) => letter.missing)).toEqual([[[2, 2]]]);
  });

  test('refused, changing nothing, when nothing of it is owed, and on a destination of another mode', async () => {
    const h = harness('every-version');
    await h.engine.process(accountHistory('A', 3));
    const none = await h.another('operator').writeOff('A', [[2, 3]], 'x');
    expect(none.writeOff).toEqual({ refused: expect.stringContaining('owes none of versions 2-3') });
    expect((await h.ledger.load(['A'])).get('A')?.skipped).toEqual([]);

    const inOrder = harness('in-order');
    await inOrder.engine.process(pick(accountHistory('B', 4), 1, 4));
    const refused = await inOrder.another('operator').writeOff('B', [[2, 3]], 'x');
    expect(refused.writeOff).toEqual({ refused: expect.stringContaining('skip the gap instead') });
  });
});
