/**
 * Workloads of the local pipeline tests (`runPipeline` options without the seed): small enough for a test, with the
 * bridge's chaos on. Each test picks its own seed.
 */

/** 6 accounts, 90 operations, heavy chaos: order and completeness under duplicates and reordering. */
export const SMALL_RUN = {
  accounts: 6,
  changes: 90,
  shards: 2,
  duplicateRate: 0.2,
  reorderRate: 0.3,
  reorderWindow: 6,
  concurrency: 4,
  convergeTimeoutMs: 60_000,
} as const;

/** 5 accounts, 30 operations, lighter chaos: a pipeline for `fanout` commands to work on. */
export const TINY_RUN = {
  accounts: 5,
  changes: 30,
  shards: 2,
  duplicateRate: 0.1,
  reorderRate: 0.2,
  reorderWindow: 4,
  concurrency: 4,
  convergeTimeoutMs: 60_000,
} as const;
