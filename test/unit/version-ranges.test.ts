import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  NO_VERSIONS,
  above,
  ascendingVersions,
  addVersions,
  capRanges,
  countVersions,
  describeVersions,
  formatVersions,
  hasVersion,
  highestVersion,
  holesBetween,
  lowestVersion,
  parseVersions,
  rangeOf,
  removeVersions,
  sameVersions,
  unionVersions,
  type VersionRanges,
} from '../../shared/ordering/version-ranges';

const MAX = Number.MAX_SAFE_INTEGER;

/** The set built by adding each version (or [from, to] pair) in turn. */
function setOf(...items: (number | [number, number])[]): VersionRanges {
  let ranges: VersionRanges = NO_VERSIONS;
  for (const item of items) ranges = typeof item === 'number' ? addVersions(ranges, item) : addVersions(ranges, item[0], item[1]);
  return ranges;
}

/** Sorted, disjoint and non-adjacent: the invariant every operation keeps. */
function isCanonical(ranges: VersionRanges): boolean {
  return ranges.every(([from, to], index) => from <= to && (index === 0 || from > (ranges[index - 1] as readonly number[])[1]! + 1));
}

describe('addVersions', () => {
  test('adds a single version, a range, and ignores an empty range (to < from)', () => {
    expect(addVersions(NO_VERSIONS, 5)).toEqual([[5, 5]]);
    expect(addVersions(NO_VERSIONS, 5, 9)).toEqual([[5, 9]]);
    const ranges = setOf(3);
    expect(addVersions(ranges, 9, 8)).toBe(ranges);
  });

  test('merges a version adjacent to a range on either side, and one that closes the hole between two', () => {
    expect(setOf([2, 4], 5)).toEqual([[2, 5]]);
    expect(setOf([2, 4], 1)).toEqual([[1, 4]]);
    expect(setOf([2, 4], [6, 8], 5)).toEqual([[2, 8]]);
    expect(setOf([6, 8], [2, 4], 5)).toEqual([[2, 8]]);
  });

  test('keeps non-adjacent versions apart, in order, whatever order they are added in', () => {
    expect(setOf(9, 1, 5, 3, 7)).toEqual([[1, 1], [3, 3], [5, 5], [7, 7], [9, 9]]);
  });

  test('a range covering several ranges swallows them', () => {
    expect(setOf(2, 4, 6, 20, [1, 10])).toEqual([[1, 10], [20, 20]]);
  });

  test('adding versions already held returns the same set (no copy on the hot path)', () => {
    const ranges = setOf([1, 10]);
    expect(addVersions(ranges, 4, 7)).toBe(ranges);
    expect(addVersions(ranges, 10)).toBe(ranges);
  });

  test('handles versions up to Number.MAX_SAFE_INTEGER and jumps of 2^40 as a few numbers', () => {
    expect(setOf(1, 2 ** 40, 2 ** 40 + 1, MAX - 1, MAX)).toEqual([[1, 1], [2 ** 40, 2 ** 40 + 1], [MAX - 1, MAX]]);
    expect(setOf(MAX, [1, MAX - 1])).toEqual([[1, MAX]]);
  });
});

describe('removeVersions', () => {
  test('removing from the middle of a range splits it', () => {
    expect(removeVersions(setOf([1, 10]), 4, 6)).toEqual([[1, 3], [7, 10]]);
    expect(removeVersions(setOf([1, 10]), 5)).toEqual([[1, 4], [6, 10]]);
  });

  test('removing the ends trims a range, removing all of it drops it', () => {
    expect(removeVersions(setOf([1, 10]), 1)).toEqual([[2, 10]]);
    expect(removeVersions(setOf([1, 10]), 10)).toEqual([[1, 9]]);
    expect(removeVersions(setOf([1, 3], [7, 9]), 1, 3)).toEqual([[7, 9]]);
  });

  test('a removal spanning several ranges trims the outer ones and drops the inner ones', () => {
    expect(removeVersions(setOf([1, 5], [8, 9], [12, 20]), 3, 14)).toEqual([[1, 2], [15, 20]]);
  });

  test('removing versions that are not there returns the same set', () => {
    const ranges = setOf([3, 5], [9, 9]);
    expect(removeVersions(ranges, 6, 8)).toBe(ranges);
    expect(removeVersions(ranges, 100)).toBe(ranges);
    expect(removeVersions(ranges, 1, 2)).toBe(ranges);
    expect(removeVersions(ranges, 8, 7)).toBe(ranges);
  });

  test('works at Number.MAX_SAFE_INTEGER', () => {
    expect(removeVersions(setOf([MAX - 3, MAX]), MAX - 1)).toEqual([[MAX - 3, MAX - 2], [MAX, MAX]]);
    expect(removeVersions(setOf([1, MAX]), 2, MAX)).toEqual([[1, 1]]);
  });
});

describe('hasVersion, rangeOf, lowestVersion, highestVersion', () => {
  test('hasVersion finds members of every range and nothing in the holes or outside', () => {
    const ranges = setOf([2, 4], [8, 8], [2 ** 40, 2 ** 40 + 5]);
    for (const version of [2, 3, 4, 8, 2 ** 40, 2 ** 40 + 5]) expect(hasVersion(ranges, version)).toBe(true);
    for (const version of [1, 5, 7, 9, 2 ** 40 - 1, 2 ** 40 + 6, MAX]) expect(hasVersion(ranges, version)).toBe(false);
    expect(hasVersion(NO_VERSIONS, 1)).toBe(false);
  });

  test('rangeOf gives the range holding a version', () => {
    const ranges = setOf([2, 4], [8, 9]);
    expect(rangeOf(ranges, 3)).toEqual([2, 4]);
    expect(rangeOf(ranges, 9)).toEqual([8, 9]);
    expect(rangeOf(ranges, 5)).toBeUndefined();
    expect(rangeOf(NO_VERSIONS, 5)).toBeUndefined();
  });

  test('lowest and highest are the ends of the set, undefined when empty', () => {
    expect([lowestVersion(setOf([2, 4], [8, 9])), highestVersion(setOf([2, 4], [8, 9]))]).toEqual([2, 9]);
    expect([lowestVersion(NO_VERSIONS), highestVersion(NO_VERSIONS)]).toEqual([undefined, undefined]);
  });
});

describe('unionVersions and above', () => {
  test('the union merges overlapping and adjacent ranges of both sets', () => {
    expect(unionVersions(setOf([1, 3], [10, 12]), setOf([4, 5], [11, 20], [30, 30]))).toEqual([[1, 5], [10, 20], [30, 30]]);
    expect(unionVersions(NO_VERSIONS, setOf(7))).toEqual([[7, 7]]);
  });

  test('above keeps only versions strictly above the given one', () => {
    const ranges = setOf([1, 5], [8, 9]);
    expect(above(ranges, 3)).toEqual([[4, 5], [8, 9]]);
    expect(above(ranges, 5)).toEqual([[8, 9]]);
    expect(above(ranges, 9)).toEqual([]);
    expect(above(ranges, 0)).toBe(ranges);
  });
});

describe('holesBetween', () => {
  test('names the versions of from..to that are not in the set', () => {
    expect(holesBetween(setOf([3, 4], [7, 7]), 1, 10)).toEqual([[1, 2], [5, 6], [8, 10]]);
    expect(holesBetween(setOf([3, 4], [7, 7]), 3, 7)).toEqual([[5, 6]]);
    expect(holesBetween(setOf([3, 4]), 3, 4)).toEqual([]);
    expect(holesBetween(NO_VERSIONS, 5, 9)).toEqual([[5, 9]]);
    expect(holesBetween(setOf(1), 5, 4)).toEqual([]);
  });

  test('ranges that straddle the bounds are clipped to them', () => {
    expect(holesBetween(setOf([1, 5], [9, 20]), 4, 12)).toEqual([[6, 8]]);
  });

  test('stays O(ranges): a hole of 2^52 versions is one range', () => {
    expect(holesBetween(setOf(1, MAX), 1, MAX)).toEqual([[2, MAX - 1]]);
    expect(countVersions(holesBetween(setOf(1, MAX), 1, MAX))).toBe(MAX - 2);
  });
});

describe('capRanges', () => {
  test('leaves a set within the bound as it is', () => {
    const ranges = setOf(1, 3, 5);
    expect(capRanges(ranges, 3)).toBe(ranges);
  });

  test('merges the closest neighbours first, claiming the fewest extra versions', () => {
    expect(capRanges(setOf(1, 10, 12, 30), 3)).toEqual([[1, 1], [10, 12], [30, 30]]);
    expect(capRanges(setOf(1, 10, 12, 30), 2)).toEqual([[1, 12], [30, 30]]);
    expect(capRanges(setOf(1, 10, 12, 30), 1)).toEqual([[1, 30]]);
  });

  test('the result is a superset with at most max ranges', () => {
    const ranges = setOf(...Array.from({ length: 50 }, (_, index) => index * index * 3 + 1));
    const capped = capRanges(ranges, 7);
    expect(capped.length).toBe(7);
    expect(isCanonical(capped)).toBe(true);
    for (const [from, to] of ranges) expect(holesBetween(capped, from, to)).toEqual([]);
  });
});

describe('formatVersions and parseVersions', () => {
  test('format is the compact text the ledger stores, describe the text for messages', () => {
    expect(formatVersions(setOf([2, 9], 12))).toBe('2-9,12');
    expect(describeVersions(setOf([2, 9], 12))).toBe('2-9, 12');
    expect(formatVersions(NO_VERSIONS)).toBe('');
  });

  test('parse reads format back, 16-digit versions included', () => {
    const sets = [NO_VERSIONS, setOf(1), setOf([2, 9], 12), setOf([1, 2 ** 40], [MAX - 1, MAX]), setOf(9e15, [9e15 + 2, MAX])];
    for (const ranges of sets) {
      expect(parseVersions(formatVersions(ranges))).toEqual(ranges);
    }
    expect(parseVersions(undefined)).toEqual([]);
  });

  test('parse refuses text that is not a canonical set: unordered, overlapping, adjacent, reversed or not numbers', () => {
    for (const text of ['5,3', '1-5,4', '1-5,6', '9-2', 'x', '1,y', '1-', '1-2-3', '1.5', String(2 ** 53 + 2)]) {
      expect(() => parseVersions(text), text).toThrow(TypeError);
    }
  });

  test('parse refuses empty numbers, signs, hex and blanks', () => {
    for (const text of ['-5', ',5', '-', '0x10', ' 7']) expect(() => parseVersions(text), text).toThrow(TypeError);
  });
});

describe('countVersions and sameVersions', () => {
  test('counts versions exactly, across huge ranges', () => {
    expect(countVersions(NO_VERSIONS)).toBe(0);
    expect(countVersions(setOf([2, 9], 12))).toBe(9);
    expect(countVersions(setOf([1, MAX]))).toBe(MAX);
    expect(countVersions(setOf(1, [2 ** 40, 2 ** 41]))).toBe(2 ** 40 + 2);
  });

  test('sameVersions compares contents, not identity', () => {
    expect(sameVersions(setOf([1, 3]), setOf(1, 2, 3))).toBe(true);
    expect(sameVersions(setOf([1, 3]), setOf(1, 3))).toBe(false);
    expect(sameVersions(setOf(1), NO_VERSIONS)).toBe(false);
  });
});

describe('property: a range set behaves as a plain Set of versions', () => {
  const operation = fc.record({
    add: fc.boolean(),
    from: fc.integer({ min: 1, max: 200 }),
    length: fc.integer({ min: 0, max: 12 }),
  });

  test('after any sequence of adds and removes, membership, count, holes and the text round trip agree with a Set model', () => {
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 80 }), (operations) => {
        let ranges: VersionRanges = NO_VERSIONS;
        const model = new Set<number>();
        for (const { add, from, length } of operations) {
          const to = from + length;
          ranges = add ? addVersions(ranges, from, to) : removeVersions(ranges, from, to);
          for (let version = from; version <= to; version += 1) {
            if (add) model.add(version);
            else model.delete(version);
          }
          if (!isCanonical(ranges)) expect.fail(`not canonical: ${formatVersions(ranges)}`);
        }
        const probe = Array.from({ length: 216 }, (_, version) => version);
        expect(probe.filter((version) => hasVersion(ranges, version))).toEqual(probe.filter((version) => model.has(version)));
        expect(countVersions(ranges)).toBe(model.size);
        const sorted = [...model].sort((a, b) => a - b);
        expect(lowestVersion(ranges)).toBe(sorted[0]);
        expect(highestVersion(ranges)).toBe(sorted[sorted.length - 1]);
        const holes = holesBetween(ranges, 1, 215).flatMap(([from, to]) => probe.slice(from, to + 1));
        expect(holes).toEqual(probe.filter((version) => version >= 1 && !model.has(version)));
        expect(parseVersions(formatVersions(ranges))).toEqual(ranges);
        const limited = above(ranges, 100);
        expect(probe.filter((version) => hasVersion(limited, version))).toEqual(sorted.filter((version) => version > 100));
      }),
      { numRuns: 300 },
    );
  });

  test('the union of two sets is the Set union', () => {
    const versions = fc.array(fc.integer({ min: 1, max: 200 }), { maxLength: 60 });
    fc.assert(
      fc.property(versions, versions, (a, b) => {
        const union = unionVersions(setOf(...a), setOf(...b));
        expect(isCanonical(union)).toBe(true);
        const model = new Set([...a, ...b]);
        const probe = Array.from({ length: 202 }, (_, version) => version);
        expect(probe.filter((version) => hasVersion(union, version))).toEqual(probe.filter((version) => model.has(version)));
      }),
    );
  });
});

describe('ascendingVersions', () => {
  test('sorts numerically, short and long, without touching its input', () => {
    const random = (seed: number) => () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const next = random(7);
    for (const length of [0, 1, 2, 3, 5, 16, 17, 40]) {
      const input = Array.from({ length }, () => Math.floor(next() * 1_000));
      const before = [...input];
      expect(ascendingVersions(new Set(input))).toEqual([...new Set(input)].sort((a, b) => a - b));
      expect(ascendingVersions(input)).toEqual([...input].sort((a, b) => a - b));
      expect(input).toEqual(before);
    }
    // Numeric, not the default string order.
    expect(ascendingVersions([10, 9, 100, 2])).toEqual([2, 9, 10, 100]);
  });
});
