import { describe, expect, test } from 'vitest';
import type { ChangeRecord } from '../../shared/change-record/change-record';
import {
  baselined,
  gapTimedOut,
  holesOf,
  isDelivered,
  neverStarted,
  settled,
  startedAt,
  type Settled,
} from '../../shared/ordering/every-version-rules';
import { changeDigest } from '../../shared/ordering/change-digest';
import { MAX_HEAL_MARKS, MAX_RANGES } from '../../shared/ordering/limits';
import { emptyWatermark, type Watermark } from '../../shared/ordering/watermark';
import { accountHistory } from '../support/histories';

const NOW = 1_800_000_000_000;
const H = accountHistory('A', 12);
const v = (version: number): ChangeRecord => H[version - 1] as ChangeRecord;
const w = (overrides: Partial<Watermark> = {}): Watermark => ({ ...emptyWatermark('A'), ...overrides });

/** A batch's settlement: the versions the destination accepted (healed ones marked), and the ones dead-lettered. */
function batch(delivered: number[], options: { healed?: number[]; lettered?: number[] } = {}): Settled {
  return {
    delivered: [...delivered].sort((a, b) => a - b).map((version) => v(version)),
    healed: new Set(options.healed ?? []),
    lettered: options.lettered ?? [],
  };
}

describe('isDelivered', () => {
  test('a version at or below the watermark is delivered unless it is owed; above it, only when in `ahead`', () => {
    const state = w({ version: 5, owed: [[2, 2]], ahead: [[8, 8]] });
    expect([1, 2, 3, 5, 6, 7, 8, 9].map((version) => isDelivered(state, version))).toEqual([true, false, true, true, false, false, true, false]);
  });
});

describe('neverStarted', () => {
  test('true while the watermark has not risen above the floor', () => {
    expect(neverStarted(w())).toBe(true);
    expect(neverStarted(w({ version: 4, floor: 4 }))).toBe(true);
    expect(neverStarted(w({ version: 5, floor: 4 }))).toBe(false);
    expect(neverStarted(w({ version: 1 }))).toBe(false);
  });
});

describe('settled', () => {
  test('carries every field the batch does not settle, in the shape of every watermark (one literal, not a patch)', () => {
    const filled = Object.fromEntries(Object.keys(emptyWatermark('A')).map((key, index) => [key, `value-${index}`]));
    const before = { ...filled, version: 0, ahead: [], owed: [], skipped: [], heals: [], recent: [], newestCreatedAt: 0, gapSince: undefined, gapNotice: undefined } as unknown as Watermark;
    const next = settled(before, batch([1, 2]), NOW);
    const moved = ['version', 'ahead', 'owed', 'lastImage', 'lastKind', 'newestCreatedAt', 'heals', 'recent', 'gapSince', 'gapNotice'];
    expect(Object.keys(next)).toEqual(Object.keys(emptyWatermark('A')));
    for (const key of Object.keys(before) as (keyof Watermark)[]) if (!moved.includes(key)) expect(next[key], key).toBe(before[key]);
  });

  test('versions delivered right above the watermark move it, with the image, kind and creation time of the last', () => {
    const next = settled(w(), batch([1, 2, 3]), NOW);
    expect(next).toMatchObject({ version: 3, ahead: [], owed: [], lastImage: v(3).newImage, lastKind: 'MODIFY' });
    expect([next.newestCreatedAt, next.gapSince]).toEqual([v(3).createdAtMicros, undefined]);
  });

  test('versions delivered above a missing one are kept in `ahead`, and the gap clock starts', () => {
    const next = settled(w({ version: 2 }), batch([5, 6, 9]), NOW);
    expect(next).toMatchObject({ version: 2, ahead: [[5, 6], [9, 9]], gapSince: NOW });
  });

  test('the gap clock keeps its start while holes remain, and stops once they are filled', () => {
    const waiting = settled(w({ version: 2 }), batch([5]), NOW);
    const still = settled(waiting, batch([3]), NOW + 10);
    expect(still).toMatchObject({ version: 3, ahead: [[5, 5]], gapSince: NOW });
    const filled = settled(still, batch([4]), NOW + 20);
    expect(filled).toMatchObject({ version: 5, ahead: [], gapSince: undefined });
  });

  test('the image at the new watermark is known only when that version was delivered in this batch', () => {
    expect(settled(w({ version: 2, ahead: [[4, 4]] }), batch([3]), NOW)).toMatchObject({ version: 4, lastImage: undefined, lastKind: undefined });
    expect(settled(w({ version: 2, ahead: [[3, 3]] }), batch([4]), NOW)).toMatchObject({ version: 4, lastImage: v(4).newImage });
  });

  test('a watermark moving onto a version delivered ahead in an earlier batch knows its kind (a deletion stays known), not its image', () => {
    const removal: ChangeRecord = { ...v(4), kind: 'REMOVE', newImage: undefined };
    const ahead = settled(w({ version: 2 }), { delivered: [removal], healed: new Set(), lettered: [] }, NOW);
    expect(ahead).toMatchObject({ version: 2, ahead: [[4, 4]] });
    expect(settled(ahead, batch([3]), NOW)).toMatchObject({ version: 4, lastImage: undefined, lastKind: 'REMOVE' });
    // Given up on a hole, the watermark moves over it onto what was delivered above: its kind too.
    const overHole = settled(w({ version: 2 }), batch([5]), NOW);
    expect(gapTimedOut(overHole, [[3, 4]], NOW)).toMatchObject({ version: 5, owed: [[3, 4]], lastKind: 'MODIFY' });
  });

  test('an owed version delivered late, below the watermark, is no longer owed and the watermark stays', () => {
    const next = settled(w({ version: 6, owed: [[2, 3]] }), batch([2]), NOW);
    expect(next).toMatchObject({ version: 6, owed: [[3, 3]], ahead: [] });
    expect(isDelivered(next, 2)).toBe(true);
  });

  test('an owed version above the watermark counts as accounted for: the watermark passes it', () => {
    const next = settled(w({ version: 2, owed: [[4, 4]] }), batch([3]), NOW);
    expect(next).toMatchObject({ version: 4, owed: [[4, 4]], lastImage: undefined, lastKind: undefined });
    expect(isDelivered(next, 4)).toBe(false);
  });

  test('lettered versions become owed and the watermark passes them; it rests on the last delivered image when that is the top', () => {
    const next = settled(w({ version: 2, lastImage: v(2).newImage }), batch([4], { lettered: [3] }), NOW);
    expect(next).toMatchObject({ version: 4, owed: [[3, 3]], lastImage: v(4).newImage, lastKind: 'MODIFY', gapSince: undefined });
    const onLetter = settled(w({ version: 2 }), batch([3], { lettered: [4] }), NOW);
    expect(onLetter).toMatchObject({ version: 4, owed: [[4, 4]], lastImage: undefined });
  });

  test('a duplicate below the watermark never moves it backwards', () => {
    expect(settled(w({ version: 5, newestCreatedAt: v(5).createdAtMicros }), batch([1]), NOW)).toMatchObject({
      version: 5,
      newestCreatedAt: v(5).createdAtMicros,
    });
  });

  test('healed versions leave heal marks; only the newest MAX_HEAL_MARKS are kept', () => {
    expect(settled(w({ version: 2 }), batch([3], { healed: [3] }), NOW).heals).toEqual([{ version: 3, digest: changeDigest(v(3)) }]);
    const full = w({ heals: Array.from({ length: MAX_HEAL_MARKS }, (_, index) => ({ version: 100 + index, digest: 'd' })) });
    const next = settled(full, batch([1], { healed: [1] }), NOW);
    expect(next.heals).toHaveLength(MAX_HEAL_MARKS);
    expect([next.heals[0]?.version, next.heals.at(-1)?.version]).toEqual([101, 1]);
  });

  test('dead-lettered versions above a watermark that does not move keep `owed` within MAX_RANGES', () => {
    const lettered = Array.from({ length: MAX_RANGES + 50 }, (_, index) => 3 + index * 2);
    const next = settled(w(), batch([], { lettered }), NOW);
    expect(next.version).toBe(0);
    expect(next.owed.length).toBeLessThanOrEqual(MAX_RANGES);
  });
});

describe('holesOf', () => {
  test('the versions between the watermark and the highest delivered one that are neither delivered nor owed', () => {
    expect(holesOf(w({ version: 2, ahead: [[5, 5], [8, 8]] }))).toEqual([[3, 4], [6, 7]]);
    expect(holesOf(w({ version: 2, ahead: [[5, 5], [8, 8]], owed: [[1, 1], [6, 7]] }))).toEqual([[3, 4]]);
  });

  test('no holes without anything delivered above the watermark', () => {
    expect(holesOf(w({ version: 2, owed: [[5, 5]] }))).toEqual([]);
    expect(holesOf(w())).toEqual([]);
  });
});

describe('gapTimedOut', () => {
  test('the holes given up on become owed, the watermark moves over them, and the gap clock stops', () => {
    const waiting = w({ version: 2, ahead: [[5, 5], [8, 9]], gapSince: NOW });
    const next = gapTimedOut(waiting, holesOf(waiting), NOW + 60_000);
    expect(next).toMatchObject({ version: 9, ahead: [], owed: [[3, 4], [6, 7]], gapSince: undefined });
    expect(isDelivered(next, 6)).toBe(false);
  });

  test('holes that are only part of the gap: the clock restarts for the rest', () => {
    const waiting = w({ version: 2, ahead: [[5, 5], [8, 8]], gapSince: NOW });
    const next = gapTimedOut(waiting, [[3, 4]], NOW + 60_000);
    expect(next).toMatchObject({ version: 5, ahead: [[8, 8]], owed: [[3, 4]], gapSince: NOW + 60_000 });
  });
});

describe('baselined', () => {
  test('an account that never saw its first versions starts right below its lowest delivered version; those below are owed', () => {
    const next = baselined(w({ ahead: [[5, 6], [9, 9]], gapSince: NOW }), NOW + 1);
    expect(next).toMatchObject({ version: 6, floor: 4, owed: [[1, 4]], ahead: [[9, 9]], gapSince: NOW });
    expect(isDelivered(next, 2)).toBe(false);
  });

  test('an account with nothing delivered is left as it is', () => {
    const state = w();
    expect(baselined(state, NOW)).toBe(state);
  });
});

describe('startedAt', () => {
  test("a replay's start: the versions below it are owed, the watermark is at least the floor, with the image there", () => {
    const next = startedAt(w(), 3, v(3).newImage, NOW);
    expect(next).toMatchObject({ version: 3, floor: 3, owed: [[1, 3]], lastImage: v(3).newImage, lastKind: undefined });
  });

  test('the watermark moves over versions already delivered above the start', () => {
    const next = startedAt(w({ ahead: [[4, 5], [8, 8]] }), 3, v(3).newImage, NOW);
    expect(next).toMatchObject({ version: 5, floor: 3, ahead: [[8, 8]], gapSince: NOW, lastImage: undefined });
  });

  test('a floor at or below the one the account has changes nothing; a higher one owes only the versions between', () => {
    const state = w({ version: 3, floor: 3, owed: [[1, 3]] });
    expect(startedAt(state, 3, undefined, NOW)).toBe(state);
    expect(startedAt(state, 2, undefined, NOW)).toBe(state);
    expect(startedAt(state, 6, undefined, NOW)).toMatchObject({ version: 6, floor: 6, owed: [[1, 6]] });
  });
});
