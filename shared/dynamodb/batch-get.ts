import type { AttributeValue } from '@aws-sdk/client-dynamodb';

type Item = Record<string, AttributeValue>;

/** Keys BatchGetItem takes in one call. */
export const BATCH_GET_LIMIT = 100;

/** One BatchGetItem call on one table: the items found and the keys DynamoDB left unprocessed. */
export type BatchRead = (keys: readonly Item[]) => Promise<{ readonly items: readonly Item[]; readonly unprocessed: readonly Item[] }>;

export interface BatchGetRetry {
  /** Rounds of unprocessed keys read again before giving up. */
  readonly maxRetries: number;
  /** Waits before round `round` (1 on) of `keys` unprocessed keys; may throw to give up sooner (no time left). */
  backoff(round: number, keys: number): Promise<void>;
  /** The error for `keys` keys still unprocessed after `maxRetries` rounds. */
  giveUp(keys: number): Error;
}

/**
 * Reads `keys` with `read`, 100 a call, reading again the keys DynamoDB leaves unprocessed (throttling, or a response
 * over 16 MB) after a backoff, and hands every item found to `take`. One loop for every batch read of the project:
 * the ledger's watermarks and the operator's Accounts lookups.
 */
export async function batchGetAll(keys: readonly Item[], read: BatchRead, take: (item: Item) => void, retry: BatchGetRetry): Promise<void> {
  for (let start = 0; start < keys.length; start += BATCH_GET_LIMIT) {
    let pending: readonly Item[] = keys.slice(start, start + BATCH_GET_LIMIT);
    for (let round = 0; pending.length > 0; round += 1) {
      if (round > retry.maxRetries) throw retry.giveUp(pending.length);
      if (round > 0) await retry.backoff(round, pending.length);
      const { items, unprocessed } = await read(pending);
      for (const item of items) take(item);
      pending = unprocessed;
    }
  }
}

/** Full jitter, 50 ms doubling per round, at most 2 s: what both readers waited before. */
export function batchGetBackoffMs(round: number): number {
  return Math.random() * Math.min(2_000, 50 * 2 ** round);
}
