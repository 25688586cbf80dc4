import type { DeliveryResult } from '../ordering/ports';
import type { Settled } from '../retry/retrier';

/** A retried item's final state, as the ordering engine wants it. */
export function settledToResult(settled: Settled<DeliveryResult>): DeliveryResult {
  if (settled.kind === 'done') return settled.result;
  return { status: 'failed', reason: settled.reason, detail: settled.detail, attempts: settled.attempts };
}
