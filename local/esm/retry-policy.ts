import type { KinesisStreamBatchResponse } from 'aws-lambda';
import type { KinesisRecordInput } from '../../shared/change-record/kinesis-input';

/**
 * What one invocation's result means for its records (Lambda's partial batch response rules for streams):
 *
 * - `success`: no response, no `batchItemFailures`, or an empty list: the whole batch succeeded;
 * - `partial`: every identifier is a sequence number of the batch: the records before the lowest one succeeded, the
 *   batch is retried from it (`fromIndex`);
 * - `failed`: the function threw (`functionError`), or an identifier is empty, missing or not a sequence number of
 *   the batch, which Lambda treats as a failure of the whole batch.
 */
export type InvocationOutcome =
  | { readonly kind: 'success' }
  | { readonly kind: 'partial'; readonly fromIndex: number }
  | { readonly kind: 'failed'; readonly functionError: boolean };

export function classifyResponse(
  records: readonly KinesisRecordInput[],
  response: KinesisStreamBatchResponse | void | null | undefined,
): InvocationOutcome {
  if (response === undefined || response === null || typeof response !== 'object') return { kind: 'success' };
  const failures: unknown = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return { kind: 'success' };
  if (!Array.isArray(failures)) return { kind: 'failed', functionError: false };
  if (failures.length === 0) return { kind: 'success' };
  const positions = new Map(records.map((record, index) => [record.sequenceNumber, index]));
  let fromIndex = Number.POSITIVE_INFINITY;
  for (const failure of failures) {
    const identifier: unknown =
      typeof failure === 'object' && failure !== null ? (failure as { itemIdentifier?: unknown }).itemIdentifier : undefined;
    const index = typeof identifier === 'string' && identifier !== '' ? positions.get(identifier) : undefined;
    if (index === undefined) return { kind: 'failed', functionError: false };
    fromIndex = Math.min(fromIndex, index);
  }
  return { kind: 'partial', fromIndex };
}

/** How many of the invocation's records it left failed. */
export function failedCount(outcome: InvocationOutcome, size: number): number {
  if (outcome.kind === 'success') return 0;
  if (outcome.kind === 'partial') return size - outcome.fromIndex;
  return size;
}

/** Splits a batch in two, the first half taking the odd record. */
export function bisect<T>(records: readonly T[]): [T[], T[]] {
  const middle = Math.ceil(records.length / 2);
  return [records.slice(0, middle), records.slice(middle)];
}

/** True once `retries` retries were made and `retryAttempts` allows no more (a negative limit never runs out). */
export function retriesExhausted(retries: number, retryAttempts: number): boolean {
  return retryAttempts >= 0 && retries >= retryAttempts;
}

/**
 * How many records at the head of `records` arrived more than `maxAgeMs` ago (by `ApproximateArrivalTimestamp`);
 * 0 without a limit. Lambda checks this before each invocation and discards those records to on-failure uninvoked.
 * Counting stops at the first record young enough (or without an arrival time): the batch stays a contiguous run.
 */
export function expiredPrefix(
  records: readonly KinesisRecordInput[],
  maxAgeMs: number | undefined,
  nowMs: number = Date.now(),
): number {
  if (maxAgeMs === undefined) return 0;
  let count = 0;
  for (const record of records) {
    const arrival = record.approximateArrivalTimestamp;
    if (arrival === undefined || nowMs - arrival * 1000 <= maxAgeMs) break;
    count += 1;
  }
  return count;
}

export interface Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 100, maxMs: 2_000 };

/** The wait before retry number `retry` (1-based): `initialMs` doubling up to `maxMs`. */
export function backoffMs(retry: number, backoff: Backoff = DEFAULT_BACKOFF): number {
  return Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.max(0, retry - 1));
}
