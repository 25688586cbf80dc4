/** Waits `ms`, or less when `signal` aborts first. Never rejects. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Lets one side wait until another says something changed. A `notify` wakes every waiter. */
export class Notifier {
  #waiters: (() => void)[] = [];

  notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves at the next `notify`, after `timeoutMs` (when given), or when `signal` aborts. */
  wait(timeoutMs?: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) {
        resolve();
        return;
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const wake = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener('abort', wake);
        this.#waiters = this.#waiters.filter((waiter) => waiter !== wake);
        resolve();
      };
      this.#waiters.push(wake);
      if (timeoutMs !== undefined) timer = setTimeout(wake, Math.max(0, timeoutMs));
      signal?.addEventListener('abort', wake, { once: true });
    });
  }
}

/** Open or closed; `whenOpen` waits while it is closed (or until `signal` aborts). */
export class Gate {
  #open: boolean;
  readonly #changed = new Notifier();

  constructor(open: boolean) {
    this.#open = open;
  }

  get open(): boolean {
    return this.#open;
  }

  set(open: boolean): void {
    this.#open = open;
    this.#changed.notify();
  }

  async whenOpen(signal: AbortSignal): Promise<void> {
    while (!this.#open && !signal.aborted) await this.#changed.wait(undefined, signal);
  }
}
