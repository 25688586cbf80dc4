import { setMaxListeners } from 'node:events';

/*
 * When the requests of the ledger and of the dead-letter queue must have ended: the invocation's deadline less a
 * reserve, moved by the consumer at the start of every batch. Their clients keep the SDK's retries (3 attempts of up to
 * 6 s each, and the queue's own rounds after those), which alone outlast the shortest function timeout; a request
 * still running at this deadline is aborted instead, so its records are reported failed while the handler can still
 * answer (Lambda retries them), rather than the invocation being killed with nothing reported.
 */

/** Why a request was aborted: the invocation's time ran out (a retryable failure, like a time-out). */
export class RequestDeadlineError extends Error {
  override readonly name = 'RequestDeadlineError';
}

export class RequestDeadline {
  #at: number | undefined;
  #controller: AbortController | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly clock: () => number = Date.now) {}

  /** Milliseconds since the epoch; undefined: no bound. */
  get at(): number | undefined {
    return this.#at;
  }

  /**
   * Moves the deadline (undefined: none). One abort signal serves every request until the next move: one timer per
   * batch, not one per request.
   */
  set(at: number | undefined): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#at = at;
    if (at === undefined) {
      this.#controller = undefined;
      return;
    }
    const controller = new AbortController();
    // Every request of the batch listens to it (each removes its listener when it ends): no leak to warn about.
    setMaxListeners(0, controller.signal);
    this.#controller = controller;
    const message = `the invocation's time for ledger and dead-letter requests ran out at ${new Date(at).toISOString()}`;
    this.#timer = setTimeout(() => controller.abort(new RequestDeadlineError(message)), Math.max(0, at - this.clock()));
    this.#timer.unref();
  }

  /** What an SDK `send` takes to honour the deadline. */
  sendOptions(): { abortSignal?: AbortSignal } {
    return this.#controller === undefined ? {} : { abortSignal: this.#controller.signal };
  }

  /** True when less than `ms` is left before the deadline: a retry that would wait that long is not started. */
  leavesLessThan(ms: number): boolean {
    return this.#at !== undefined && this.clock() + ms >= this.#at;
  }
}
