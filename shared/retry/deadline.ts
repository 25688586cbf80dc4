import { setMaxListeners } from 'node:events';

/**
 * Bounds a destination round's requests by the round's deadline, so that no request is still in flight after it: an
 * in-order delivery that outlived its account's claim could overlap another engine's delivery of the same account.
 */

/** The detail of an item a round did not send because its deadline had already passed. */
export const NOT_SENT_DEADLINE = 'not sent: the deadline had passed';

/**
 * Runs `work` with a signal that aborts at `deadline` (ms since the epoch); without a deadline the signal is undefined
 * and nothing is bounded. The timer is cleared when `work` settles, so a long deadline holds no timer after the round.
 */
export async function withDeadline<T>(
  deadline: number | undefined,
  work: (signal: AbortSignal | undefined) => Promise<T>,
  clock: () => number = Date.now,
): Promise<T> {
  if (deadline === undefined) return work(undefined);
  const controller = new AbortController();
  // Every request of the round listens to it (the SDK removes each listener when its request ends): more than Node's
  // default of 10 at once is the design, and a MaxListenersExceededWarning in the function's log would be noise.
  setMaxListeners(0, controller.signal);
  const abort = (): void => controller.abort(new DeadlineExceeded(deadline));
  const left = deadline - clock();
  if (left <= 0) abort();
  const timer = left > 0 ? setTimeout(abort, left) : undefined;
  try {
    return await work(controller.signal);
  } finally {
    clearTimeout(timer);
  }
}

/** The reason a deadline's signal carries; retryable like any time-out (the retrier then finds no time left). */
export class DeadlineExceeded extends Error {
  constructor(readonly deadline: number) {
    super(`the deadline ${new Date(deadline).toISOString()} passed with the request in flight`);
    this.name = 'DeadlineExceeded';
  }
}
