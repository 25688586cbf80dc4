import { describe, expect, test } from 'vitest';
import type { AccountImage } from '../../shared/accounts/account';
import type { ChangeRecord } from '../../shared/change-record/change-record';
import { watermarkToItem } from '../../shared/ledger/ledger-codec';
import { OrderingEngine } from '../../shared/ordering/engine';
import { MAX_WATERMARK_ITEM_BYTES } from '../../shared/ordering/limits';
import type { Delivery, DeliveryResult, DeliverOptions, Destination } from '../../shared/ordering/ports';
import { harness } from '../support/engine-harness';
import { accountHistory, duplicateOf, pick } from '../support/histories';

/**
 * One regression test per defect of issue 11 ("nothing lost on the edge paths"); each failed on the engine before it.
 * The rules themselves have their own unit tests (in-order-rules, every-version-rules, contract-and-window).
 */

const watermarkOf = async (h: ReturnType<typeof harness>, accountId = 'A') => (await h.ledger.load([accountId])).get(accountId);

describe('1. a gap that never fills: the notice is redrivable and the gap can be skipped', () => {
  test('once the missing version is redriven, the parked records go out in order and the account resumes', async () => {
    const h = harness('in-order');
    const history = accountHistory('A', 6);
    h.destination.intercept = (d) => (d.record.version === 3 ? { status: 'failed', reason: 'DELIVERY_FAILED', detail: 'down', attempts: 6 } : undefined);
    await h.engine.process(pick(history, 1, 2, 3));
    h.destination.intercept = undefined;
    await h.engine.process(pick(history, 5, 6));
    expect((await h.engine.inspect(['A']))[0]?.state).toBe('blocked-on-failure');

    await h.engine.process([h.deadLetters.letters[0]!.record as ChangeRecord, history[3]!]);

    expect(h.destination.versionsOf('A')).toEqual([1, 2, 3, 4, 5, 6]);
    expect((await h.engine.inspect(['A']))[0]?.state).toBe('in-step');
  });

  test('a skip keeps its reason in the ledger, is counted, and delivers what waited', async () => {
    const h = harness('in-order');
    const history = accountHistory('A', 5);
    await h.engine.process(pick(history, 1, 4, 5));
    h.clock.advance(60_000);
    await h.engine.sweep();

    const result = await h.engine.skipGap('A', 3, 'versions 2-3 lost with batch 17');

    expect(result.outcome.counts).toMatchObject({ gapsSkipped: 1, versionsSkipped: 2, delivered: 2 });
    expect(h.destination.versionsOf('A')).toEqual([1, 4, 5]);
    expect((await watermarkOf(h))?.skips).toMatchObject([{ from: 2, to: 3, reason: 'versions 2-3 lost with batch 17' }]);
  });
});

describe('2. in the live epoch a late version after a baseline is never dropped', () => {
  test('every-version delivers it; in-order dead-letters it as BEFORE_BASELINE', async () => {
    for (const mode of ['every-version', 'in-order'] as const) {
      const h = harness(mode);
      const history = accountHistory('A', 6);
      await h.engine.process(pick(history, 4, 5, 6));
      h.clock.advance(60_000);
      await h.engine.sweep();

      const late = await h.engine.process(pick(history, 2));

      expect(late.counts.beforeWindow).toBe(0);
      if (mode === 'every-version') expect(h.destination.versionsOf('A')).toContain(2);
      else expect(h.deadLetters.letters).toMatchObject([{ reason: 'BEFORE_BASELINE', version: 2, record: { version: 2 } }]);
    }
  });
});

describe('3. every-version delivers a dead-lettered version on redrive, always', () => {
  test('even after the account was baselined above it', async () => {
    const h = harness('every-version');
    const history = accountHistory('A', 5);
    h.destination.intercept = (d) => (d.record.version === 3 ? { status: 'failed', reason: 'DELIVERY_FAILED', detail: 'down', attempts: 6 } : undefined);
    await h.engine.process(pick(history, 3, 4, 5));
    h.destination.intercept = undefined;
    h.clock.advance(60_000);
    await h.engine.sweep();
    expect((await watermarkOf(h))?.version).toBe(5);

    const redriven = await h.engine.process([h.deadLetters.letters[0]!.record as ChangeRecord]);

    expect(redriven.counts.delivered).toBe(1);
    expect(h.destination.versionsOf('A')).toEqual([4, 5, 3]);
  });
});

describe('4. per-account state stays bounded behind a permanent gap', () => {
  test.each(['in-order', 'every-version'] as const)('%s: 20,000 versions behind missing versions 2-3 keep one small item and constant reads per batch', async (mode) => {
    const h = harness(mode, { maxGapAgeMs: Number.MAX_SAFE_INTEGER });
    const history = longHistory('A', 20_003);
    await h.engine.process([history[0]!]);
    const readsPerBatch: number[] = [];
    for (let start = 3; start < history.length; start += 100) {
      const reads = h.ledger.store.requests.reads;
      const outcome = await h.engine.process(history.slice(start, start + 100));
      expect(outcome.counts.failed).toBe(0);
      readsPerBatch.push(h.ledger.store.requests.reads - reads);
    }
    const watermark = (await watermarkOf(h))!;
    expect(mode === 'in-order' ? watermark.parked : watermark.ahead).toEqual([[4, 20_003]]);
    expect(JSON.stringify(watermarkToItem('dest', 'live', watermark)).length).toBeLessThan(MAX_WATERMARK_ITEM_BYTES / 8);
    expect(new Set(readsPerBatch)).toEqual(new Set([1]));
  });
});

describe('5. a huge version jump fails nothing', () => {
  test.each(['in-order', 'every-version', 'latest-state'] as const)('%s: 2^40 and MAX_SAFE_INTEGER after version 1; every other account is delivered', async (mode) => {
    const h = harness(mode);
    const a = accountHistory('A', 1);
    const jump = (version: number, accountId: string): ChangeRecord => ({ ...rebased(accountHistory(accountId, 2)[1]!, version), sequenceNumber: `${accountId}-jump` });
    const b = accountHistory('B', 3);

    const outcome = await h.engine.process([...a, jump(2 ** 40, 'A'), ...accountHistory('C', 1), jump(Number.MAX_SAFE_INTEGER, 'C'), ...b]);
    h.clock.advance(60_000);
    const swept = await h.engine.sweep();

    expect(outcome.counts.failed + swept.counts.failed).toBe(0);
    expect(h.destination.versionsOf('B')).toEqual(mode === 'latest-state' ? [3] : [1, 2, 3]);
    if (mode !== 'latest-state') {
      expect(h.deadLetters.letters.filter((l) => l.reason === 'GAP_TIMEOUT').map((l) => [l.accountId, l.missing])).toEqual([
        ['A', [[2, 2 ** 40 - 1]]],
        ['C', [[2, Number.MAX_SAFE_INTEGER - 1]]],
      ]);
    }
  });
});

describe('6. delete, then re-create at an old version', () => {
  test.each(['in-order', 'every-version', 'latest-state'] as const)('%s: the re-created records are contract breaches, never duplicates', async (mode) => {
    const h = harness(mode);
    const history = accountHistory('A', 3, { endsWithRemove: true }); // 1 INSERT, 2 MODIFY, 3 tombstone
    await h.engine.process(history);
    const later = history[2]!.createdAtMicros + 1_000_000;
    const again = accountHistory('A', 3).map((record, index) => ({ ...record, createdAtMicros: later + index, eventId: `again-${index}`, sequenceNumber: `again-${index}` }));

    const outcome = await h.engine.process(again);

    expect(outcome.counts.duplicates).toBe(0);
    expect(outcome.counts.contractBreaches).toBe(3);
    expect(h.deadLetters.letters.map((l) => [l.reason, l.version])).toEqual([
      ['CONTRACT_BREACH', 1],
      ['CONTRACT_BREACH', 2],
      ['CONTRACT_BREACH', 3],
    ]);
    // A true duplicate is still a duplicate.
    expect((await h.engine.process([duplicateOf(history[1]!)])).counts).toMatchObject({ duplicates: mode === 'latest-state' ? 0 : 1, contractBreaches: 0 });
  });
});

describe('7. healing never fabricates across a write that did not raise the version', () => {
  test('an unproven heal parks; a proven heal whose real record differs is HEAL_MISMATCH, never dropped', async () => {
    const h = harness('in-order');
    const base = accountHistory('A', 1)[0]!;
    const v1 = base.newImage as AccountImage;
    // Upstream, a write changed the balance at version 1 without raising it (quarantined by the decoder).
    const v1b: AccountImage = { ...v1, balance: 1050, last_change: { type: 'DEPOSIT', amount: 50 } };
    const v2: AccountImage = { ...v1b, version: 2, balance: 1040, last_change: { type: 'WITHDRAWAL', amount: 10 } };
    const v3: AccountImage = { ...v2, version: 3, balance: 1045, last_change: { type: 'DEPOSIT', amount: 5 } };
    const r2 = change(base, 2, v1b, v2);
    const r3 = change(base, 3, v2, v3);

    await h.engine.process([base, r3]);
    expect(h.destination.versionsOf('A')).toEqual([1]);
    await h.engine.process([r2]);
    expect(h.destination.received.map((r) => [r.version, r.healed, r.balance])).toEqual([
      [1, false, 1000],
      [2, false, 1040],
      [3, false, 1045],
    ]);

    // Two non-bumping writes that cancel out: the heal is proven from the images, yet the real change differs.
    const g = harness('in-order');
    const w1b: AccountImage = { ...v1, balance: 1000, last_change: { type: 'WITHDRAWAL', amount: 50 }, updated_at: '2026-11-23T00:00:00.500Z' };
    const w2: AccountImage = { ...w1b, version: 2, balance: 1010, last_change: { type: 'DEPOSIT', amount: 10 } };
    const w3: AccountImage = { ...w2, version: 3, balance: 1011, last_change: { type: 'DEPOSIT', amount: 1 } };
    await g.engine.process([base, change(base, 3, w2, w3)]);
    expect(g.destination.received.map((r) => [r.version, r.healed])).toEqual([[1, false], [2, true], [3, false]]);
    const real = await g.engine.process([change(base, 2, w1b, w2)]);
    expect(real.counts).toMatchObject({ healMismatches: 1, deadLettered: 1, duplicates: 0 });
    expect(g.deadLetters.letters).toMatchObject([{ reason: 'HEAL_MISMATCH', version: 2, record: { oldImage: w1b } }]);
  });
});

describe('8. a delivery that outlives its claim: nothing starts after the takeover, and the ledger never goes back', () => {
  // What the slow engine sent, it sent inside its claim (the call had the claim's end, less the reserve, as its
  // deadline); after the takeover it starts nothing. per-version: one version a call, so only the one in flight;
  // per-batch: the claimed run goes in one call, and the engine that took over delivers the run again from its start.
  test.each([
    ['per-version', [2, 2, 3, 4]],
    ['per-batch', [2, 3, 4, 2, 3, 4]],
  ] as const)('%s: the slow engine starts no delivery once another took the account over', async (inOrderCommit, expected) => {
    const h = harness('in-order', { inOrderCommit, claimTtlMs: 10_000, reserveMs: 1_000 });
    const history = accountHistory('A', 4);
    await h.engine.process(pick(history, 1));
    const received: number[] = [];
    const deadlines: number[] = [];
    let stall: (() => void) | undefined;
    const slow: Destination = {
      name: 'dest',
      mode: 'in-order',
      async deliver(deliveries: readonly Delivery[], options?: DeliverOptions): Promise<readonly DeliveryResult[]> {
        deadlines.push(options?.deadline ?? Number.NaN);
        for (const d of deliveries) received.push(d.record.version);
        if (stall === undefined && deliveries[0]?.record.version === 2) await new Promise<void>((resolve) => (stall = resolve));
        return deliveries.map(() => ({ status: 'delivered' }));
      },
    };
    const engine = (owner: string) =>
      new OrderingEngine({ destination: slow, ledger: h.ledger, deadLetters: h.deadLetters, clock: h.clock.now, owner, inOrderCommit, claimTtlMs: 10_000, reserveMs: 1_000 });

    const first = engine('slow').process(pick(history, 2, 3, 4));
    await until(() => stall !== undefined);
    expect(deadlines[0]).toBe(h.clock.time + 10_000 - 1_000);
    h.clock.advance(10_001);
    const fast = await engine('fast').process(pick(history, 2, 3, 4));
    stall!();
    const slowOutcome = await first;

    expect(received).toEqual(expected);
    expect(fast.counts.delivered).toBe(3);
    expect(slowOutcome.counts.claimsLost).toBeGreaterThan(0);
    const [watermark] = (await h.ledger.load(['A'])).values();
    expect(watermark).toMatchObject({ version: 4 });
  });
  test.each(['in-order', 'every-version', 'latest-state'] as const)('%s: a delivery the adapter never sent (no time left) is handed back to Lambda, not dead-lettered', async (mode) => {
    const h = harness(mode);
    h.destination.intercept = (d) => (d.record.version === 2 ? { status: 'failed', reason: 'DELIVERY_FAILED', detail: 'not sent: no invocation time left', attempts: 0 } : undefined);
    const outcome = await h.engine.process(pick(accountHistory('A', 2), 1, 2).slice(mode === 'latest-state' ? 1 : 0));
    expect(outcome.failed.map((position) => position.version)).toContain(2);
    expect(h.deadLetters.letters).toEqual([]);
  });
});

describe('9. a replay epoch starts each account by the records\' own times, whatever arrives first', () => {
  test.each(['in-order', 'every-version'] as const)('%s', async (mode) => {
    const history = accountHistory('A', 6);
    const epoch = { id: 'replay-1', replay: true, from: history[2]!.createdAtMicros };
    const h = harness(mode, { epoch });
    // A duplicate of a later version and a reordered one arrive before the window's first version.
    await h.engine.process([history[4]!, duplicateOf(history[5]!)]);
    await h.engine.process(pick(history, 2, 4, 3, 6, 1));

    expect([...h.destination.versionsOf('A')].sort()).toEqual([3, 4, 5, 6]);
    if (mode === 'in-order') expect(h.destination.versionsOf('A')).toEqual([3, 4, 5, 6]);
    expect(h.deadLetters.letters).toEqual([]);
  });
});

function change(base: ChangeRecord, version: number, oldImage: AccountImage, newImage: AccountImage): ChangeRecord {
  return { ...base, kind: 'MODIFY', version, previousVersion: version - 1, oldImage, newImage, eventId: `A-${version}`, sequenceNumber: `A-seq-${version}`, createdAtMicros: base.createdAtMicros + version * 1000 };
}

/** The record moved to `version` (its images too), as an item written far ahead of its history would look. */
function rebased(record: ChangeRecord, version: number): ChangeRecord {
  return {
    ...record,
    version,
    previousVersion: version - 1,
    newImage: { ...(record.newImage as AccountImage), version },
    oldImage: { ...(record.oldImage as AccountImage), version: version - 1 },
  };
}

/** A long history, built once per test (accountHistory is quadratic in nothing, but its images are not shared). */
function longHistory(accountId: string, length: number): ChangeRecord[] {
  return accountHistory(accountId, length);
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1_000 && !condition(); i += 1) await new Promise((resolve) => setImmediate(resolve));
  if (!condition()) throw new Error('condition never held');
}

describe('a claim lifetime that leaves no time to deliver is refused when the engine is built', () => {
  test('claimTtlMs below twice reserveMs', () => {
    const h = harness('in-order');
    const build = (claimTtlMs: number, reserveMs: number) => () =>
      new OrderingEngine({ destination: h.destination, ledger: h.ledger, deadLetters: h.deadLetters, claimTtlMs, reserveMs });
    // A delivery starts under a claim only with reserveMs left to deliver and reserveMs kept for the commit.
    expect(build(5_999, 3_000)).toThrow(/claimTtlMs 5999 must be at least twice reserveMs 3000/);
    expect(build(6_000, 3_000)).not.toThrow();
  });
});
