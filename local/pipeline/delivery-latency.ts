import type { Accepted } from './read-back';

/**
 * Changes made in the run's first seconds meet a cold JVM, cold workers and the accounts' openings: not the steady
 * state. On this project's 2-core machine at `--rate 10` the slowest change of each second went from about 6.5 s at
 * the start to 2.4-2.8 s in the 6th second, 1.3-1.6 s in the 7th and at most about 1.1 s from the 8th on (the start's
 * backlog draining): at 5 s the "warm" tail was still start-up.
 */
export const WARM_UP_MS = 8_000;

export interface LatencySummary {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly samples: number;
}

/**
 * Commit → delivery per change: from when DynamoDB made the change (`createdAtMicros`) to when the destination held
 * it. For `every-version` and `in-order` destinations that is the change's own delivery; for a `latest-state` one
 * (search) it is **freshness**, the first moment the destination held that version *or a newer one* — a version
 * skipped as stale was served by its successor — so the three destinations are comparable. `warm` leaves out the
 * changes made in the first `WARM_UP_MS` of the run.
 */
export function deliveryLatencies(
  accepted: readonly Pick<Accepted, 'accountId' | 'version' | 'at'>[],
  createdAtMicros: ReadonlyMap<string, number>,
  freshness: boolean,
): { all: number[]; warm: number[] } {
  const firstCreatedMs = Math.min(...[...createdAtMicros.values()].map((micros) => micros / 1000));
  const all: number[] = [];
  const warm: number[] = [];
  const add = (createdMs: number, atMs: number): void => {
    const latency = Math.max(0, atMs - createdMs);
    all.push(latency);
    if (createdMs >= firstCreatedMs + WARM_UP_MS) warm.push(latency);
  };
  const held = heldTimes(accepted, createdAtMicros.keys(), freshness);
  for (const [key, micros] of createdAtMicros) {
    const at = held.get(key);
    if (at !== undefined) add(micros / 1000, at);
  }
  return { all, warm };
}

/**
 * When the destination held each of `versions` (keys `account#version`): its first copy's arrival, or with
 * `freshness` the first moment it held that version or a newer one. One rule for the percentiles and the stage
 * breakdown, so both are over the same changes.
 */
export function heldTimes(accepted: readonly Pick<Accepted, 'accountId' | 'version' | 'at'>[], versions: Iterable<string>, freshness: boolean): Map<string, number> {
  const held = new Map<string, number>();
  if (!freshness) {
    const wanted = new Set(versions);
    for (const { accountId, version, at } of accepted) {
      const key = `${accountId}#${version}`;
      if (wanted.has(key) && !held.has(key)) held.set(key, at);
    }
    return held;
  }
  // Per account, the earliest time the destination held at least version v, for every version asked.
  const writes = new Map<string, { version: number; at: number }[]>();
  for (const { accountId, version, at } of accepted) {
    let list = writes.get(accountId);
    if (!list) writes.set(accountId, (list = []));
    list.push({ version, at });
  }
  for (const key of versions) {
    const split = key.lastIndexOf('#');
    const version = Number(key.slice(split + 1));
    let earliest = Infinity;
    for (const write of writes.get(key.slice(0, split)) ?? []) if (write.version >= version && write.at < earliest) earliest = write.at;
    if (earliest !== Infinity) held.set(key, earliest);
  }
  return held;
}

/** Nearest-rank percentile, in whole milliseconds; 0 for no samples. */
export function percentile(values: readonly number[], fraction: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)] as number);
}

export function summarize(values: readonly number[]): LatencySummary {
  return { p50: percentile(values, 0.5), p95: percentile(values, 0.95), p99: percentile(values, 0.99), samples: values.length };
}
