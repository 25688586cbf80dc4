import { backoffMs, type Backoff } from './retry-policy';
import { DEFAULT_ON_FAILURE_ATTEMPTS } from './esm-settings';
import type { LocalEventSourceMappingOptions, MappingStats, OnFailureRecord } from './types';
import { sleep } from './wait';

/** How delivering one failure record ended. */
export type OnFailureDelivery = 'delivered' | 'dropped' | 'stopped';

/**
 * Hands a failure record to the on-failure destination, retrying a rejection with backoff, a bounded number of
 * times. AWS does not hold a shard forever for a destination that is down (permissions, a deleted bucket): it counts
 * `DestinationDeliveryFailures` and moves on, the records lost. The local mapping does the same, but never silently:
 * each rejection is counted, and a drop is counted and reported through `onFailureDropped`.
 *
 * `stopped`: the mapping stopped before the record was taken or dropped; the caller must not checkpoint past it.
 */
export async function deliverOnFailure(
  record: OnFailureRecord,
  mapping: LocalEventSourceMappingOptions,
  stats: MappingStats,
  backoff: Backoff,
  signal: AbortSignal,
): Promise<OnFailureDelivery> {
  const attempts = mapping.onFailureAttempts ?? DEFAULT_ON_FAILURE_ATTEMPTS;
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt += 1) {
    if (signal.aborted) return 'stopped';
    try {
      await mapping.onFailure(record);
      return 'delivered';
    } catch (error) {
      lastError = error;
      stats.onFailureErrors += 1;
      if (attempt < attempts) await sleep(backoffMs(attempt, backoff), signal);
    }
  }
  if (signal.aborted) return 'stopped';
  stats.onFailureDropped += record.KinesisBatchInfo.batchSize;
  try {
    mapping.onFailureDropped?.(record, lastError);
  } catch {
    // A reporting callback must not stop the shard.
  }
  return 'dropped';
}
