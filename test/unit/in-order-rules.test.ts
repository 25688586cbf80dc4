import { describe, expect, test } from 'vitest';
import type { ChangeRecord } from '../../shared/change-record/change-record';
import { ContractBreach } from '../../shared/ordering/contract';
import { LIVE_EPOCH, type Epoch } from '../../shared/ordering/delivery-mode';
import { changeDigest } from '../../shared/ordering/change-digest';
import {
  baselined,
  delivered,
  deliveredRun,
  floorRaised,
  gapTimedOut,
  isPlainRun,
  isSkipRefusal,
  judgedBelow,
  leadingCopies,
  owedVersions,
  parked,
  skippedGap,
  started,
  withGapClock,
} from '../../shared/ordering/in-order-rules';
import { nextInOrderStep, type InOrderView, type Step } from '../../shared/ordering/in-order-steps';
import { covers, fenced, heldByAnother, homeDeliveryStands } from '../../shared/ordering/home-lane-rules';
import { keepableImage, storable } from '../../shared/ordering/stored-image';
import { MAX_HEAL_MARKS, MAX_LAST_IMAGE_BYTES, MAX_RANGES, MAX_SKIP_NOTES, MAX_SKIP_REASON_LENGTH } from '../../shared/ordering/limits';
import { hasVersion, type VersionRanges } from '../../shared/ordering/version-ranges';
import { emptyWatermark, FENCE_OWNER, type Watermark } from '../../shared/ordering/watermark';
import { accountHistory, pick } from '../support/histories';

const NOW = 1_800_000_000_000;
/** accountHistory's version v changes at START + v ms (its `updated_at`). */
const START = 1_795_392_000_000_000;
const changedAt = (version: number): number => START + version * 1_000;
const H = accountHistory('A', 12);
const v = (version: number): ChangeRecord => H[version - 1] as ChangeRecord;

/** The watermark after versions 1..n were delivered in order. */
function through(n: number, overrides: Partial<Watermark> = {}): Watermark {
  let w = emptyWatermark('A');
  for (const record of H.slice(0, n)) w = delivered(w, record, false);
  return { ...w, ...overrides };
}

/** A view as InOrderRun gives it: batch records in hand, parked records loaded from the ledger. */
function view(
  state: Watermark,
  options: { inHand?: ChangeRecord[]; loaded?: ChangeRecord[]; owner?: string; now?: number; epoch?: Epoch; waitedTooLong?: boolean; claimTtlMs?: number } = {},
): InOrderView {
  const inHand = new Map((options.inHand ?? []).map((record) => [record.version, record]));
  const loaded = new Map((options.loaded ?? []).map((record) => [record.version, record]));
  return {
    state,
    owner: options.owner ?? 'engine-1',
    now: options.now ?? NOW,
    epoch: options.epoch ?? LIVE_EPOCH,
    waitedTooLong: options.waitedTooLong ?? false,
    ...(options.claimTtlMs === undefined ? {} : { claimTtlMs: options.claimTtlMs }),
    available: (version) => inHand.get(version) ?? loaded.get(version),
    parkedButNotLoaded: (version) => hasVersion(state.parked, version) && !loaded.has(version) && !inHand.has(version),
    lowestInHand: () =>
      [...inHand.keys()].filter((version) => version > state.version && !hasVersion(state.parked, version)).sort((a, b) => a - b)[0],
  };
}

const step = (state: Watermark, options?: Parameters<typeof view>[1]): Step => nextInOrderStep(view(state, options));
const ranges = (...pairs: [number, number][]): VersionRanges => pairs;

describe('nextInOrderStep', () => {
  test('delivers watermark+1 when it is in hand, and is done when nothing waits', () => {
    expect(step(through(2), { inHand: [v(3), v(5)] })).toEqual({ kind: 'deliver', record: v(3), healed: false });
    expect(step(through(2))).toEqual({ kind: 'done' });
  });

  test("waits while another engine's claim is live, and proceeds once it has expired or when the claim is its own", () => {
    const claim = { owner: 'engine-2', token: 'engine-2:1', version: 3, expiresAt: NOW + 1 };
    expect(step(through(2, { claim }), { inHand: [v(3)] })).toEqual({ kind: 'wait' });
    expect(step(through(2, { claim }), { inHand: [v(3)], now: NOW + 1 })).toMatchObject({ kind: 'deliver', record: v(3) });
    expect(step(through(2, { claim }), { inHand: [v(3)], owner: 'engine-2' })).toMatchObject({ kind: 'deliver', record: v(3) });
  });

  test('heals watermark+1 from watermark+2 when the images prove the change', () => {
    const s = step(through(2), { inHand: [v(4)] });
    expect(s).toMatchObject({ kind: 'deliver', healed: true });
    const record = (s as { record: ChangeRecord }).record;
    expect(record).toMatchObject({ version: 3, previousVersion: 2, kind: 'MODIFY', oldImage: v(2).newImage, newImage: v(3).newImage });
    expect(changeDigest(record)).toBe(changeDigest(v(3)));
  });

  test('heals version 1 of a new account from version 2 as its INSERT', () => {
    expect(step(emptyWatermark('A'), { inHand: [v(2)] })).toMatchObject({
      kind: 'deliver',
      healed: true,
      record: { version: 1, kind: 'INSERT', newImage: v(1).newImage },
    });
  });

  test('does not heal a version that is owed (its letter is in the dead-letter queue): the account waits for it', () => {
    expect(step(through(2, { owed: ranges([3, 3]) }), { inHand: [v(4)] })).toEqual({ kind: 'wait' });
  });

  test('does not heal after a REMOVE: only the real re-creating INSERT may follow a tombstone', () => {
    expect(step(through(2, { lastKind: 'REMOVE' }), { inHand: [v(4)] })).toEqual({ kind: 'wait' });
  });

  test('does not heal when the images do not prove the change (a balance that does not match last_change)', () => {
    const image = v(3).newImage!;
    const unproven = { ...v(4), oldImage: { ...image, balance: image.balance + 1 } };
    expect(step(through(2), { inHand: [unproven] })).toEqual({ kind: 'wait' });
  });

  test('loads parked records when watermark+1 or watermark+2 is listed as parked but not loaded, then delivers', () => {
    expect(step(through(2, { parked: ranges([3, 5]) }))).toEqual({ kind: 'load-parked', from: 3, to: 5 });
    expect(step(through(2, { parked: ranges([4, 6]) }))).toEqual({ kind: 'load-parked', from: 3, to: 6 });
    expect(step(through(2, { parked: ranges([3, 5]) }), { loaded: pick(H, 3, 4, 5) })).toMatchObject({ kind: 'deliver', record: v(3) });
  });

  test('a MODIFY after a REMOVE and an INSERT after a MODIFY break the chain: a breach step', () => {
    const afterRemove = step(through(2, { lastKind: 'REMOVE' }), { inHand: [v(3)] });
    expect(afterRemove).toMatchObject({ kind: 'breach' });
    const breach = (afterRemove as { breach: ContractBreach }).breach;
    expect(breach).toBeInstanceOf(ContractBreach);
    expect([breach.reason, breach.record]).toEqual(['CONTRACT_BREACH', v(3)]);
    const insert: ChangeRecord = { ...v(3), kind: 'INSERT', oldImage: undefined };
    expect(step(through(2), { inHand: [insert] })).toMatchObject({ kind: 'breach', breach: { reason: 'CONTRACT_BREACH', record: insert } });
  });

  test('waits behind a gap it cannot heal while the gap is young', () => {
    expect(step(through(2), { inHand: [v(5), v(6)] })).toEqual({ kind: 'wait' });
  });

  test('blocked on failure (watermark+1 owed) waits, and never times out, even after the maximum gap age', () => {
    const blocked = through(2, { owed: ranges([3, 3]), parked: ranges([4, 6]), gapSince: NOW - 3_600_000 });
    expect(step(blocked, { loaded: pick(H, 4, 5, 6), waitedTooLong: true })).toEqual({ kind: 'wait' });
  });

  test('after the maximum gap age an account with no start is baselined at its lowest waiting version (live epoch)', () => {
    expect(step(emptyWatermark('A'), { inHand: [v(6), v(5)], waitedTooLong: true })).toEqual({ kind: 'baseline', from: v(5) });
    // The lowest waiting version is parked: it is loaded first.
    expect(step(through(0, { parked: ranges([5, 6]) }), { waitedTooLong: true })).toEqual({ kind: 'load-parked', from: 5, to: 6 });
  });

  test('after the maximum gap age a started account sends one GAP_TIMEOUT naming the missing versions', () => {
    expect(step(through(2), { inHand: [v(6)], waitedTooLong: true })).toEqual({ kind: 'gap-timeout', from: 3, to: 5 });
    // The lowest waiting version may be a parked one.
    expect(step(through(2, { parked: ranges([5, 9]) }), { loaded: pick(H, 5), waitedTooLong: true })).toEqual({
      kind: 'gap-timeout',
      from: 3,
      to: 4,
    });
  });

  test('no second GAP_TIMEOUT for a gap already noticed (gapNotice.from is watermark+1); a notice of an older gap does not count', () => {
    const noticed = through(2, { gapNotice: { from: 3, to: 5, at: NOW - 1 } });
    expect(step(noticed, { inHand: [v(6)], waitedTooLong: true })).toEqual({ kind: 'wait' });
    const older = through(2, { gapNotice: { from: 2, to: 2, at: NOW - 1 } });
    expect(step(older, { inHand: [v(6)], waitedTooLong: true })).toEqual({ kind: 'gap-timeout', from: 3, to: 5 });
  });

  test('a notice still pending is left to the engine sending it, and sent again once that engine\'s time is up', () => {
    const pending = through(2, { gapNotice: { from: 3, to: 5, at: NOW - 1_000, pending: true } });
    expect(step(pending, { inHand: [v(6)], waitedTooLong: true, claimTtlMs: 10_000 }).kind).toBe('wait');
    const abandoned = through(2, { gapNotice: { from: 3, to: 5, at: NOW - 10_000, pending: true } });
    expect(step(abandoned, { inHand: [v(6)], waitedTooLong: true, claimTtlMs: 10_000 })).toEqual({ kind: 'gap-timeout', from: 3, to: 5 });
  });

  test('a replay epoch starts an account at a record whose predecessor changed before the replay start', () => {
    const epoch: Epoch = { id: 'replay', replay: true, from: changedAt(3) + 500 };
    expect(step(emptyWatermark('A'), { inHand: [v(5), v(4)], epoch })).toEqual({ kind: 'start', floor: 3, record: v(4) });
    // Version 5's predecessor (4) is in the window: it proves no start, and the account waits for 4.
    expect(step(emptyWatermark('A'), { inHand: [v(5)], epoch })).toEqual({ kind: 'wait' });
    // A live epoch never starts an account anywhere but version 1.
    expect(step(emptyWatermark('A'), { inHand: [v(5), v(4)] })).toEqual({ kind: 'wait' });
  });

  test('of two records that prove a start, the lower floor wins', () => {
    const epoch: Epoch = { id: 'replay', replay: true, from: changedAt(3) + 500 };
    const skewed = { ...v(8), oldImage: { ...v(7).newImage!, updated_at: new Date(changedAt(1) / 1000).toISOString() } };
    const w = through(0, { parked: ranges([4, 4]) });
    expect(step(w, { inHand: [skewed], loaded: [v(4)], epoch })).toEqual({ kind: 'start', floor: 3, record: v(4) });
  });
});

describe('delivered', () => {
  test('moves the watermark to the record, out of parked and owed, keeping its image, kind and creation time; the gap clock stops', () => {
    const waiting = through(2, { parked: ranges([3, 5]), owed: ranges([3, 3]), gapSince: NOW, gapNotice: { from: 3, to: 3, at: NOW } });
    const w = delivered(waiting, v(3), false);
    expect(w).toMatchObject({ version: 3, parked: [[4, 5]], owed: [], lastImage: v(3).newImage, lastKind: 'MODIFY' });
    expect([w.newestCreatedAt, w.gapSince, w.gapNotice, w.heals]).toEqual([v(3).createdAtMicros, undefined, undefined, []]);
  });

  test('on the home lane, the home was active at the given time; without one, homeActiveAt is kept', () => {
    const waiting = through(2, { parked: ranges([3, 5]), home: 'shard-1', homeActiveAt: NOW - 5_000 });
    expect(delivered(waiting, v(3), false, NOW)).toEqual({ ...delivered(waiting, v(3), false), homeActiveAt: NOW });
    expect(delivered(waiting, v(3), false).homeActiveAt).toBe(NOW - 5_000);
    expect(waiting.homeActiveAt).toBe(NOW - 5_000);
  });

  test('carries every field the delivery does not change, in the shape of every watermark (one literal, not a patch)', () => {
    const filled = Object.fromEntries(Object.keys(emptyWatermark('A')).map((key, index) => [key, `value-${index}`]));
    const w = { ...filled, version: 2, parked: [], owed: [], heals: [], recent: [], newestCreatedAt: 0 } as unknown as Watermark;
    const next = delivered(w, v(3), false);
    const moved = ['version', 'parked', 'owed', 'lastImage', 'lastKind', 'newestCreatedAt', 'recent', 'gapSince', 'gapNotice'];
    expect(Object.keys(next)).toEqual(Object.keys(emptyWatermark('A')));
    for (const key of Object.keys(w) as (keyof Watermark)[]) if (!moved.includes(key)) expect(next[key], key).toBe(w[key]);
  });

  test('the newest creation time never moves backwards', () => {
    expect(delivered(through(5), v(3), false).newestCreatedAt).toBe(v(5).createdAtMicros);
  });

  test('a healed delivery leaves a heal mark (its change digest); only the newest MAX_HEAL_MARKS are kept', () => {
    expect(delivered(through(2), v(3), true).heals).toEqual([{ version: 3, digest: changeDigest(v(3)) }]);
    let w = through(0);
    for (let version = 1; version <= MAX_HEAL_MARKS + 5; version += 1) w = delivered(w, { ...v(1), version }, true);
    expect(w.heals).toHaveLength(MAX_HEAL_MARKS);
    expect([w.heals[0]?.version, w.heals.at(-1)?.version]).toEqual([6, MAX_HEAL_MARKS + 5]);
  });
});

describe('deliveredRun', () => {
  /** `delivered` of each record in turn: what the steps plan for a plain run. */
  const fold = (w: Watermark, records: readonly ChangeRecord[], at?: number): Watermark =>
    records.reduce((planned, record) => delivered(planned, record, false, at ?? planned.homeActiveAt), w);

  test('is delivered of each version in turn, as one watermark', () => {
    for (const [from, n] of [[0, 1], [0, 3], [2, 2], [4, 8]] as const) {
      const w = through(from, { owed: ranges([from + 2, from + 2]), home: 'shard-1', homeActiveAt: NOW - 5_000 });
      const run = H.slice(from, from + n);
      expect(deliveredRun(w, run, NOW), `${from}+${n}`).toEqual(fold(w, run, NOW));
      expect(deliveredRun(w, run), `${from}+${n}, no home`).toEqual(fold(w, run));
    }
  });

  test('keeps the newest creation time and a recent list that was out of order, as delivered does', () => {
    const w = through(3, { newestCreatedAt: changedAt(11) * 1_000, recent: [{ version: 9, createdAt: 1 }, { version: 2, createdAt: 2 }] });
    expect(deliveredRun(w, H.slice(3, 6))).toEqual(fold(w, H.slice(3, 6)));
  });

  test('carries every other field, in the shape of every watermark', () => {
    expect(Object.keys(deliveredRun(through(1), H.slice(1, 3)))).toEqual(Object.keys(emptyWatermark('A')));
  });
});

describe('isPlainRun', () => {
  const insert = (version: number): ChangeRecord => ({ ...v(version), kind: 'INSERT', oldImage: undefined });

  test('records that continue the watermark one version after another, with nothing parked', () => {
    expect(isPlainRun(through(2), H.slice(2, 5), 'engine-1', NOW)).toBe(true);
    expect(isPlainRun(through(0), H.slice(0, 1), 'engine-1', NOW)).toBe(true);
  });

  test('not an empty batch, a hole, a copy of a delivered version, or a run that does not start right above the watermark', () => {
    expect(isPlainRun(through(2), [], 'engine-1', NOW)).toBe(false);
    expect(isPlainRun(through(2), [v(3), v(5)], 'engine-1', NOW)).toBe(false);
    expect(isPlainRun(through(2), [v(2), v(3)], 'engine-1', NOW)).toBe(false);
    expect(isPlainRun(through(2), [v(4)], 'engine-1', NOW)).toBe(false);
  });

  test('not with anything parked, or another engine\'s live claim (an expired one, or our own, does not count)', () => {
    expect(isPlainRun(through(2, { parked: ranges([9, 9]) }), [v(3)], 'engine-1', NOW)).toBe(false);
    const claim = (owner: string, expiresAt: number): Partial<Watermark> => ({ claim: { owner, token: 't', version: 3, expiresAt } });
    expect(isPlainRun(through(2, claim('engine-2', NOW + 1)), [v(3)], 'engine-1', NOW)).toBe(false);
    expect(isPlainRun(through(2, claim('engine-2', NOW)), [v(3)], 'engine-1', NOW)).toBe(true);
    expect(isPlainRun(through(2, claim('engine-1', NOW + 60_000)), [v(3)], 'engine-1', NOW)).toBe(true);
  });

  test('not a heal coming back, a record that breaks the chain, anywhere in the run, or a reused version', () => {
    expect(isPlainRun(through(2), [{ ...v(3), eventId: `healed:${v(3).eventId}` }], 'engine-1', NOW)).toBe(false);
    expect(isPlainRun(through(2), [v(3), insert(4)], 'engine-1', NOW)).toBe(false);
    expect(isPlainRun(through(2, { lastKind: 'REMOVE' }), [v(3)], 'engine-1', NOW)).toBe(false);
    expect(isPlainRun(through(2, { lastKind: 'REMOVE' }), [insert(3), v(4)], 'engine-1', NOW)).toBe(true);
    // Created after the newest version delivered, at a version at or below the top delivered: written again.
    expect(isPlainRun(through(2, { ahead: ranges([3, 3]) }), [{ ...v(3), createdAtMicros: v(12).createdAtMicros }], 'engine-1', NOW)).toBe(false);
  });
});

describe('judgedBelow', () => {
  test('a copy of a delivered version is a duplicate; a reused, skipped or twice-written version is a breach, each named', () => {
    expect(judgedBelow(through(4), v(3))).toBe('duplicate');
    const reused = judgedBelow(through(4), { ...v(4), createdAtMicros: v(12).createdAtMicros });
    expect(reused).toBeInstanceOf(ContractBreach);
    expect((reused as ContractBreach).message).toMatch(/was written again/);
    const skipped = judgedBelow(through(4, { skipped: ranges([3, 3]), skips: [{ from: 3, to: 3, reason: 'lost', at: NOW }] }), v(3));
    expect((skipped as ContractBreach).reason).toBe('BEFORE_BASELINE');
    const twice = judgedBelow(through(4), { ...v(3), eventId: 'other', createdAtMicros: v(3).createdAtMicros + 1 });
    expect((twice as ContractBreach).message).toMatch(/a version written twice/);
  });
});

describe('leadingCopies', () => {
  test('counts the copies of delivered versions that lead the batch; none leading is 0', () => {
    expect(leadingCopies(through(4), [v(3), v(4), v(5), v(6)])).toBe(2);
    expect(leadingCopies(through(4), [v(5), v(6)])).toBe(0);
    expect(leadingCopies(through(4), [v(2), v(3), v(4)])).toBe(3);
    expect(leadingCopies(through(0), [])).toBe(0);
  });

  test('undefined when a leading record needs the judge: written twice, skipped, or reused', () => {
    // Another change of version 3 (created later than the one delivered): a version written twice.
    expect(leadingCopies(through(4), [{ ...v(3), eventId: 'other', createdAtMicros: v(3).createdAtMicros + 1 }, v(5)])).toBeUndefined();
    expect(leadingCopies(through(4, { skipped: ranges([3, 3]) }), [v(3), v(5)])).toBeUndefined();
    expect(leadingCopies(through(4), [{ ...v(4), createdAtMicros: v(12).createdAtMicros }, v(5)])).toBeUndefined();
  });

  test('a heal coming back is a copy, as the judge has it', () => {
    expect(leadingCopies(through(4), [{ ...v(4), eventId: `healed:${v(4).eventId}` }, v(5)])).toBe(1);
  });
});

describe('parked', () => {
  test('adds a version to the parked set; parking one already parked changes nothing', () => {
    const w = parked(through(2), 5)!;
    expect(w.parked).toEqual([[5, 5]]);
    expect(parked(w, 5)).toBe(w);
  });

  test(`returns undefined when a new range would exceed MAX_RANGES (${MAX_RANGES}); a version joining a range still parks`, () => {
    const full = through(0, { parked: Array.from({ length: MAX_RANGES }, (_, index): [number, number] => [index * 10 + 5, index * 10 + 5]) });
    expect(parked(full, 1_000_000)).toBeUndefined();
    expect(parked(full, 6)?.parked.length).toBe(MAX_RANGES);
  });
});

describe('owedVersions', () => {
  test('versions above the watermark become owed and leave the parked set; those at or below it are ignored', () => {
    const w = owedVersions(through(2, { parked: ranges([4, 6]) }), [2, 4, 9]);
    expect([w.owed, w.parked]).toEqual([[[4, 4], [9, 9]], [[5, 6]]]);
    const same = through(2);
    expect(owedVersions(same, [1, 2])).toBe(same);
  });

  test('the owed set is capped at MAX_RANGES by merging the closest ranges', () => {
    const versions = Array.from({ length: MAX_RANGES + 10 }, (_, index) => 10 + index * 2);
    expect(owedVersions(through(2), versions).owed.length).toBe(MAX_RANGES);
  });
});

describe('started, baselined, floorRaised', () => {
  test('started: a replay account starts at the floor, skipping what lies below it, with the image there', () => {
    const w = started(through(0, { floor: 1, version: 1 }), 3, v(4));
    expect(w).toMatchObject({ version: 3, floor: 3, skipped: [[2, 3]], lastImage: v(3).newImage, lastKind: undefined });
  });

  test('baselined: starts right below the lowest waiting version, and the gap clock and notice go', () => {
    const w = baselined(through(0, { parked: ranges([5, 6]), gapSince: NOW, gapNotice: { from: 1, to: 4, at: NOW } }), v(5));
    expect(w).toMatchObject({ version: 4, floor: 4, skipped: [[1, 4]], lastImage: v(4).newImage, gapSince: undefined, gapNotice: undefined });
  });

  test('floorRaised: a before-window record raises the floor and the watermark with it', () => {
    expect(floorRaised(through(0, { floor: 2, version: 2 }), 5)).toMatchObject({ version: 5, floor: 5, skipped: [[3, 5]] });
  });
});

describe('gapTimedOut', () => {
  test('records the notice for from..to and when: pending before it is sent, plain once sent', () => {
    expect(gapTimedOut(through(2), 3, 5, NOW, true).gapNotice).toEqual({ from: 3, to: 5, at: NOW, pending: true });
    expect(gapTimedOut(through(2), 3, 5, NOW, false).gapNotice).toEqual({ from: 3, to: 5, at: NOW });
  });
});

describe('skippedGap', () => {
  test('skips watermark+1..through: skipped, no longer owed, noted with its reason; image and gap state go', () => {
    const w = through(2, { owed: ranges([3, 3]), parked: ranges([8, 9]), gapSince: NOW, gapNotice: { from: 3, to: 7, at: NOW } });
    const next = skippedGap(w, 7, 'lost in the outage', NOW + 5);
    expect(isSkipRefusal(next)).toBe(false);
    expect(next).toMatchObject({ version: 7, owed: [], skipped: [[3, 7]], parked: [[8, 9]], lastImage: undefined, lastKind: undefined });
    expect(next).toMatchObject({ gapSince: undefined, gapNotice: undefined, skips: [{ from: 3, to: 7, reason: 'lost in the outage', at: NOW + 5 }] });
  });

  test('refuses a skip through a version at or below the watermark, or that is not a safe integer', () => {
    for (const target of [2, 1, 3.5, Number.NaN, 2 ** 53]) {
      const result = skippedGap(through(2), target, 'x', NOW);
      expect(isSkipRefusal(result), String(target)).toBe(true);
    }
  });

  test('refuses a skip over a parked record, naming the highest version it may skip through', () => {
    expect(skippedGap(through(2, { parked: ranges([5, 6]) }), 6, 'x', NOW)).toEqual({
      refused: 'version 5 is parked, waiting to be delivered: skip through version 4 at most',
    });
  });

  test('keeps MAX_SKIP_REASON_LENGTH characters of the reason and the newest MAX_SKIP_NOTES notes', () => {
    let w = through(0);
    for (let index = 1; index <= MAX_SKIP_NOTES + 3; index += 1) w = skippedGap(w, index, `${index}`.padEnd(1000, '!'), NOW) as Watermark;
    expect(w.skips).toHaveLength(MAX_SKIP_NOTES);
    expect(w.skips[0]).toMatchObject({ from: 4, to: 4 });
    expect(w.skips.every((note) => note.reason.length === MAX_SKIP_REASON_LENGTH)).toBe(true);
  });

  test('cutting the reason never splits a character', () => {
    const next = skippedGap(through(0), 1, `${'a'.repeat(MAX_SKIP_REASON_LENGTH - 1)}😀`, NOW) as Watermark;
    const reason = next.skips[0]!.reason;
    expect(Buffer.from(reason, 'utf8').toString('utf8')).toBe(reason);
  });
});

describe('withGapClock', () => {
  test('runs while records are parked, from when the wait began, and stops when none are', () => {
    const waiting = withGapClock(through(2, { parked: ranges([5, 5]) }), NOW);
    expect(waiting.gapSince).toBe(NOW);
    expect(withGapClock(waiting, NOW + 10)).toBe(waiting);
    expect(withGapClock({ ...waiting, parked: [] }, NOW + 10).gapSince).toBeUndefined();
  });

  test('keeps a notice only for the current gap: progress past it retires it', () => {
    const notice = { from: 3, to: 4, at: NOW };
    const w = through(2, { parked: ranges([5, 5]), gapSince: NOW, gapNotice: notice });
    expect(withGapClock(w, NOW + 1).gapNotice).toBe(notice);
    expect(withGapClock({ ...w, version: 3 }, NOW + 1).gapNotice).toBeUndefined();
  });
});

describe('keepableImage', () => {
  test('keeps a small image, and none when there is none (after a REMOVE)', () => {
    expect(keepableImage(v(3).newImage)).toBe(v(3).newImage);
    expect(keepableImage(undefined)).toBeUndefined();
  });

  test(`drops an image bigger than MAX_LAST_IMAGE_BYTES (${MAX_LAST_IMAGE_BYTES}): its gaps wait for the real record`, () => {
    const big = { ...v(3), newImage: { ...v(3).newImage!, memo: 'x'.repeat(MAX_LAST_IMAGE_BYTES) } };
    expect(keepableImage(big.newImage)).toBeUndefined();
  });

  test('counts the members of a set attribute, so an image with a huge string set is not kept', () => {
    const tags = new Set(Array.from({ length: 5_000 }, (_, index) => `tag-${index}`.padEnd(40, 'x')));
    expect(keepableImage({ ...v(3).newImage!, tags })).toBeUndefined();
  });
});

describe('storable', () => {
  test('a watermark goes to the ledger without an image too big to keep, and unchanged otherwise', () => {
    const small = delivered(emptyWatermark('a'), v(1), false);
    expect(storable(small)).toBe(small);
    const big = delivered(emptyWatermark('a'), { ...v(1), newImage: { ...v(1).newImage!, memo: 'x'.repeat(MAX_LAST_IMAGE_BYTES) } }, false);
    expect(big.lastImage).toBeDefined();
    expect(storable(big)).toEqual({ ...big, lastImage: undefined });
  });
});

describe('heldByAnother', () => {
  test('another owner\'s claim (a fence included) until it expires; never our own, never none', () => {
    const claim = (owner: string, expiresAt: number) => ({ owner, token: 't', version: 3, expiresAt });
    expect(heldByAnother(claim('engine-2', NOW + 1), 'engine-1', NOW)).toBe(true);
    expect(heldByAnother(claim(FENCE_OWNER, NOW + 1), 'engine-1', NOW)).toBe(true);
    expect(heldByAnother(claim('engine-2', NOW), 'engine-1', NOW)).toBe(false);
    expect(heldByAnother(claim('engine-1', NOW + 60_000), 'engine-1', NOW)).toBe(false);
    expect(heldByAnother(undefined, 'engine-1', NOW)).toBe(false);
  });
});

describe('covers', () => {
  test('a claim covers its version through its `through`, or its version alone', () => {
    const claim = { owner: 'o', token: 't', version: 3, expiresAt: NOW };
    expect([2, 3, 4].map((version) => covers(claim, version))).toEqual([false, true, false]);
    expect([2, 3, 6, 7].map((version) => covers({ ...claim, through: 6 }, version))).toEqual([false, true, true, false]);
  });
});

describe('fenced', () => {
  test('clears the home and keeps every engine away until the fence ends, with a claim nobody holds', () => {
    const w = { ...emptyWatermark('A'), version: 4, home: 'shard-1' };
    const next = fenced(w, 'engine-2:7', NOW + 10_000);
    expect(next.home).toBeUndefined();
    expect(next.claim).toEqual({ owner: FENCE_OWNER, token: 'engine-2:7', version: 5, expiresAt: NOW + 10_000 });
    // Even with watermark+1 in hand, and for the engine that wrote the fence: nobody delivers until it ends.
    const record = { ...H[4]!, accountId: 'A' };
    expect(nextInOrderStep(view(next, { inHand: [record] }))).toEqual({ kind: 'wait' });
    expect(nextInOrderStep(view(next, { inHand: [record], now: NOW + 10_000 })).kind).toBe('deliver');
  });
});

describe('homeDeliveryStands', () => {
  const base = { ...emptyWatermark('A'), version: 4, home: 'shard-1' };
  const stands = (fresh: Watermark, version = 5, now = NOW) => homeDeliveryStands(fresh, version, 'shard-1', 'engine-1', now, 1_000);

  test('covered when the fresh watermark already has the version; lost when it no longer follows on', () => {
    expect(stands({ ...base, version: 5 })).toBe('covered');
    expect(stands({ ...base, version: 3 })).toBe('lost');
  });

  test('home while the account is homed here and no other engine holds a live claim', () => {
    expect(stands(base)).toBe('home');
    expect(stands({ ...base, claim: { owner: 'engine-1', token: 't', version: 5, expiresAt: NOW + 1 } })).toBe('home');
    expect(stands({ ...base, claim: { owner: 'engine-9', token: 't', version: 5, expiresAt: NOW + 1 } })).toBe('lost');
    expect(stands({ ...base, home: 'shard-2' })).toBe('lost');
  });

  test('fenced while a fence written since has more than the reserve left; lost after that', () => {
    const fence = fenced(base, 'x', NOW + 5_000);
    expect(stands(fence, 5, NOW)).toBe('fenced');
    expect(stands(fence, 5, NOW + 3_999)).toBe('fenced');
    expect(stands(fence, 5, NOW + 4_000)).toBe('lost');
  });
});
