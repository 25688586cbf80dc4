import { describe, expect, it } from 'vitest';
import { deliveryLatencies, summarize, WARM_UP_MS } from '../../local/pipeline/delivery-latency';

const T0 = 1_800_000_000_000;
const created = (entries: [string, number][]) => new Map(entries.map(([key, ms]) => [key, ms * 1000]));

describe('commit → delivery latencies', () => {
  it('take each change once, from its creation to its first delivery', () => {
    const made = created([['a#1', T0], ['a#2', T0 + 100]]);
    const accepted = [
      { accountId: 'a', version: 1, at: T0 + 300 },
      { accountId: 'a', version: 1, at: T0 + 900 },
      { accountId: 'a', version: 2, at: T0 + 400 },
    ];
    expect(deliveryLatencies(accepted, made, false).all).toEqual([300, 300]);
  });

  it('measure latest-state as freshness: a version skipped as stale is served by its successor', () => {
    const made = created([['a#1', T0], ['a#2', T0 + 100], ['a#3', T0 + 200]]);
    // The index took v1 at +500 and v3 at +700; v2 was never written (stale): it was fresh once v3 was there.
    const accepted = [
      { accountId: 'a', version: 1, at: T0 + 500 },
      { accountId: 'a', version: 3, at: T0 + 700 },
    ];
    expect(deliveryLatencies(accepted, made, true).all.sort((x, y) => x - y)).toEqual([500, 500, 600]);
    // Counted per change, not per write: without freshness v2 would not count at all.
    expect(deliveryLatencies(accepted, made, false).all).toHaveLength(2);
  });

  it('leave the warm-up out of the warm figures', () => {
    const made = created([['a#1', T0], ['a#2', T0 + WARM_UP_MS - 1], ['a#3', T0 + WARM_UP_MS]]);
    const accepted = [1, 2, 3].map((version) => ({ accountId: 'a', version, at: T0 + WARM_UP_MS + 1_000 }));
    const { all, warm } = deliveryLatencies(accepted, made, false);
    expect(all).toHaveLength(3);
    expect(warm).toEqual([1_000]);
    expect(summarize(warm)).toEqual({ p50: 1_000, p95: 1_000, p99: 1_000, samples: 1 });
  });
});
