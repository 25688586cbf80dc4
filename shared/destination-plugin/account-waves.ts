import { settledToResult } from '../consumer/settled-to-result';
import type { DeliverOptions, Delivery, DeliveryResult } from '../ordering/ports';
import type { ItemAnswer, Retrier } from '../retry/retrier';
import { withDeadline } from '../retry/deadline';

/** Sends one wave: at most one delivery per account, answering per delivery, in order. */
export type SendWave = (wave: readonly Delivery[], signal: AbortSignal | undefined) => Promise<ItemAnswer<DeliveryResult>[]>;

/**
 * Delivers `in-order` through a service whose batch calls can fail entry by entry (SQS `SendMessageBatch`,
 * EventBridge `PutEvents`): if two versions of one account shared a call and the first failed while the second was
 * accepted, the retry of the first would land behind the second. So every call carries at most one version per
 * account, and an account's next version goes out only once the previous one was accepted. A version that fails
 * holds back the rest of its account as "not sent" (attempts 0: the engine retries them, it does not dead-letter them).
 *
 * The call's deadline bounds every wave, retry and request in flight (`withDeadline`).
 */
export async function deliverInAccountWaves(
  deliveries: readonly Delivery[],
  retrier: Retrier,
  sendWave: SendWave,
  options: DeliverOptions = {},
): Promise<DeliveryResult[]> {
  const results = new Array<DeliveryResult | undefined>(deliveries.length);
  const queues = new Map<string, number[]>();
  deliveries.forEach((delivery, index) => {
    const queue = queues.get(delivery.record.accountId);
    if (queue) queue.push(index);
    else queues.set(delivery.record.accountId, [index]);
  });
  while (queues.size > 0) {
    const wave = [...queues.values()].map((queue) => queue[0] as number);
    const settled = await retrier.settle(
      wave,
      (pending, _attempt, round) =>
        withDeadline(round.deadline, (signal) => sendWave(pending.map((index) => deliveries[index] as Delivery), signal)),
      { deadline: options.deadline },
    );
    settled.forEach((outcome, position) => {
      const index = wave[position] as number;
      const { accountId, version } = (deliveries[index] as Delivery).record;
      const queue = queues.get(accountId) as number[];
      results[index] = settledToResult(outcome);
      queue.shift();
      if (outcome.kind === 'failed') {
        for (const later of queue) {
          results[later] = {
            status: 'failed',
            reason: 'DELIVERY_FAILED',
            detail: `not sent: version ${version} of account ${accountId} was not accepted`,
            attempts: 0,
          };
        }
        queue.length = 0;
      }
      if (queue.length === 0) queues.delete(accountId);
    });
  }
  return results as DeliveryResult[];
}
