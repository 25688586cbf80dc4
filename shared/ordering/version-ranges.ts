import { sortFew } from './sort-few';

/**
 * A set of versions as sorted, disjoint, non-adjacent inclusive ranges: `[[2, 9], [12, 12]]` is {2..9, 12}.
 *
 * Per-account state must stay bounded whatever the stream does: 100,000 versions parked behind one missing version
 * are one range, and a jump from version 1 to 2^40 is two numbers, not 2^40 of them. Every operation here is
 * O(log r) or O(r) in the number of ranges r, never in the number of versions, and `capRanges` bounds r.
 */
export type VersionRange = readonly [from: number, to: number];
export type VersionRanges = readonly VersionRange[];

export const NO_VERSIONS: VersionRanges = Object.freeze([]) as VersionRanges;

/** Index of the range holding `version`, or -(insertion point) - 1 when none does. */
function locate(ranges: VersionRanges, version: number): number {
  let low = 0;
  let high = ranges.length - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const [from, to] = ranges[middle] as VersionRange;
    if (version < from) high = middle - 1;
    else if (version > to) low = middle + 1;
    else return middle;
  }
  return -low - 1;
}

export function hasVersion(ranges: VersionRanges, version: number): boolean {
  return ranges.length > 0 && locate(ranges, version) >= 0;
}

/** The range holding `version`, if any. */
export function rangeOf(ranges: VersionRanges, version: number): VersionRange | undefined {
  const index = ranges.length > 0 ? locate(ranges, version) : -1;
  return index >= 0 ? ranges[index] : undefined;
}

/** The set with `from..to` added. */
export function addVersions(ranges: VersionRanges, from: number, to: number = from): VersionRanges {
  if (to < from) return ranges;
  if (ranges.length === 0) return [[from, to]];
  const last = ranges[ranges.length - 1] as VersionRange;
  // The common case on a hot path: appending right after (or above) the highest range.
  if (from > last[1] + 1) return [...ranges, [from, to]];
  if (from >= last[0] && from <= last[1] + 1) {
    return to <= last[1] ? ranges : [...ranges.slice(0, -1), [last[0], to]];
  }
  const result: VersionRange[] = [];
  let start = from;
  let end = to;
  let placed = false;
  for (const range of ranges) {
    if (range[1] + 1 < start) result.push(range);
    else if (range[0] > end + 1) {
      if (!placed) {
        result.push([start, end]);
        placed = true;
      }
      result.push(range);
    } else {
      start = Math.min(start, range[0]);
      end = Math.max(end, range[1]);
    }
  }
  if (!placed) result.push([start, end]);
  return result;
}

/** The set without `from..to`. */
export function removeVersions(ranges: VersionRanges, from: number, to: number = from): VersionRanges {
  if (ranges.length === 0 || to < from) return ranges;
  const first = ranges[0] as VersionRange;
  const last = ranges[ranges.length - 1] as VersionRange;
  if (to < first[0] || from > last[1]) return ranges;
  const result: VersionRange[] = [];
  let changed = false;
  for (const range of ranges) {
    if (range[1] < from || range[0] > to) {
      result.push(range);
      continue;
    }
    changed = true;
    if (range[0] < from) result.push([range[0], from - 1]);
    if (range[1] > to) result.push([to + 1, range[1]]);
  }
  return changed ? result : ranges;
}

/** The union of two sets. */
export function unionVersions(a: VersionRanges, b: VersionRanges): VersionRanges {
  let result = a;
  for (const [from, to] of b) result = addVersions(result, from, to);
  return result;
}

/** The set restricted to versions above `version`. */
export function above(ranges: VersionRanges, version: number): VersionRanges {
  if (ranges.length === 0 || (ranges[0] as VersionRange)[0] > version) return ranges;
  return removeVersions(ranges, Number.MIN_SAFE_INTEGER, version);
}

export function lowestVersion(ranges: VersionRanges): number | undefined {
  return ranges[0]?.[0];
}

export function highestVersion(ranges: VersionRanges): number | undefined {
  return ranges[ranges.length - 1]?.[1];
}

/** How many versions the set holds (exact up to 2^53). */
export function countVersions(ranges: VersionRanges): number {
  let count = 0;
  for (const [from, to] of ranges) count += to - from + 1;
  return count;
}

/**
 * The versions in `from..to` that are not in the set, as ranges: the holes. O(r), never O(to - from).
 */
export function holesBetween(ranges: VersionRanges, from: number, to: number): VersionRanges {
  if (to < from) return NO_VERSIONS;
  const holes: VersionRange[] = [];
  let next = from;
  for (const [start, end] of ranges) {
    if (end < next) continue;
    if (start > to) break;
    if (start > next) holes.push([next, Math.min(start - 1, to)]);
    next = end + 1;
    if (next > to) break;
  }
  if (next <= to) holes.push([next, to]);
  return holes;
}

/**
 * Bounds the number of ranges by merging the two closest neighbours until at most `max` remain. Merging fills the
 * hole between them, so it is only used where claiming *more* versions is the safe mistake: versions owed to the
 * destination (a late copy is delivered again, and the destination refuses what it has) and versions an operator or
 * a baseline skipped (a late copy is dead-lettered rather than dropped).
 */
export function capRanges(ranges: VersionRanges, max: number): VersionRanges {
  if (ranges.length <= max) return ranges;
  const result = [...ranges];
  while (result.length > max) {
    let best = 0;
    let bestGap = Number.POSITIVE_INFINITY;
    for (let index = 0; index + 1 < result.length; index += 1) {
      const gap = (result[index + 1] as VersionRange)[0] - (result[index] as VersionRange)[1];
      if (gap < bestGap) {
        bestGap = gap;
        best = index;
      }
    }
    const merged: VersionRange = [(result[best] as VersionRange)[0], (result[best + 1] as VersionRange)[1]];
    result.splice(best, 2, merged);
  }
  return result;
}

/** `2-9,12`: the compact text the ledger stores (a few bytes per range, whatever the versions). */
export function formatVersions(ranges: VersionRanges): string {
  return ranges.map(([from, to]) => (from === to ? `${from}` : `${from}-${to}`)).join(',');
}

/** Reads `formatVersions` text back; throws a `TypeError` on anything else. */
export function parseVersions(text: string | undefined): VersionRanges {
  if (text === undefined || text === '') return NO_VERSIONS;
  const ranges: VersionRange[] = [];
  for (const part of text.split(',')) {
    const match = /^(\d{1,16})(?:-(\d{1,16}))?$/.exec(part);
    const from = match ? Number(match[1]) : Number.NaN;
    const to = match?.[2] !== undefined ? Number(match[2]) : from;
    const previous = ranges[ranges.length - 1];
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 1 || to < from || (previous && from <= previous[1] + 1)) {
      throw new TypeError(`not a version set: "${text}"`);
    }
    ranges.push([from, to]);
  }
  return ranges;
}

/** `3`, `3-9` or `3-9, 12`: for messages. */
export function describeVersions(ranges: VersionRanges): string {
  return ranges.map(([from, to]) => (from === to ? `${from}` : `${from}-${to}`)).join(', ');
}

export function sameVersions(a: VersionRanges, b: VersionRanges): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let index = 0; index < a.length; index += 1) {
    const x = a[index] as VersionRange;
    const y = b[index] as VersionRange;
    if (x[0] !== y[0] || x[1] !== y[1]) return false;
  }
  return true;
}

/** The versions in ascending order, in a new array (`sortFew`: an account's share of a batch is a few versions). */
export function ascendingVersions(versions: Iterable<number>): number[] {
  const sorted: number[] = [];
  // for-of rather than Array.from: optimized, it allocates no iterator results.
  for (const version of versions) sorted.push(version);
  return sortFew(sorted);
}
