import { describe, expect, it } from 'vitest';
import {
  applyChaos,
  sequenceNumber,
  shardOfKey,
  toShardFeeds,
  type ChaosOptions,
  type StreamPayload,
} from '../../local/bridge/chaos';
import { prng } from '../../local/prng';

/** 40 accounts × 50 changes, in capture order: account i's change v is `acc-i#v`. */
const items = Array.from({ length: 2000 }, (_, index) => ({
  account: `acc-${index % 40}`,
  version: 1 + Math.floor(index / 40),
}));
const keyOf = (item: { account: string }) => item.account;
const base: ChaosOptions = { seed: 7, duplicateRate: 0.1, reorderRate: 0.2, reorderWindow: 5, shardCount: 2 };
const flat = <T>(shards: T[][]) => shards.flat();

describe('applyChaos', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const first = applyChaos(items, keyOf, base);
    expect(applyChaos(items, keyOf, base)).toEqual(first);
    expect(applyChaos(items, keyOf, { ...base, seed: 8 })).not.toEqual(first);
  });

  it('keeps every original record exactly once, on its home shard, plus the copies', () => {
    const { shards, stats } = applyChaos(items, keyOf, base);
    const placed = flat(shards);
    const originals = placed.filter((entry) => !entry.copy);
    expect(originals.map((entry) => entry.index).sort((a, b) => a - b)).toEqual(items.map((_, index) => index));
    for (const [shard, entries] of shards.entries()) {
      for (const entry of entries.filter((e) => !e.copy)) expect(shardOfKey(entry.item.account, 2)).toBe(shard);
    }
    expect(placed).toHaveLength(items.length + stats.duplicates);
    expect(placed.filter((entry) => entry.copy)).toHaveLength(stats.duplicates);
  });

  it('roughly honours the duplicate rate and lets copies land on the other shard', () => {
    const { stats } = applyChaos(items, keyOf, base);
    expect(stats.duplicates / items.length).toBeGreaterThan(0.07);
    expect(stats.duplicates / items.length).toBeLessThan(0.13);
    expect(stats.crossShardDuplicates).toBeGreaterThan(stats.duplicates * 0.3);
    expect(stats.crossShardDuplicates).toBeLessThan(stats.duplicates * 0.7);
  });

  it('roughly honours the reorder rate and moves records at most the window', () => {
    const { shards, stats } = applyChaos(items, keyOf, { ...base, duplicateRate: 0 });
    const total = items.length;
    expect(stats.displaced / total).toBeGreaterThan(0.16);
    expect(stats.displaced / total).toBeLessThan(0.24);
    for (const entries of shards) {
      // Capture order within the shard is the index order; no record may end up more than a window late, and a
      // record can only be early because records before it were held back.
      const captureRank = new Map([...entries].sort((a, b) => a.index - b.index).map((entry, rank) => [entry, rank]));
      entries.forEach((entry, position) => {
        const rank = captureRank.get(entry) as number;
        expect(position - rank).toBeLessThanOrEqual(base.reorderWindow);
        if (!entry.displaced) expect(position).toBeLessThanOrEqual(rank);
      });
    }
  });

  it('really reorders changes of one account when they are closer than the window, which is the point', () => {
    // With 40 accounts an account's changes are ~20 apart on its shard; with 4 they are ~2 apart.
    const few = items.map((_, index) => ({ account: `acc-${index % 4}`, version: 1 + Math.floor(index / 4) }));
    const { shards } = applyChaos(few, keyOf, { ...base, duplicateRate: 0 });
    const inversions = shards.some((entries) => {
      const last = new Map<string, number>();
      return entries.some(({ item }) => {
        const previous = last.get(item.account) ?? 0;
        last.set(item.account, Math.max(previous, item.version));
        return item.version < previous;
      });
    });
    expect(inversions).toBe(true);
  });

  it('changes nothing with rates of zero', () => {
    const { shards, stats } = applyChaos(items, keyOf, { ...base, duplicateRate: 0, reorderRate: 0 });
    expect(stats).toEqual({ originals: items.length, duplicates: 0, crossShardDuplicates: 0, displaced: 0 });
    for (const entries of shards) {
      const indexes = entries.map((entry) => entry.index);
      expect(indexes).toEqual([...indexes].sort((a, b) => a - b));
    }
  });

  it('refuses rates outside 0..1 and a shard count below 1', () => {
    expect(() => applyChaos(items, keyOf, { ...base, duplicateRate: 1.5 })).toThrow(RangeError);
    expect(() => applyChaos(items, keyOf, { ...base, reorderRate: -0.1 })).toThrow(RangeError);
    expect(() => applyChaos(items, keyOf, { ...base, shardCount: 0 })).toThrow(RangeError);
  });
});

describe('prng', () => {
  it('repeats for a seed and stays in [0, 1)', () => {
    const a = prng(42);
    const b = prng(42);
    const values = Array.from({ length: 1000 }, () => a());
    expect(values).toEqual(Array.from({ length: 1000 }, () => b()));
    expect(values.every((value) => value >= 0 && value < 1)).toBe(true);
  });
});

describe('toShardFeeds', () => {
  const payloads: StreamPayload[] = items
    .slice(0, 250)
    .map((item) => ({ data: `${item.account}#${item.version}`, partitionKey: item.account }));

  it('cuts each shard into batches with increasing, fixed-length sequence numbers', () => {
    const feeds = toShardFeeds(applyChaos(payloads, (p) => p.partitionKey, base), 40);
    expect(feeds.map((feed) => feed.shardId)).toEqual(['shardId-000000000000', 'shardId-000000000001']);
    for (const feed of feeds) {
      const records = feed.batches.flat();
      expect(feed.batches.every((batch) => batch.length <= 40)).toBe(true);
      expect(records.every((record) => record.shardId === feed.shardId)).toBe(true);
      const numbers = records.map((record) => record.sequenceNumber);
      expect(new Set(numbers.map((n) => n.length))).toEqual(new Set([56]));
      expect(numbers).toEqual([...numbers].sort());
      expect(records.every((record) => /^[0-9a-f]{32}$/.test(record.partitionKey ?? ''))).toBe(true);
    }
    expect(feeds.flatMap((feed) => feed.batches.flat()).length).toBeGreaterThanOrEqual(payloads.length);
  });

  it('numbers compare the same as strings and as BigInts', () => {
    expect(BigInt(sequenceNumber(1, 10)) > BigInt(sequenceNumber(1, 9))).toBe(true);
    expect(sequenceNumber(1, 10) > sequenceNumber(1, 9)).toBe(true);
  });
});
